#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"
#include "tests/support/in_child.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::storage;

namespace {

env_options small_env(const std::string& path) {
  env_options opts;
  opts.path = path;
  opts.tables = {"t", "u"};
  opts.initial_map_bytes = size_t{1} << 20;
  opts.sync = durability::process;
  return opts;
}

} // namespace

TEST_CASE("a committed write is visible to later readers and survives reopening",
          "[storage][environment]") {
  test::temp_dir dir;
  {
    auto env = environment::open(small_env(dir.path()));
    REQUIRE(env);
    auto t = (*env)->get_table("t");
    auto txn = (*env)->begin_write();
    REQUIRE(txn);
    REQUIRE_FALSE(txn->put(t, "k1", "v1"));
    REQUIRE_FALSE(txn->put(t, "k2", "v2"));
    REQUIRE_FALSE(txn->commit());
    auto r = (*env)->read();
    REQUIRE(r);
    auto v = r->get(t, "k1");
    REQUIRE(v);
    REQUIRE(*v);
    CHECK(**v == "v1");
    auto missing = r->get(t, "nope");
    REQUIRE(missing);
    CHECK_FALSE(*missing);
    CHECK(*r->count(t) == 2);
  }
  auto env = environment::open(small_env(dir.path()));
  REQUIRE(env);
  auto r = (*env)->read();
  REQUIRE(r);
  CHECK(**r->get((*env)->get_table("t"), "k2") == "v2");
  CHECK(*r->count((*env)->get_table("u")) == 0);
}

TEST_CASE("cursors walk, seek and delete in key order", "[storage][environment]") {
  test::temp_dir dir;
  auto env = environment::open(small_env(dir.path()));
  REQUIRE(env);
  auto t = (*env)->get_table("t");
  {
    auto txn = (*env)->begin_write();
    for (auto k : {"b", "d", "a", "c"})
      REQUIRE_FALSE(txn->put(t, k, std::string{k} + "!"));
    REQUIRE_FALSE(txn->commit());
  }
  auto r = (*env)->read();
  auto c = r->open_cursor(t);
  REQUIRE(c);
  std::string walked;
  for (bool ok = c->first(); ok; ok = c->next())
    walked += c->key();
  CHECK(walked == "abcd");
  CHECK(c->seek("bb"));
  CHECK(c->key() == "c");
  CHECK(c->seek_before("c"));
  CHECK(c->key() == "b");
  CHECK(c->seek_before("zz"));
  CHECK(c->key() == "d");
  CHECK_FALSE(c->seek("e"));
  CHECK_FALSE(c->error());
  SECTION("deleting through a write cursor moves it to the next entry") {
    auto txn = (*env)->begin_write();
    {
      // The cursor dies before the commit, as LMDB requires.
      auto wc = txn->open_cursor(t);
      REQUIRE(wc->seek("b"));
      REQUIRE_FALSE(wc->del_current());
      CHECK(wc->valid());
      CHECK(wc->key() == "c");
      CHECK(txn->mutations() == 1);
    }
    REQUIRE_FALSE(txn->commit());
  }
  SECTION("deleting the last entries through a write cursor leaves it unpositioned") {
    auto txn = (*env)->begin_write();
    {
      auto wc = txn->open_cursor(t);
      REQUIRE(wc->first());
      // The last delete empties the table, which LMDB reports on the next read as EINVAL.
      for (int i = 0; i < 4; ++i) {
        REQUIRE(wc->valid());
        REQUIRE_FALSE(wc->del_current());
      }
      CHECK_FALSE(wc->valid());
      CHECK_FALSE(wc->error());
    }
    CHECK_FALSE(txn->broken());
    CHECK(txn->mutations() == 4);
    REQUIRE_FALSE(txn->commit());
    CHECK(*(*env)->read()->count(t) == 0);
  }
}

