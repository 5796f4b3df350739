// Durability against power loss (issue 9 item 14). The SIGKILL tests of durability.test.cpp
// pass even with fsync turned off, because a killed process leaves its writes in the page
// cache. Here the crash writer runs under the power-loss shim (tests/support/power_loss_shim.cpp)
// and, after the kill, its store is rolled back to what a power loss at that moment may have
// left: no write that was not synced (tests/support/power_loss.hpp). Every acknowledged write
// must still be there. The negative control runs the same with MDB_NOSYNC and requires that
// acknowledged writes are lost, which shows that the simulation bites.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <random>

#include "tests/storage/crash_check.hpp"
#include "tests/support/power_loss.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::test::crash;
namespace power_loss = debros::test::power_loss;

namespace {

std::vector<std::string> shim_environment() {
  return power_loss::preload_environment(DEBROS_POWER_LOSS_SHIM);
}

std::string data_file(const std::string& dir) {
  return dir + "/data.mdb";
}

std::string contents_of(const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// Runs the crash writer under the shim until `kill_after` acknowledgements, SIGKILLs it and
// cuts the power: afterwards the store holds only what had been synced.
acknowledgements write_kill_and_cut_power(const std::string& dir, int threads, int kill_after,
                                          const std::string& mode,
                                          power_loss::rollback_summary& summary) {
  auto acked = write_and_kill(dir, threads, kill_after, mode, shim_environment());
  summary = power_loss::roll_back_unsynced(data_file(dir));
  // Without a journal the shim was not loaded (a bad LD_PRELOAD only warns), and the test
  // would prove nothing.
  REQUIRE(summary.journal_found);
  return acked;
}

// LMDB finds a consistent store: it opens (its meta pages name a valid tree), and every page of
// the table can be read: a full cursor walk sees as many entries as the table's statistics.
void require_store_consistent(storage::environment& env) {
  auto t = env.get_table("t");
  auto r = env.read();
  REQUIRE(r);
  MDB_stat st;
  REQUIRE(mdb_stat(r->handle(), t.dbi, &st) == 0);
  auto c = r->open_cursor(t);
  REQUIRE(c);
  size_t walked = 0;
  for (bool on = c->first(); on; on = c->next())
    ++walked;
  REQUIRE_FALSE(c->error());
  CHECK(walked == st.ms_entries);
}

void power_loss_rounds(int rounds, int threads, uint32_t seed) {
  test::temp_dir dir;
  std::mt19937 rng{seed};
  size_t undone = 0;
  size_t redone = 0;
  for (int round = 0; round < rounds; ++round) {
    int kill_after = 100 + static_cast<int>(rng() % 1500);
    INFO("round " << round << ", killed after " << kill_after << " acks");
    power_loss::rollback_summary summary;
    auto acked = write_kill_and_cut_power(dir.path(), threads, kill_after, "full", summary);
    undone += summary.undone;
    redone += summary.redone;
    auto env = open_store(dir.path());
    require_store_consistent(*env);
    require_acknowledged_present(*env, acked, threads);
    clear_table(*env); // a synced commit: the next round starts from a durable empty table
  }
  // The rollback did discard unsynced writes (the pages of the commit in flight at the kill,
  // or the last meta page) and did keep LMDB's O_DSYNC meta-page writes: the rounds tested
  // something.
  CHECK(undone > 0);
  CHECK(redone > 0);
}

// Runs `script` with /bin/sh under the shim (plus `extra_env`); requires that it succeeds.
void run_under_shim(const std::string& script, std::vector<std::string> extra_env = {}) {
  auto env = shim_environment();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  test::child_process child{{"/bin/sh", "-c", script}, env};
  std::string line;
  while (child.read_line(line))
    ;
  int status = child.wait();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

} // namespace

// The shim's rules, one at a time, on a small file written by shell tools (dd, truncate, and
// the shell's own redirections, all through libc).
TEST_CASE("the power-loss shim undoes exactly the writes that were not synced",
          "[storage][power_loss][shim]") {
  test::temp_dir dir;
  auto file = data_file(dir.path());
  // Written by this process, which the shim does not watch: on disk as far as the model goes.
  {
    std::ofstream out{file, std::ios::binary};
    out << "0123456789";
  }
  auto dd = "dd of=" + file + " status=none conv=notrunc"; // `dd + ",fsync"` adds to conv

  SECTION("an unsynced overwrite that extends the file is undone") {
    run_under_shim("printf ABCDEFGHIJKLMNOP | " + dd + " bs=1 seek=5");
    CHECK(contents_of(file) == "01234ABCDEFGHIJKLMNOP");
    auto summary = power_loss::roll_back_unsynced(file);
    CHECK(summary.undone == 16); // one per byte written (bs=1)
    CHECK(summary.redone == 0);
    CHECK(contents_of(file) == "0123456789");
  }
  SECTION("a write followed by fsync is kept") {
    run_under_shim("printf ABCDEFGHIJKLMNOP | " + dd + ",fsync");
    auto summary = power_loss::roll_back_unsynced(file);
    CHECK(summary.undone == 0);
    CHECK(contents_of(file) == "ABCDEFGHIJKLMNOP");
  }
  SECTION("fdatasync covers the writes of an earlier process; a later write is undone") {
    run_under_shim("printf AB | " + dd + " && printf CD | " + dd + ",fdatasync bs=1 seek=4 && " +
                   "printf EF | " + dd + " bs=1 seek=8");
    CHECK(contents_of(file) == "AB23CD67EF");
    power_loss::roll_back_unsynced(file);
    CHECK(contents_of(file) == "AB23CD6789");
  }
  SECTION("an O_DSYNC write is kept, an unsynced write over it is undone") {
    run_under_shim("printf AB | " + dd + " oflag=dsync && printf XY | " + dd);
    CHECK(contents_of(file) == "XY23456789");
    auto summary = power_loss::roll_back_unsynced(file);
    CHECK(summary.undone == 2);
    CHECK(summary.redone == 1);
    CHECK(contents_of(file) == "AB23456789");
  }
  SECTION("ftruncate, O_APPEND and O_TRUNC are undone") {
    run_under_shim("truncate -s 3 " + file + " && printf Z >> " + file + " && : > " + file +
                   " && printf QQ > " + file);
    CHECK(contents_of(file) == "QQ");
    power_loss::roll_back_unsynced(file);
    CHECK(contents_of(file) == "0123456789");
  }
  SECTION("with syncs ignored, an fsync'd or O_DSYNC write is undone") {
    run_under_shim("printf AB | " + dd + ",fsync && printf CD | " + dd + " oflag=dsync bs=1 seek=4",
                   {std::string{power_loss::sync_variable} + "=ignore"});
    CHECK(contents_of(file) == "AB23CD6789");
    auto summary = power_loss::roll_back_unsynced(file);
    CHECK(summary.redone == 0);
    CHECK(contents_of(file) == "0123456789");
  }
  SECTION("a file whose name is not tracked is left alone") {
    run_under_shim("printf AB | " + dd, {std::string{power_loss::files_variable} + "=other.mdb"});
    auto summary = power_loss::roll_back_unsynced(file);
    CHECK_FALSE(summary.journal_found);
    CHECK(contents_of(file) == "AB23456789");
  }
}

TEST_CASE("every acknowledged write survives a simulated power loss at SIGKILL",
          "[storage][durability][power_loss]") {
  power_loss_rounds(5, 4, 20261203);
}

TEST_CASE("without fsync, a simulated power loss loses acknowledged writes (negative control)",
          "[storage][durability][power_loss]") {
  test::temp_dir dir;
  constexpr int threads = 4;
  // First a synced history: a store with acknowledged writes, cleared by a synced commit.
  {
    power_loss::rollback_summary summary;
    auto acked = write_kill_and_cut_power(dir.path(), threads, 300, "full", summary);
    auto env = open_store(dir.path());
    require_acknowledged_present(*env, acked, threads);
    clear_table(*env);
  }
  std::string mode;
  auto shim_env = shim_environment();
  SECTION("MDB_NOSYNC (durability::process)") {
    mode = "process";
  }
  SECTION("durability::full on a disk that ignores every sync") {
    mode = "full";
    shim_env.push_back(std::string{power_loss::sync_variable} + "=ignore");
  }
  INFO("mode " << mode);
  auto acked = write_and_kill(dir.path(), threads, 1000, mode, shim_env);
  REQUIRE(total_of(acked) >= 1000);
  // SIGKILL alone loses nothing: the page cache keeps every write. This is why the SIGKILL
  // tests cannot see a missing fsync. (Opening the store to look must not write to it, or the
  // rollback below would mix the two: checked.)
  auto before = contents_of(data_file(dir.path()));
  {
    auto env = open_store(dir.path());
    require_acknowledged_present(*env, acked, threads);
  }
  REQUIRE(contents_of(data_file(dir.path())) == before);
  // After the power cut, acknowledged writes are gone, and the store is still consistent: LMDB
  // falls back to the last synced state (the cleared table).
  auto summary = power_loss::roll_back_unsynced(data_file(dir.path()));
  REQUIRE(summary.journal_found);
  CHECK(summary.redone == 0); // no write was durable on its own
  auto env = open_store(dir.path());
  require_store_consistent(*env);
  auto c = check_store(*env, acked, threads);
  INFO(c.lost << " of " << c.acked << " acknowledged requests lost (" << summary.undone
              << " unsynced writes undone, " << summary.bytes_undone << " bytes)");
  REQUIRE(c.lost > 0);
  // Nothing at all had been synced since the clear, so everything is lost, atomically.
  CHECK(c.lost == c.acked);
  CHECK(c.half == 0);
  CHECK(c.keys == 0);
  WARN("negative control (" << mode << "): " << c.lost << " of " << c.acked
                            << " acknowledged requests lost after the power cut");
}

// make test-slow: many more kill points, more threads.
TEST_CASE("every acknowledged write survives 200 simulated power losses",
          "[storage][durability][power_loss][.slow]") {
  power_loss_rounds(200, 8, 7);
}
