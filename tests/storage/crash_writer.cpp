// Test helper: writes through the group-commit writer until killed, printing one line per
// acknowledged write. Used by durability.test.cpp, which SIGKILLs it mid-stream.
//
// Usage: debros-test-crash-writer DIR THREADS
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

using namespace debros;
using namespace debros::storage;

std::string payload_for(const std::string& key) {
  std::string out;
  while (out.size() < 300)
    out += key + ";";
  out.resize(300);
  return out;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR THREADS\n", argv[0]);
    return 2;
  }
  env_options opts;
  opts.path = argv[1];
  opts.tables = {"t"};
  opts.initial_map_bytes = size_t{1} << 20; // small, so crashes also hit map growth
  opts.sync = durability::full;
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