TEST_CASE("puts with NOOVERWRITE report a conflict without breaking the transaction",
          "[storage][environment]") {
  test::temp_dir dir;
  auto env = environment::open(small_env(dir.path()));
  auto t = (*env)->get_table("t");
  auto txn = (*env)->begin_write();
  REQUIRE_FALSE(txn->put(t, "k", "1"));
  auto err = txn->put(t, "k", "2", MDB_NOOVERWRITE);
  CHECK(code_of(err) == errc::conflict);
  CHECK_FALSE(txn->broken());
  SECTION("an oversized key is too_large and leaves the transaction usable") {
    auto big = txn->put(t, std::string(600, 'k'), "v");
    CHECK(code_of(big) == errc::too_large);
    CHECK_FALSE(txn->broken());
  }
  CHECK_FALSE(txn->commit());
}

TEST_CASE("writes past the initial map size succeed", "[storage][environment]") {
  test::temp_dir dir;
  auto opts = small_env(dir.path());
  auto env = environment::open(opts);
  REQUIRE(env);
  auto t = (*env)->get_table("t");
  writer w{**env};
  std::string payload(4000, 'x');
  // 3000 x 4 KB = 12 MB of values into a 1 MB map.
  for (int batch = 0; batch < 30; ++batch) {
    auto err = w.write([&, batch](write_txn& txn) -> caf::error {
      for (int i = 0; i < 100; ++i)
        if (auto e = txn.put(t, "key" + std::to_string(batch * 100 + i), payload))
          return e;
      return caf::none;
    });
    REQUIRE_FALSE(err);
  }
  auto st = (*env)->stats();
  CHECK(st.growths >= 3);
  CHECK(st.map_bytes >= size_t{12} << 20);
  auto r = (*env)->read();
  CHECK(*r->count(t) == 3000);
  CHECK(**r->get(t, "key2999") == payload);
}

TEST_CASE("the map grows while other threads read", "[storage][environment]") {
  test::temp_dir dir;
  auto env = environment::open(small_env(dir.path()));
  REQUIRE(env);
  auto t = (*env)->get_table("t");
  writer w{**env};
  REQUIRE_FALSE(w.write([&](write_txn& txn) { return txn.put(t, "probe", "ok"); }));
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!done) {
        auto r = (*env)->read();
        if (!r) {
          ++bad;
          continue;
        }
        auto v = r->get(t, "probe");
        if (!v || !*v || **v != "ok")
          ++bad;
        ++reads;
      }
    });
  // Metrics scrapes read LMDB's meta pages inside the map, which growth remaps: they pass the
  // reader gate (before, a scrape during growth could read an unmapped page).
  std::atomic<uint64_t> scrapes{0};
  readers.emplace_back([&] {
    while (!done) {
      auto st = (*env)->stats();
      if (st.page_bytes == 0 || st.used_bytes == 0 || st.used_bytes > st.map_bytes)
        ++bad;
      ++scrapes;
    }
  });
  std::string payload(2000, 'y');
  for (int i = 0; i < 4000; ++i)
    REQUIRE_FALSE(
        w.write([&, i](write_txn& txn) { return txn.put(t, std::to_string(i), payload); }));
  done = true;
  for (auto& th : readers)
    th.join();
  CHECK(bad == 0);
  CHECK(reads > 0);
  CHECK(scrapes > 0);
  CHECK((*env)->stats().growths >= 2);
}

