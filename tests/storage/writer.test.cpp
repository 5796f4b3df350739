#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::storage;

namespace {

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<environment> env;
  table t;

  explicit fixture(durability d = durability::process) {
    env_options opts;
    opts.path = dir.path();
    opts.tables = {"t"};
    opts.sync = d;
    env = std::move(*environment::open(opts));
    t = env->get_table("t");
  }

  std::optional<std::string> get(const std::string& key) {
    auto r = env->read();
    auto v = r->get(t, key);
    if (!*v)
      return std::nullopt;
    return std::string{**v};
  }
};

// Waits for a number of completions.
struct latch {
  std::mutex m;
  std::condition_variable cv;
  int left;
  explicit latch(int n) : left(n) {}
  void count_down() {
    std::lock_guard<std::mutex> g{m};
    if (--left == 0)
      cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> g{m};
    cv.wait(g, [&] { return left == 0; });
  }
};

} // namespace

TEST_CASE("many concurrent requests share few commits", "[storage][writer]") {
  fixture f{durability::full};
  writer w{*f.env};
  constexpr int threads = 8;
  constexpr int per_thread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> ths;
  for (int i = 0; i < threads; ++i)
    ths.emplace_back([&, i] {
      for (int j = 0; j < per_thread; ++j) {
        auto key = std::to_string(i) + ":" + std::to_string(j);
        if (w.write([&](write_txn& txn) { return txn.put(f.t, key, "v"); }))
          ++failures;
      }
    });
  for (auto& th : ths)
    th.join();
  auto st = w.stats();
  CHECK(failures == 0);
  CHECK(st.requests == threads * per_thread);
  // Eight closed-loop writers must share commits: far fewer fsyncs than requests.
  CHECK(st.commits < st.requests / 2);
  CHECK(st.largest_batch > 1);
  CHECK(*f.env->read()->count(f.t) == threads * per_thread);
}

TEST_CASE("a refused request fails alone and changes nothing", "[storage][writer]") {
  fixture f;
  writer w{*f.env};
  latch done{3};
  caf::error results[3];
  // Hold the writer busy so the three requests land in one batch.
  std::promise<void> gate;
  auto gate_future = gate.get_future().share();
  w.submit(
      [&](write_txn&) -> caf::error {
        gate_future.wait();
        return caf::none;
      },
      [](const caf::error&) {});
  auto submit = [&](int i, writer::apply_fn fn) {
    w.submit(std::move(fn), [&, i](const caf::error& err) {
      results[i] = err;
      done.count_down();
    });
  };
  submit(0, [&](write_txn& txn) { return txn.put(f.t, "a", "1"); });
  SECTION("refusing after changing the transaction") {
    submit(1, [&](write_txn& txn) -> caf::error {
      if (auto e = txn.put(f.t, "b", "partial"))
        return e;
      return make_error(errc::validation_failed, "refused after a put");
    });
  }
  SECTION("refusing before changing anything") {
    submit(1, [&](write_txn&) -> caf::error {
      return make_error(errc::validation_failed, "refused up front");
    });
  }
  SECTION("throwing") {
    submit(1, [&](write_txn& txn) -> caf::error {
      (void)txn.put(f.t, "b", "partial");
      throw std::runtime_error("boom");
    });
  }
  submit(2, [&](write_txn& txn) { return txn.put(f.t, "c", "3"); });
  gate.set_value();
  done.wait();
  CHECK_FALSE(results[0]);
  CHECK(results[1]);
  CHECK_FALSE(results[2]);
  CHECK(f.get("a") == "1");
  CHECK_FALSE(f.get("b"));
  CHECK(f.get("c") == "3");
}

