#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/result_cache.hpp"

using namespace debros;
using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand, so TTL tests need no sleeping.
struct manual_clock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1h;
  cache_options options(size_t entries_max = 100, size_t bytes_max = 1 << 20) {
    cache_options o;
    o.entries_max = entries_max;
    o.bytes_max = bytes_max;
    o.clock = [this] { return now; };
    return o;
  }
};

} // namespace

TEST_CASE("a cached result is served within its TTL and not after it", "[actors][cache]") {
  generations gens;
  manual_clock clock;
  result_cache<std::string> cache{gens, clock.options()};
  cache.put("q", std::string{"result"}, 6, gens.snapshot({"Post"}), 1000ms);
  SECTION("a lookup before the TTL ends is a hit") {
    clock.now += 999ms;
    auto hit = cache.get("q");
    REQUIRE(hit);
    CHECK(*hit == "result");
    CHECK(cache.stats().hits == 1);
  }
  SECTION("a lookup once the TTL has passed is a miss and drops the entry") {
    clock.now += 1000ms;
    CHECK_FALSE(cache.get("q"));
    auto s = cache.stats();
    CHECK(s.misses == 1);
    CHECK(s.expired == 1);
    CHECK(s.stale == 0);
    CHECK(s.entries == 0);
    CHECK(s.bytes == 0);
  }
  SECTION("a put under the same key replaces the value and restarts the TTL") {
    clock.now += 900ms;
    cache.put("q", std::string{"newer"}, 5, gens.snapshot({"Post"}), 1000ms);
    clock.now += 900ms;
    auto hit = cache.get("q");
    REQUIRE(hit);
    CHECK(*hit == "newer");
    CHECK(cache.stats().entries == 1);
    CHECK(cache.stats().evictions == 0);
  }
  SECTION("a key never stored is a plain miss") {
    CHECK_FALSE(cache.get("other"));
    CHECK(cache.stats().misses == 1);
    CHECK(cache.stats().expired == 0);
  }
}

TEST_CASE("a bump of a dependency makes only the entries depending on it stale",
          "[actors][cache]") {
  generations gens;
  gens.bump("User"); // dependencies with a non-zero generation behave the same
  manual_clock clock;
  result_cache<int> cache{gens, clock.options()};
  cache.put("posts", 1, 4, gens.snapshot({"Post"}), 1h);
  cache.put("users", 2, 4, gens.snapshot({"User"}), 1h);
  cache.put("posts with authors", 3, 4, gens.snapshot({"Post", "User"}), 1h);
  SECTION("before any bump every entry is a hit") {
    CHECK(cache.get("posts"));
    CHECK(cache.get("users"));
    CHECK(cache.get("posts with authors"));
  }
  SECTION("after a bump of User the entries reading User miss, counted as stale") {
    gens.bump("User");
    CHECK_FALSE(cache.get("users"));
    CHECK_FALSE(cache.get("posts with authors"));
    REQUIRE(cache.get("posts"));
    CHECK(*cache.get("posts") == 1);
    auto s = cache.stats();
    CHECK(s.stale == 2);
    CHECK(s.misses == 2);
    CHECK(s.entries == 1);
  }
  SECTION("a bump of a model nothing depends on changes nothing") {
    gens.bump("Comment");
    CHECK(cache.get("posts"));
    CHECK(cache.get("users"));
    CHECK(cache.get("posts with authors"));
    CHECK(cache.stats().stale == 0);
  }
}

TEST_CASE("a result computed from a snapshot taken before a bump is never served",
          "[actors][cache]") {
  generations gens;
  manual_clock clock;
  result_cache<int> cache{gens, clock.options()};
  auto deps = gens.snapshot({"Post"});
  SECTION("a put after the bump is refused") {
    gens.bump("Post");
    cache.put("q", 1, 4, deps, 1h);
    CHECK_FALSE(cache.get("q"));
    auto s = cache.stats();
    CHECK(s.rejected == 1);
    CHECK(s.insertions == 0);
  }
  SECTION("a put that lands before the bump is stale after it") {
    cache.put("q", 1, 4, deps, 1h);
    gens.bump("Post");
    CHECK_FALSE(cache.get("q"));
    CHECK(cache.stats().stale == 1);
  }
  SECTION("a refused stale put leaves a current entry under the same key in place") {
    gens.bump("Post");
    cache.put("q", 2, 4, gens.snapshot({"Post"}), 1h);
    cache.put("q", 1, 4, deps, 1h);
    REQUIRE(cache.get("q"));
    CHECK(*cache.get("q") == 2);
  }
}