TEST_CASE("one environment at a time opens a data directory", "[storage][environment]") {
  test::temp_dir dir;
  auto first = environment::open(small_env(dir.path()));
  REQUIRE(first);
  std::ifstream lock_file{dir.sub("debros.lock")};
  std::string pid;
  lock_file >> pid;
  CHECK(pid == std::to_string(::getpid()));
  auto second = environment::open(small_env(dir.path()));
  REQUIRE_FALSE(second);
  CHECK(code_of(second.error()) == errc::unavailable);
  CHECK_THAT(message_of(second.error()), Catch::Contains("in use by another process (pid " + pid));
  // Another process is refused the same way; the lock goes with the environment.
  auto child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto env = environment::open(small_env(dir.path()));
    ::_exit(!env && code_of(env.error()) == errc::unavailable ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  first->reset();
  CHECK(environment::open(small_env(dir.path())));
}

TEST_CASE("opening something that is not a store fails with a clear error",
          "[storage][environment]") {
  test::temp_dir dir;
  SECTION("a file where the directory should be") {
    std::ofstream{dir.sub("file")} << "x";
    auto env = environment::open(small_env(dir.sub("file")));
    REQUIRE_FALSE(env);
    CHECK(code_of(env.error()) == errc::io_error);
  }
  SECTION("a data file that is not LMDB") {
    std::ofstream f{dir.sub("data.mdb")};
    f << std::string(8192, 'g');
    f.close();
    auto env = environment::open(small_env(dir.path()));
    REQUIRE_FALSE(env);
    CHECK(code_of(env.error()) == errc::corruption);
    CHECK_THAT(message_of(env.error()), Catch::Contains(dir.path()));
  }
}

TEST_CASE("LMDB codes map to Debros errors", "[storage][environment]") {
  CHECK(code_of(from_mdb(MDB_NOTFOUND, "x")) == errc::not_found);
  CHECK(code_of(from_mdb(MDB_KEYEXIST, "x")) == errc::conflict);
  CHECK(code_of(from_mdb(MDB_MAP_FULL, "x")) == errc::storage_full);
  CHECK(code_of(from_mdb(ENOSPC, "x")) == errc::storage_full);
  CHECK(code_of(from_mdb(MDB_CORRUPTED, "x")) == errc::corruption);
  CHECK(code_of(from_mdb(MDB_READERS_FULL, "x")) == errc::unavailable);
  CHECK(code_of(from_mdb(EIO, "x")) == errc::io_error);
  CHECK(code_of(from_mdb(MDB_BAD_TXN, "x")) == errc::internal);
  CHECK_THAT(message_of(from_mdb(EIO, "commit")), Catch::Contains("commit"));
}

TEST_CASE("an environment fsyncs every commit unless told otherwise",
          "[storage][environment][durability]") {
  test::temp_dir dir;
  CHECK(env_options{}.sync == durability::full);
  auto flags_of = [&](env_options opts) {
    opts.path = dir.path();
    opts.tables = {"t"};
    auto env = environment::open(opts);
    REQUIRE(env);
    unsigned flags = 0;
    REQUIRE(mdb_env_get_flags((*env)->handle(), &flags) == 0);
    return flags;
  };

  SECTION("by default LMDB syncs data and meta pages before a commit returns") {
    auto flags = flags_of({});
    CHECK((flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC)) == 0);
    // Writes go through write(2), not a writable map: tests/support/power_loss_shim.cpp, which
    // proves the fsyncs, relies on it.
    CHECK((flags & MDB_WRITEMAP) == 0);
  }
  SECTION("durability::process turns the sync off") {
    env_options opts;
    opts.sync = durability::process;
    CHECK((flags_of(opts) & MDB_NOSYNC) != 0);
  }
}

// put_current and del_current write where the cursor stands; on a cursor that stands nowhere
// LMDB would pick an entry or refuse, depending on its history. A programmer error: it aborts.
TEST_CASE("writing through a cursor that stands on no entry aborts",
          "[storage][environment][assert]") {
  test::temp_dir dir;
  auto run = [&](bool position) {
    return test::in_child([&] {
      auto env = environment::open(small_env(dir.path()));
      if (!env)
        _exit(3);
      auto t = (*env)->get_table("t");
      auto txn = (*env)->begin_write();
      if (!txn || txn->put(t, "k", "v"))
        _exit(4);
      auto c = txn->open_cursor(t);
      if (!c)
        _exit(5);
      if (position && !c->first())
        _exit(6);
      if (c->del_current())
        _exit(7);
    });
  };
  auto bad = run(false);
  CHECK(bad.aborted());
  CHECK_THAT(bad.err, Catch::Contains("environment.cpp") && Catch::Contains("valid_"));
  // The same steps on a positioned cursor end normally.
  auto good = run(true);
  CHECK(WIFEXITED(good.status));
  CHECK(WEXITSTATUS(good.status) == 0);
}