TEST_CASE("changes through a cursor count: a request that refuses after them is rolled back",
          "[storage][writer]") {
  fixture f;
  writer w{*f.env};
  REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
    for (auto k : {"a", "b", "c"})
      if (auto e = txn.put(f.t, k, "1"))
        return e;
    return caf::none;
  }));
  auto refuse_after = [&](auto change) {
    return w.write([&](write_txn& txn) -> caf::error {
      auto c = txn.open_cursor(f.t);
      if (!c)
        return c.error();
      if (!c->seek("b"))
        return make_error(errc::internal, "b not found");
      auto before = txn.mutations();
      if (auto e = change(*c))
        return e;
      if (txn.mutations() == before)
        return make_error(errc::internal, "the change was not counted");
      return make_error(errc::validation_failed, "refused after a cursor change");
    });
  };
  SECTION("del_current") {
    auto err = refuse_after([](cursor& c) { return c.del_current(); });
    CHECK(code_of(err) == errc::validation_failed);
  }
  SECTION("put_current") {
    auto err = refuse_after([](cursor& c) { return c.put_current("2"); });
    CHECK(code_of(err) == errc::validation_failed);
  }
  CHECK(f.get("a") == "1");
  CHECK(f.get("b") == "1");
  CHECK(f.get("c") == "1");
}

TEST_CASE("a cursor delete that finds the map full grows the map and succeeds",
          "[storage][writer]") {
  test::temp_dir dir;
  env_options opts;
  opts.path = dir.path();
  opts.tables = {"t"};
  opts.initial_map_bytes = size_t{1} << 20;
  opts.sync = durability::process;
  auto env = std::move(*environment::open(opts));
  auto t = env->get_table("t");
  auto key = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08d", i);
    return std::string{buf};
  };
  const std::string val(1000, 'v');
  // How many entries fill the map in one transaction.
  int capacity = 0;
  {
    auto txn = env->begin_write();
    REQUIRE(txn);
    while (!txn->put(t, key(capacity), val))
      ++capacity;
    REQUIRE(txn->broken_rc() == MDB_MAP_FULL);
  }
  // Nine tenths of that, committed: too little room left to copy every leaf page.
  {
    auto txn = env->begin_write();
    for (int i = 0; i < capacity * 9 / 10; ++i)
      REQUIRE_FALSE(txn->put(t, key(i), val));
    REQUIRE_FALSE(txn->commit());
  }
  auto growths_before = env->stats().growths;
  writer w{*env};
  // Deleting every fourth entry touches every leaf page, so the transaction needs about as many
  // new pages as the table has: the map fills in the middle of the cursor deletes.
  size_t removed = 0;
  auto err = w.write([&](write_txn& txn) -> caf::error {
    removed = 0;
    auto c = txn.open_cursor(t);
    if (!c)
      return c.error();
    int i = 0;
    for (bool ok = c->first(); ok; ++i) {
      if (i % 4 != 0) {
        ok = c->next();
        continue;
      }
      if (auto e = c->del_current())
        return e;
      ++removed;
      ok = c->valid();
    }
    return c->error();
  });
  CHECK_FALSE(err);
  CHECK(env->stats().growths > growths_before);
  CHECK(removed == static_cast<size_t>((capacity * 9 / 10 + 3) / 4));
  CHECK(*env->read()->count(t) == static_cast<size_t>(capacity * 9 / 10) - removed);
}

TEST_CASE("requests in a batch see the writes of earlier requests", "[storage][writer]") {
  fixture f;
  writer w{*f.env};
  constexpr int n = 500;
  latch done{n};
  std::atomic<int> failures{0};
  // Read-modify-write increments: none may be lost, whatever the batching.
  for (int i = 0; i < n; ++i)
    w.submit(
        [&](write_txn& txn) -> caf::error {
          auto cur = txn.get(f.t, "counter");
          if (!cur)
            return cur.error();
          int v = *cur ? std::stoi(std::string{**cur}) : 0;
          return txn.put(f.t, "counter", std::to_string(v + 1));
        },
        [&](const caf::error& err) {
          if (err)
            ++failures;
          done.count_down();
        });
  done.wait();
  CHECK(failures == 0);
  CHECK(f.get("counter") == std::to_string(n));
}

