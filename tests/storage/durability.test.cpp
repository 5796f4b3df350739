#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <sstream>

#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::storage;

namespace {

std::string payload_for(const std::string& key) {
  std::string out;
  while (out.size() < 300)
    out += key + ";";
  out.resize(300);
  return out;
}

// Runs the crash writer until `acks_before_kill` acknowledgements, kills it with SIGKILL and
// returns the highest acknowledged request per thread (-1 when none).
std::map<int, long> write_and_kill(const std::string& dir, int threads, int acks_before_kill) {
  test::child_process child{{DEBROS_CRASH_WRITER, dir, std::to_string(threads)}};
  std::map<int, long> acked;
  std::string line;
  int seen = 0;
  bool killed = false;
  // Keep reading after the kill: every line printed before death was acknowledged.
  while (child.read_line(line)) {
    std::istringstream in{line};
    std::string word;
    int th;
    long i;
    in >> word >> th >> i;
    REQUIRE(word == "ack");
    auto& best = acked.try_emplace(th, -1).first->second;
    REQUIRE(i == best + 1); // each thread is acknowledged in order
    best = i;
    if (++seen == acks_before_kill && !killed) {
      child.kill_now(SIGKILL);
      killed = true;
    }
  }
  int status = child.wait();
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  return acked;
}

// Checks the store against the acknowledgements of one run.
void verify(environment& env, const std::map<int, long>& acked, int threads) {
  auto t = env.get_table("t");
  auto r = env.read();
  REQUIRE(r);
  long present_total = 0;
  for (int th = 0; th < threads; ++th) {
    long last = acked.count(th) ? acked.at(th) : -1;
    // Every acknowledged request is there, with its exact value and its mirror.
    for (long i = 0; i <= last; ++i) {
      auto suffix = std::to_string(th) + "/" + std::to_string(i);
      auto d = r->get(t, "d/" + suffix);
      REQUIRE(d);
      REQUIRE(*d);
      REQUIRE(**d == payload_for("d/" + suffix));
      REQUIRE(**r->get(t, "m/" + suffix) == "mirror");
    }
    // Beyond the acknowledgements at most one request per thread may have committed (the one
    // in flight at the kill), and atomically: both keys or neither.
    long extra = 0;
    for (long i = last + 1;; ++i) {
      auto suffix = std::to_string(th) + "/" + std::to_string(i);
      bool d = r->get(t, "d/" + suffix)->has_value();
      bool m = r->get(t, "m/" + suffix)->has_value();
      REQUIRE(d == m);
      if (!d)
        break;
      ++extra;
    }
    CHECK(extra <= 1);
    present_total += last + 1 + extra;
  }
  // The store holds exactly what was written, nothing half-done: 2 keys per request.
  CHECK(*r->count(t) == static_cast<size_t>(2 * present_total));
}

void kill_rounds(int rounds, uint32_t seed) {
  test::temp_dir dir;
  std::mt19937 rng{seed};
  constexpr int threads = 8;
  for (int round = 0; round < rounds; ++round) {
    int kill_after = 200 + static_cast<int>(rng() % 4000);
    INFO("round " << round << ", killed after " << kill_after << " acks");
    auto acked = write_and_kill(dir.path(), threads, kill_after);
    env_options opts;
    opts.path = dir.path();
    opts.tables = {"t"};
    // Room for the clearing transaction below, which runs without the writer's map growth.
    opts.initial_map_bytes = size_t{256} << 20;
    auto env = environment::open(opts);
    REQUIRE(env);
    verify(**env, acked, threads);
    // Empty the table so the next round's request numbers start from zero again.
    auto clear = (*env)->begin_write();
    REQUIRE(clear);
    REQUIRE(mdb_drop(clear->handle(), (*env)->get_table("t").dbi, 0) == 0);
    REQUIRE_FALSE(clear->commit());
  }
}

} // namespace

TEST_CASE("every acknowledged write survives SIGKILL of the writing process",
          "[storage][durability]") {
  kill_rounds(8, 20261121);
}

// make test-slow: many more kill points.
TEST_CASE("every acknowledged write survives 1,000 SIGKILLs", "[storage][durability][.slow]") {
  kill_rounds(1000, 7);
}
