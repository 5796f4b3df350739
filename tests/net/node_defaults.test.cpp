// The durability debros-node runs with when nothing is configured: its command line parsed with
// only a data directory, turned into the runtime it starts (apps/node/options.hpp), must give a
// store that fsyncs every commit. tests/storage/power_loss.test.cpp shows what full durability
// buys and what process durability loses.
#include <catch2/catch.hpp>

#include "actors/runtime.hpp"
#include "apps/node/options.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;

TEST_CASE("debros-node opens its store with full durability by default",
          "[net][node][durability]") {
  test::temp_dir dir;
  CHECK(runtime_options{}.sync == storage::durability::full);
  std::string data_dir = dir.sub("data");
  std::vector<std::string> args{"debros-node", "--data-dir", data_dir};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  int exit_code = -1;
  auto opts = node::parse(static_cast<int>(argv.size()), argv.data(), exit_code);
  REQUIRE(opts);
  auto ro = node::runtime_options_of(*opts);
  CHECK(ro.sync == storage::durability::full);
  ro.scheduler_threads = 2;
  auto rt = runtime::start(ro);
  REQUIRE(rt);
  CHECK((*rt)->env().options().sync == storage::durability::full);
  unsigned flags = 0;
  REQUIRE(mdb_env_get_flags((*rt)->env().handle(), &flags) == 0);
  CHECK((flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC)) == 0);
}
