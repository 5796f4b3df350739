// Caches of computed results (query results, related documents of a parent) that are never served
// stale on this node after a write.
//
// Staleness is decided by per-model generation counters, not by invalidation messages: every
// write to a model bumps the model's generation, and an entry remembers, for each model its
// result depends on, the generation seen when its computation started. A lookup is a hit only
// while every one of those generations is still current. A computation that raced with a write
// took its snapshot before the bump, so its entry is already stale when the write is acknowledged.
//
// The protocol the callers follow:
//   reader: deps = gens.snapshot(models); result = compute(); cache.put(key, result, .., deps, ttl)
//   writer: commit the write (visible to new readers); gens.bump(model); reply to the caller
// The bump must come after the write is visible to readers: a reader whose snapshot already sees
// the bumped generation must also see the written data. It must come before the reply, so that
// nothing the caller does after the reply can be answered from an entry older than the write.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace debros {

/// The generation of each model a result was computed from, taken before computing it.
using generation_snapshot = std::vector<std::pair<std::string, uint64_t>>;

/// Per-model write counters. Thread rules: every member may be called from any thread at once.
/// current() and snapshot() take no lock; bump() takes a lock only the first time a model is
/// bumped. Counters only grow and are never removed, so a model that is dropped and defined
/// again never reuses an old generation (which could revive entries cached before the drop).
class generations {
public:
  generations();
  ~generations();
  generations(const generations&) = delete;
  generations& operator=(const generations&) = delete;

  /// The generation of `model`: 0 until its first bump, then the number of bumps. A bump that
  /// returned before this call started is always seen.
  uint64_t current(std::string_view model) const noexcept;

  /// Adds 1 to the generation of `model`. Call after the write is visible to readers and before
  /// the writer's caller gets its reply. Allocates the first time a model is seen.
  void bump(std::string_view model);

  /// The current generation of each of `models`, in order. Take it before computing a result.
  generation_snapshot snapshot(const std::vector<std::string>& models) const;

private:
  struct counter;
  struct table;
  counter* find(const table& t, std::string_view model, size_t hash) const noexcept;
  counter& add(std::string_view model, size_t hash);

  // Readers probe the published table without a lock; tables are never changed except by
  // filling an empty slot, and a full one is replaced, not resized. Replaced tables stay alive
  // until destruction because a reader may still be probing one (at most as many slots again
  // as the live table, as each table doubles the previous one).
  std::atomic<table*> table_;
  std::mutex add_mutex_; // serializes add(); guards the members below
  std::vector<std::unique_ptr<table>> tables_;
  std::vector<std::unique_ptr<counter>> counters_;
};

/// Bounds and clock of a result cache.
struct cache_options {
  /// Most entries held; the least recently used ones are evicted beyond it.
  size_t entries_max = 10000;
  /// Most bytes held, counting each entry as the caller's estimate plus its key's length.
  size_t bytes_max = size_t{64} << 20;
  /// The time used for TTLs; steady_clock::now when empty. Tests inject a fake clock. Called
  /// from every thread that calls get() or put(), outside the cache's lock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/// Counters since construction (clear() keeps them). Each field is exact, but fields are read
/// one by one, so a snapshot taken while other threads use the cache may be mutually off by the
/// operations in flight.
struct cache_stats {
  uint64_t hits = 0;       ///< get() calls that returned a value
  uint64_t misses = 0;     ///< get() calls that returned nothing, including the two below
  uint64_t stale = 0;      ///< misses that found an entry with an outdated generation (dropped)
  uint64_t expired = 0;    ///< misses that found an entry past its TTL (dropped)
  uint64_t insertions = 0; ///< put() calls that stored their value
  uint64_t rejected = 0;   ///< put() calls that stored nothing: too large, no TTL, or stale
  uint64_t evictions = 0;  ///< entries removed to stay within entries_max and bytes_max
  size_t entries = 0;      ///< entries held now
  size_t bytes = 0;        ///< bytes held now, as counted against bytes_max
};

namespace detail {

/// The untyped core of result_cache<V>: values are std::shared_ptr<const void>.
class erased_cache {
public:
  using value_ptr = std::shared_ptr<const void>;
  erased_cache(const generations& gens, cache_options options);
  ~erased_cache();
  erased_cache(const erased_cache&) = delete;
  erased_cache& operator=(const erased_cache&) = delete;