TEST_CASE("the least recently used entries are evicted beyond the bounds", "[actors][cache]") {
  generations gens;
  manual_clock clock;
  auto no_deps = generation_snapshot{};
  SECTION("by entries: a fourth entry evicts the least recently used of three") {
    result_cache<int> cache{gens, clock.options(3)};
    cache.put("a", 1, 1, no_deps, 1h);
    cache.put("b", 2, 1, no_deps, 1h);
    cache.put("c", 3, 1, no_deps, 1h);
    REQUIRE(cache.get("a")); // now b is the least recently used
    cache.put("d", 4, 1, no_deps, 1h);
    CHECK_FALSE(cache.get("b"));
    CHECK(cache.get("a"));
    CHECK(cache.get("c"));
    CHECK(cache.get("d"));
    auto s = cache.stats();
    CHECK(s.evictions == 1);
    CHECK(s.entries == 3);
  }
  SECTION("by bytes: entries are charged their size plus their key") {
    result_cache<int> cache{gens, clock.options(100, 100)};
    cache.put("a", 1, 30, no_deps, 1h); // 31 bytes each
    cache.put("b", 2, 30, no_deps, 1h);
    cache.put("c", 3, 30, no_deps, 1h);
    CHECK(cache.stats().bytes == 93);
    REQUIRE(cache.get("a"));
    cache.put("d", 4, 30, no_deps, 1h);
    CHECK_FALSE(cache.get("b"));
    CHECK(cache.get("a"));
    CHECK(cache.get("c"));
    CHECK(cache.get("d"));
    CHECK(cache.stats().bytes == 93);
    SECTION("a large entry evicts as many as it needs, oldest first") {
      cache.put("e", 5, 60, no_deps, 1h); // 61 + 31 of d, the most recently used
      CHECK_FALSE(cache.get("a"));
      CHECK_FALSE(cache.get("c"));
      CHECK(cache.get("d"));
      CHECK(cache.get("e"));
      CHECK(cache.stats().evictions == 3);
      CHECK(cache.stats().bytes == 92);
    }
  }
  SECTION("a value held by a caller stays valid after its entry is evicted") {
    result_cache<std::string> cache{gens, clock.options(1)};
    cache.put("a", std::string(1000, 'x'), 1000, no_deps, 1h);
    auto held = cache.get("a");
    cache.put("b", std::string{"y"}, 1, no_deps, 1h);
    CHECK_FALSE(cache.get("a"));
    REQUIRE(held);
    CHECK(held->size() == 1000);
  }
}

TEST_CASE("a put that cannot be kept stores nothing", "[actors][cache]") {
  generations gens;
  manual_clock clock;
  result_cache<int> cache{gens, clock.options(10, 100)};
  cache.put("kept", 1, 10, {}, 1h);
  SECTION("a value larger than bytes_max is refused and evicts nothing") {
    cache.put("k", 2, 100, {}, 1h); // 101 bytes with its key
    CHECK_FALSE(cache.get("k"));
    CHECK(cache.get("kept"));
    auto s = cache.stats();
    CHECK(s.rejected == 1);
    CHECK(s.evictions == 0);
  }
  SECTION("a value of exactly bytes_max with its key is stored alone") {
    cache.put("k", 2, 99, {}, 1h);
    CHECK(cache.get("k"));
    CHECK_FALSE(cache.get("kept"));
  }
  SECTION("a size near SIZE_MAX is refused, not wrapped around") {
    cache.put("k", 2, SIZE_MAX, {}, 1h);
    CHECK_FALSE(cache.get("k"));
    CHECK(cache.stats().rejected == 1);
  }
  SECTION("a TTL that is zero or negative is refused") {
    cache.put("zero", 2, 1, {}, 0ms);
    cache.put("negative", 3, 1, {}, -5ms);
    CHECK_FALSE(cache.get("zero"));
    CHECK_FALSE(cache.get("negative"));
    CHECK(cache.stats().rejected == 2);
  }
  SECTION("a null value is refused, as a hit could not be told from a miss") {
    cache.put("null", std::shared_ptr<const int>{}, 1, {}, 1h);
    CHECK(cache.stats().rejected == 1);
  }
  SECTION("a huge TTL never expires instead of overflowing the clock") {
    cache.put("forever", 2, 1, {}, std::chrono::milliseconds::max());
    clock.now += std::chrono::hours{24 * 365 * 100};
    CHECK(cache.get("forever"));
  }
  SECTION("a cache bounded to zero entries stores nothing") {
    result_cache<int> none{gens, clock.options(0)};
    none.put("k", 1, 1, {}, 1h);
    CHECK_FALSE(none.get("k"));
    CHECK(none.stats().entries == 0);
  }
}

TEST_CASE("stats count every lookup and store, and clear keeps the counters", "[actors][cache]") {
  generations gens;
  manual_clock clock;
  result_cache<int> cache{gens, clock.options(2)};
  cache.put("a", 1, 10, gens.snapshot({"Post"}), 1h);
  cache.put("b", 2, 10, gens.snapshot({"User"}), 1s);
  cache.put("c", 3, 10, {}, 1h); // evicts a
  CHECK(cache.get("c"));
  CHECK_FALSE(cache.get("a"));
  clock.now += 1s;
  CHECK_FALSE(cache.get("b")); // expired
  cache.put("d", 4, 10, gens.snapshot({"Post"}), 1h);
  gens.bump("Post");
  CHECK_FALSE(cache.get("d")); // stale
  auto s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 3);
  CHECK(s.expired == 1);
  CHECK(s.stale == 1);
  CHECK(s.insertions == 4);
  CHECK(s.rejected == 0);
  CHECK(s.evictions == 1);
  CHECK(s.entries == 1);
  CHECK(s.bytes == 11);
  cache.clear();
  CHECK_FALSE(cache.get("c"));
  s = cache.stats();
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);
  CHECK(s.hits == 1);
  CHECK(s.misses == 4);
}