TEST_CASE("stop commits what was queued and refuses what comes after", "[storage][writer]") {
  fixture f;
  auto w = std::make_unique<writer>(*f.env);
  std::atomic<int> acked{0};
  for (int i = 0; i < 1000; ++i)
    w->submit([&, i](write_txn& txn) { return txn.put(f.t, std::to_string(i), "v"); },
              [&](const caf::error& err) {
                if (!err)
                  ++acked;
              });
  w->stop();
  CHECK(acked == 1000);
  CHECK(*f.env->read()->count(f.t) == 1000);
  caf::error late;
  w->submit([](write_txn&) { return caf::none; }, [&](const caf::error& err) { late = err; });
  CHECK(code_of(late) == errc::shutting_down);
}

TEST_CASE("a full queue refuses at once instead of growing", "[storage][writer]") {
  fixture f;
  writer_options opts;
  opts.max_queued_requests = 4;
  writer w{*f.env, opts};
  std::promise<void> gate;
  auto gate_future = gate.get_future().share();
  latch started{1};
  w.submit(
      [&](write_txn&) -> caf::error {
        started.count_down();
        gate_future.wait();
        return caf::none;
      },
      [](const caf::error&) {});
  started.wait(); // the writer holds the first request; the queue is empty
  std::atomic<int> refused{0};
  for (int i = 0; i < 10; ++i)
    w.submit([](write_txn&) { return caf::none; },
             [&](const caf::error& err) {
               if (is(err, errc::unavailable))
                 ++refused;
             });
  CHECK(refused == 6);
  gate.set_value();
  w.stop();
}

TEST_CASE("a queue full of bytes refuses at once and still takes a large request when empty",
          "[storage][writer]") {
  fixture f;
  writer_options opts;
  opts.max_queued_bytes = 1000;
  writer w{*f.env, opts};
  std::promise<void> gate;
  auto gate_future = gate.get_future().share();
  latch started{1};
  // The writer holds the first request (taken off the queue: its bytes no longer count).
  w.submit(
      [&](write_txn&) -> caf::error {
        started.count_down();
        gate_future.wait();
        return caf::none;
      },
      [](const caf::error&) {}, 5000);
  started.wait();
  std::atomic<int> refused{0};
  std::atomic<int> committed{0};
  caf::error refusal;
  std::mutex refusal_mtx;
  auto count = [&](const caf::error& err) {
    if (is(err, errc::unavailable)) {
      ++refused;
      std::lock_guard<std::mutex> guard{refusal_mtx};
      refusal = err;
    } else if (!err) {
      ++committed;
    }
  };
  auto put = [&](int i, size_t bytes) {
    w.submit([&, i](write_txn& txn) { return txn.put(f.t, "k" + std::to_string(i), "v"); }, count,
             bytes);
  };
  SECTION("requests past the byte bound fail with unavailable and never run") {
    for (int i = 0; i < 10; ++i)
      put(i, 300); // 3 fit (900 bytes), the 4th would make 1200
    CHECK(refused == 7);
    CHECK(w.stats().queued_bytes == 900);
    CHECK(w.stats().refused == 7);
    std::lock_guard<std::mutex> guard{refusal_mtx};
    CHECK_THAT(message_of(refusal), Catch::Contains("write queue full"));
  }
  SECTION("requests that declare no bytes are bounded by count only") {
    for (int i = 0; i < 10; ++i)
      put(i, 0);
    CHECK(refused == 0);
  }
  SECTION("a request larger than the whole bound is taken into an empty queue") {
    put(0, 5000);
    CHECK(refused == 0);
    put(1, 1);
    CHECK(refused == 1); // the queue holds more than its bound now
  }
  gate.set_value();
  w.stop();
  CHECK(*f.env->read()->count(f.t) == static_cast<size_t>(committed.load()));
  CHECK(w.stats().queued_bytes == 0);
}
