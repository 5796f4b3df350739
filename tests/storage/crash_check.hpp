// Shared by the crash tests of the storage layer (durability.test.cpp, power_loss.test.cpp):
// run the crash writer (crash_writer.cpp) until some acknowledgements, SIGKILL it, and check
// the store it left against what it acknowledged.
#pragma once

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "storage/environment.hpp"
#include "tests/storage/crash_payload.hpp"
#include "tests/support/child_process.hpp"

namespace debros::test::crash {

/// The highest acknowledged request per thread of one run of the crash writer.
using acknowledgements = std::map<int, long>;

inline long total_of(const acknowledgements& acked) {
  long n = 0;
  for (auto& [th, last] : acked)
    n += last + 1;
  return n;
}

/// Runs the crash writer on `dir` with `threads` threads and durability `mode` ("full" or
/// "process"), with `extra_env` added to its environment, until `acks_before_kill`
/// acknowledgements; kills it with SIGKILL and returns what it acknowledged.
inline acknowledgements write_and_kill(const std::string& dir, int threads, int acks_before_kill,
                                       const std::string& mode = "full",
                                       std::vector<std::string> extra_env = {}) {
  child_process child{{DEBROS_CRASH_WRITER, dir, std::to_string(threads), mode},
                      std::move(extra_env)};
  acknowledgements acked;
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
  REQUIRE(WIFSIGNALED(status)); // not an early exit (a shim or writer failure)
  CHECK(WTERMSIG(status) == SIGKILL);
  return acked;
}

/// The store's state against one run's acknowledgements.
struct store_check {
  long acked = 0; // acknowledged requests
  long lost = 0;  // acknowledged requests missing or damaged
  std::string first_loss;
  long extra_max = 0;    // most unacknowledged requests present for one thread
  long half = 0;         // requests with one of their two keys
  size_t keys = 0;       // entries in the table
  size_t keys_found = 0; // entries the requests found account for
};

inline store_check check_store(storage::environment& env, const acknowledgements& acked,
                               int threads) {
  store_check out;
  auto t = env.get_table("t");
  auto r = env.read();
  REQUIRE(r);
  auto present = [&](const std::string& key) {
    auto v = r->get(t, key);
    REQUIRE(v);
    return v->has_value();
  };
  for (int th = 0; th < threads; ++th) {
    long last = acked.count(th) ? acked.at(th) : -1;
    out.acked += last + 1;
    // Every acknowledged request must be there, with its exact value and its mirror.
    for (long i = 0; i <= last; ++i) {
      auto suffix = std::to_string(th) + "/" + std::to_string(i);
      auto d = r->get(t, "d/" + suffix);
      auto m = r->get(t, "m/" + suffix);
      REQUIRE(d);
      REQUIRE(m);
      out.keys_found += d->has_value() + m->has_value();
      if (*d && **d == payload_for("d/" + suffix) && *m && **m == "mirror")
        continue;
      if (++out.lost == 1)
        out.first_loss = "request " + suffix + (*d ? " is damaged" : " is missing");
    }
    // Beyond the acknowledgements at most one request per thread may have committed (the one
    // in flight at the kill), and atomically: both keys or neither.
    long extra = 0;
    for (long i = last + 1;; ++i) {
      auto suffix = std::to_string(th) + "/" + std::to_string(i);
      bool d = present("d/" + suffix);
      bool m = present("m/" + suffix);
      if (!d && !m)
        break;
      out.half += d != m;
      out.keys_found += d + m;
      ++extra;
    }
    out.extra_max = std::max(out.extra_max, extra);
  }
  auto count = r->count(t);
  REQUIRE(count);
  out.keys = *count;
  return out;
}

/// Every acknowledged request is present and intact, and nothing else is in the table but at
/// most one whole in-flight request per thread.
inline void require_acknowledged_present(storage::environment& env, const acknowledgements& acked,
                                         int threads) {
  auto c = check_store(env, acked, threads);
  INFO(c.lost << " of " << c.acked << " acknowledged requests lost; first: " << c.first_loss);
  REQUIRE(c.lost == 0);
  REQUIRE(c.half == 0);
  CHECK(c.extra_max <= 1);
  // The store holds exactly what was written, nothing half-done: 2 keys per request.
  CHECK(c.keys == c.keys_found);
}

/// Opens the crash writer's store in `dir` (the tables it uses; full durability).
inline std::unique_ptr<storage::environment> open_store(const std::string& dir) {
  storage::env_options opts;
  opts.path = dir;
  opts.tables = {"t"};
  // Room for clear_table, which runs without the writer's map growth.
  opts.initial_map_bytes = size_t{256} << 20;
  auto env = storage::environment::open(opts);
  REQUIRE(env);
  return std::move(*env);
}

/// Empties the table (a synced commit), so that the next run's request numbers start from zero.
inline void clear_table(storage::environment& env) {
  auto clear = env.begin_write();
  REQUIRE(clear);
  REQUIRE(mdb_drop(clear->handle(), env.get_table("t").dbi, 0) == 0);
  REQUIRE_FALSE(clear->commit());
}

} // namespace debros::test::crash