  value_ptr get(std::string_view key);
  void put(std::string key, value_ptr value, size_t bytes, generation_snapshot deps,
           std::chrono::milliseconds ttl);
  void clear();
  cache_stats stats() const;

private:
  struct entry {
    std::string key;
    value_ptr value;
    generation_snapshot deps;
    std::chrono::steady_clock::time_point expires;
    size_t charge; // bytes counted against bytes_max
  };
  using lru_list = std::list<entry>; // most recently used first

  std::chrono::steady_clock::time_point now() const;
  bool is_current(const generation_snapshot& deps) const noexcept;
  void unlink(lru_list::iterator it, lru_list& graveyard);

  const generations& gens_;
  const cache_options options_;
  mutable std::mutex mutex_; // guards lru_, index_, bytes_
  lru_list lru_;
  std::unordered_map<std::string_view, lru_list::iterator> index_; // views of entry::key
  size_t bytes_ = 0;
  // Atomics so that stats() and refused puts need no lock; relaxed, as they order nothing.
  std::atomic<uint64_t> hits_{0}, misses_{0}, stale_{0}, expired_{0};
  std::atomic<uint64_t> insertions_{0}, rejected_{0}, evictions_{0};
};

} // namespace detail

/// A bounded LRU cache of immutable values of type V under string keys, each valid for a TTL and
/// while the generations of the models it was computed from are current.
///
/// Thread rules: every member may be called from any thread at once; one mutex guards the index
/// and is held for a hash lookup and a few pointer moves, never while a value is copied or
/// destroyed. Values are shared, not copied: get() returns a std::shared_ptr to the stored value,
/// which stays valid for as long as the caller holds it, even after the entry is evicted.
/// Lifetime: `gens` must outlive the cache.
template <class V>
class result_cache {
public:
  explicit result_cache(const generations& gens, cache_options options = {})
      : core_(gens, std::move(options)) {}

  /// The value stored under `key`, or null when there is none, it is past its TTL, or a model it
  /// depends on was bumped after its snapshot was taken. An expired or stale entry is dropped.
  /// Marks the entry most recently used.
  std::shared_ptr<const V> get(std::string_view key) {
    return std::static_pointer_cast<const V>(core_.get(key));
  }

  /// Stores `value`, computed from data read after `deps` was taken, under `key` for `ttl`,
  /// replacing any entry under `key`. `bytes` is the caller's estimate of the value's size.
  /// The entry is charged `bytes` plus the key's length against bytes_max. Stores nothing (and
  /// leaves any entry under `key` in place) when `value` is null, the charge exceeds bytes_max,
  /// entries_max is 0, `ttl` is not positive, or `deps` is already stale. May evict the least
  /// recently used entries; never the new one.
  void put(std::string key, std::shared_ptr<const V> value, size_t bytes, generation_snapshot deps,
           std::chrono::milliseconds ttl) {
    core_.put(std::move(key), std::move(value), bytes, std::move(deps), ttl);
  }

  /// As above, moving `value` into a new shared allocation.
  void put(std::string key, V value, size_t bytes, generation_snapshot deps,
           std::chrono::milliseconds ttl) {
    put(std::move(key), std::make_shared<const V>(std::move(value)), bytes, std::move(deps), ttl);
  }

  /// Removes every entry. Values still held by callers stay valid.
  void clear() { core_.clear(); }

  cache_stats stats() const { return core_.stats(); }

private:
  detail::erased_cache core_;
};

} // namespace debros