TEST_CASE("generations start at zero and count the bumps of each model", "[actors][cache]") {
  generations gens;
  CHECK(gens.current("Post") == 0);
  gens.bump("Post");
  gens.bump("Post");
  gens.bump("User");
  CHECK(gens.current("Post") == 2);
  CHECK(gens.current("User") == 1);
  CHECK(gens.current("post") == 0); // names are case-sensitive
  auto snap = gens.snapshot({"User", "Post", "Comment"});
  CHECK(snap == generation_snapshot{{"User", 1}, {"Post", 2}, {"Comment", 0}});
  SECTION("many models keep their counts as the table grows") {
    for (int round = 1; round <= 3; ++round)
      for (int m = 0; m < 500; ++m)
        gens.bump("Model" + std::to_string(m));
    for (int m = 0; m < 500; ++m)
      CHECK(gens.current("Model" + std::to_string(m)) == 3);
    CHECK(gens.current("Post") == 2);
  }
}

// A write commits a new version of its model's data, bumps the model, then is acknowledged; a
// computation snapshots the generation, reads the version and caches it. A lookup that starts
// after a write was acknowledged must never return a version older than that write.
TEST_CASE("concurrent gets, puts and bumps never serve a result older than an acknowledged write",
          "[actors][cache]") {
  constexpr int models = 3, keys = 16, threads = 4, ops = 20000;
  generations gens;
  cache_options o;
  // Sizes vary by key (23 to 143 bytes with the key), so either bound can be the one that binds.
  o.entries_max = 5;
  o.bytes_max = 500;
  result_cache<uint64_t> cache{gens, o};
  std::array<std::atomic<uint64_t>, models> data{};  // the committed version of each model
  std::array<std::atomic<uint64_t>, models> acked{}; // the newest acknowledged version
  std::atomic<uint64_t> gets{0}, hits{0}, puts{0}, violations{0};
  auto name = [](int m) { return "Model" + std::to_string(m); };
  auto write = [&](int m) {
    uint64_t version = data[m].fetch_add(1, std::memory_order_acq_rel) + 1;
    gens.bump(name(m));
    uint64_t seen = acked[m].load(std::memory_order_relaxed);
    while (seen < version && !acked[m].compare_exchange_weak(seen, version))
      ;
  };
  auto work = [&](unsigned seed) {
    std::mt19937 rng{seed};
    for (int i = 0; i < ops; ++i) {
      int k = static_cast<int>(rng() % keys);
      int m = k % models;
      auto key = "query" + std::to_string(k);
      auto dice = rng() % 100;
      if (dice < 5) {
        write(m);
      } else if (dice < 60) {
        uint64_t floor = acked[m].load();
        auto hit = cache.get(key);
        ++gets;
        if (hit && (++hits, *hit < floor))
          ++violations;
      } else {
        auto deps = gens.snapshot({name(m)});
        uint64_t version = data[m].load();
        cache.put(key, version, 16 + 8 * k, std::move(deps), 1min);
        ++puts;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(work, 1234u + t);
  for (auto& t : pool)
    t.join();
  CHECK(violations == 0);
  CHECK(hits > 0);
  auto s = cache.stats();
  CHECK(s.hits == hits);
  CHECK(s.hits + s.misses == gets);
  CHECK(s.insertions + s.rejected == puts);
  CHECK(s.stale > 0);
  CHECK(s.evictions > 0);
  CHECK(s.entries <= o.entries_max);
  CHECK(s.bytes <= o.bytes_max);
  CHECK(s.expired == 0);
  for (int m = 0; m < models; ++m)
    CHECK(gens.current(name(m)) == data[m]);
}

TEST_CASE("generations stay exact while many threads add and bump new models", "[actors][cache]") {
  constexpr int threads = 4, models_each = 300;
  generations gens;
  std::atomic<int> wrong{0};
  auto work = [&](int t) {
    // Each thread owns its models, so it knows their exact counts while the others grow the
    // table; it also reads the shared model, which only ever grows.
    uint64_t shared_seen = 0;
    for (int round = 1; round <= 2; ++round)
      for (int m = 0; m < models_each; ++m) {
        auto model = "T" + std::to_string(t) + "M" + std::to_string(m);
        gens.bump(model);
        gens.bump("shared");
        if (gens.current(model) != static_cast<uint64_t>(round))
          ++wrong;
        uint64_t shared = gens.current("shared");
        if (shared < shared_seen)
          ++wrong;
        shared_seen = shared;
      }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(work, t);
  for (auto& t : pool)
    t.join();
  CHECK(wrong == 0);
  CHECK(gens.current("shared") == threads * models_each * 2);
  CHECK(gens.current("T3M299") == 2);
}
