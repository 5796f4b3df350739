// The access paths by which one partition answers its part of a query (actors/partition_scan.cpp
// chooses one per partition query). Reported in partition_stats and counted per kind in
// query_stats, so tests can tell which path answered and metrics can show it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace debros {

/// One access path of the planner, named after the function of partition_scan.cpp that runs it.
/// Values are numbered for good: they travel in partition_stats between nodes and index
/// query_stats::plans, so a number is never reused or renumbered; append new kinds at the end.
enum class plan_kind : uint8_t {
  /// No plan: a default-constructed partition_stats. A partition's answer never carries it.
  none = 0,
  /// `id =` or `id in [...]` in a shard or a user's database: those documents, read by key.
  point_lookup = 1,
  /// The documents in id order (unordered, or ordered by id), stopping once the page is full.
  stream_docs = 2,
  /// Every document of the shard or user's database; the best k kept in a heap.
  heap_docs = 3,
  /// Every document of every user's database of one host's share (a scan of a user-scoped
  /// model that nothing narrowed); the best k kept in a heap.
  scan_users = 4,
  /// A local index in the order of the first sort key (its whole range, or the range of a
  /// condition on that field), stopping once the page is full.
  stream_index = 5,
  /// One value's prefix of a local index (`=`), in createdAt order, stopping once the page is
  /// full.
  stream_eq_by_created = 6,
  /// The local index entries of an `=`, a small `in` or a range; the best k kept in a heap.
  heap_index = 7,
  /// As stream_index, in a global index partition (documents read from their owners).
  gindex_stream_index = 8,
  /// As stream_eq_by_created, in a global index partition.
  gindex_stream_eq_by_created = 9,
  /// As heap_index (any `in`), in a global index partition.
  gindex_heap_index = 10,
};

/// The number of plan_kind values (the size of query_stats::plans).
inline constexpr size_t plan_kind_count = 11;

namespace detail {

inline constexpr std::string_view plan_kind_names[plan_kind_count] = {
    "none",
    "point_lookup",
    "stream_docs",
    "heap_docs",
    "scan_users",
    "stream_index",
    "stream_eq_by_created",
    "heap_index",
    "gindex_stream_index",
    "gindex_stream_eq_by_created",
    "gindex_heap_index",
};

} // namespace detail

/// The stable snake_case name of `k` ("heap_index"); "unknown" for a value out of range.
constexpr std::string_view to_string(plan_kind k) noexcept {
  auto i = static_cast<size_t>(k);
  return i < plan_kind_count ? detail::plan_kind_names[i] : std::string_view{"unknown"};
}

/// Whether `k` finds its candidates by key (an index or the ids) rather than by reading every
/// document of the partition.
constexpr bool uses_index(plan_kind k) noexcept {
  switch (k) {
  case plan_kind::none:
  case plan_kind::stream_docs:
  case plan_kind::heap_docs:
  case plan_kind::scan_users:
    return false;
  default:
    return true;
  }
}

} // namespace debros
