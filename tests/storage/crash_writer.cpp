// Test helper: writes through the group-commit writer until killed, printing one line per
// acknowledged write. Used by durability.test.cpp and power_loss.test.cpp, which SIGKILL it
// mid-stream.
//
// Usage: debros-test-crash-writer DIR THREADS [full|process]
// The last argument is the store's durability (storage::durability; default full). `process`
// (MDB_NOSYNC) is power_loss.test.cpp's negative control.
// Each thread t writes requests i = 0, 1, 2, ... in order, waiting for each acknowledgement.
// Request (t, i) puts two keys atomically: "d/t/i" (a 300-byte value derived from the key) and
// "m/t/i" (a mirror). After the acknowledgement it prints "ack t i".
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"
#include "tests/storage/crash_payload.hpp"

using namespace debros;
using namespace debros::storage;
using debros::test::crash::payload_for;

int main(int argc, char** argv) {
  std::string mode = argc == 4 ? argv[3] : "full";
  if ((argc != 3 && argc != 4) || (mode != "full" && mode != "process")) {
    std::fprintf(stderr, "usage: %s DIR THREADS [full|process]\n", argv[0]);
    return 2;
  }
  env_options opts;
  opts.path = argv[1];
  opts.tables = {"t"};
  opts.initial_map_bytes = size_t{1} << 20; // small, so crashes also hit map growth
  opts.sync = mode == "full" ? durability::full : durability::process;
  auto env = environment::open(opts);
  if (!env) {
    std::fprintf(stderr, "open: %s\n", message_of(env.error()).c_str());
    return 1;
  }
  auto t = (*env)->get_table("t");
  writer w{**env};
  std::mutex out_mtx;
  std::vector<std::thread> threads;
  int n = std::stoi(argv[2]);
  for (int th = 0; th < n; ++th)
    threads.emplace_back([&, th] {
      for (long i = 0;; ++i) {
        auto suffix = std::to_string(th) + "/" + std::to_string(i);
        auto err = w.write([&](write_txn& txn) -> caf::error {
          if (auto e = txn.put(t, "d/" + suffix, payload_for("d/" + suffix)))
            return e;
          return txn.put(t, "m/" + suffix, "mirror");
        });
        if (err) {
          std::fprintf(stderr, "write failed: %s\n", message_of(err).c_str());
          std::_Exit(1);
        }
        std::lock_guard<std::mutex> guard{out_mtx};
        std::printf("ack %d %ld\n", th, i);
        std::fflush(stdout);
      }
    });
  for (auto& th : threads)
    th.join();
}
