#include <catch2/catch.hpp>

#include <random>

#include "tests/storage/crash_check.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::test::crash;

namespace {

void kill_rounds(int rounds, uint32_t seed) {
  test::temp_dir dir;
  std::mt19937 rng{seed};
  constexpr int threads = 8;
  for (int round = 0; round < rounds; ++round) {
    int kill_after = 200 + static_cast<int>(rng() % 4000);
    INFO("round " << round << ", killed after " << kill_after << " acks");
    auto acked = write_and_kill(dir.path(), threads, kill_after);
    auto env = open_store(dir.path());
    require_acknowledged_present(*env, acked, threads);
    clear_table(*env);
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
