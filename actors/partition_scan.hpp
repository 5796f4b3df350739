// How one partition (a shard, a user database, a global index partition, or a scan of every
// user's database) answers its part of a query, from LMDB, inside one read snapshot. Used by the
// partition actors and the coordinator's scanners; no actor code here.
//
// Access paths, chosen from the top-level (ANDed) conditions and the first sort key (each is a
// plan_kind of messages/plan.hpp, reported in the result's stats):
// - streaming scans, whose order equals the first sort key, stop once they hold k hits and the
//   next candidate's first sort key differs from the k-th's (so ties are resolved exactly):
//     equality on an indexed field, ordered by createdAt   -> reverse/forward prefix scan,
//     a range condition on an indexed field ordered by it  -> range scan of that index,
//     ordered by an indexed field or createdAt             -> scan of that index,
//     ordered by id or unordered                           -> scan of the documents (only
//                                                             where they are stored in id order);
// - otherwise candidates come from an index (equality, `in`, range) when one applies, or from
//   all documents, and the best k are kept in a heap.
// A global index partition answers from its index only (its documents are spread over every
// user's database). Every candidate is checked against the whole `where` on its stored bytes.
// Counting a total or an aggregate visits every candidate (no early stop) and ignores the
// cursor: `total` and aggregates describe the whole query, not what follows the cursor. A
// cursor (`after`) otherwise seeks the scan to its position when the scan's order allows, and
// filters otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/model.hpp"
#include "messages/requests.hpp"
#include "storage/environment.hpp"

namespace debros {

/// Where a partition's data lives: its documents are `docs_prefix + id` in `docs`; its index
/// entries are those of `index_base + key_string(field) + value + createdAt + shard + id` in
/// `index` whose shard is `shard` (see doc_keys.hpp).
struct partition_layout {
  storage::table docs;
  storage::table index;
  std::string docs_prefix;
  std::string index_base;
  uint32_t shard = 0;
  uint32_t model_id = 0;
  /// A global index partition (doc_keys.hpp "gindex"): entries name their owner and documents
  /// are read from the owner's database (or, with `owner_is_shard`, from the shard the entry
  /// names: a global model); an entry whose document is gone is skipped (its removal is still
  /// in the outbox).
  bool global_index = false;
  bool owner_is_shard = false;
  /// Scans of every user's database (`docs_prefix` covers the model): when `user_mod` is not
  /// zero, only users with stable_hash(key of user) % user_mod == user_rem are this
  /// partition's.
  uint32_t user_mod = 0;
  uint32_t user_rem = 0;
  /// The keys after `docs_prefix` are user | id (a scan of every user's database), not ids:
  /// documents are not in id order.
  bool docs_by_user = false;
  /// The fields with an index in this partition (see local_index_fields).
  std::vector<std::string> indexed;
};

/// How a query on a user-scoped model is answered from its global index. The coordinator (which
/// partitions to ask) and the partitions (which entries to walk) must choose alike: an index
/// entry lives in the partition of its own field's value, so a partition chosen for `b = v`
/// holds the `b` entries of v, not the `a` entries of the same documents.
struct gindex_choice {
  /// The top-level condition whose field's entries are walked (the first on a globally indexed
  /// scalar field that is `=`, `in` or a range); null when only the order (first sort key on
  /// such a field) applies.
  const query_expr* cond = nullptr;
  /// The partitions holding the candidates: those of the condition's values for `=` and `in`;
  /// empty for every partition.
  std::vector<uint32_t> partitions;
};

/// The choice for `q`, or none when the global index cannot answer it. `global_fields` are the
/// model's fields indexed "global".
std::optional<gindex_choice>
choose_gindex(const model_def& def, const std::vector<std::string>& global_fields, const query& q);

/// What a partition does to answer a query (see docs/models-and-queries.md, "Planning"),
/// chosen by plan_scan from the query, the model and the partition's layout alone: no store
/// access, so a plan can be computed, tested and explained anywhere.
struct scan_plan {
  enum class step : uint8_t {
    /// Read the documents of an `id =` / `id in` condition (`cond`) by key.
    point_lookup,
    /// Walk one value's prefix of `field`'s index (`cond` is its `=`) in createdAt order.
    stream_eq_by_created,
    /// Walk `field`'s index in its order (the range of `cond`, or all of it when null),
    /// stopping once the page is full.
    stream_index,
    /// Walk the entries of `cond` (an `=`, `in` or range on `field`), keeping the best k.
    heap_index,
    /// Walk the documents in id order, stopping once the page is full.
    stream_docs,
    /// Walk every document, keeping the best k.
    heap_docs,
  };
  step what = step::heap_docs;
  /// The condition the step walks (points into the query's `where`), or null.
  const query_expr* cond = nullptr;
  std::string field;
  bool descending = false;
  /// The access path the partition reports (query_stats::plans, explain).
  plan_kind kind = plan_kind::none;
};

/// The plan of `q` in a partition with `layout` (only its indexed fields and kind are read).
/// Errors: internal for a global index partition given a query its index cannot answer.
caf::expected<scan_plan> plan_scan(const model_def& def, const partition_layout& layout,
                                   const query& q);

/// One partition's answer to one query, computed in slices so that a long scan neither holds a
/// read snapshot (which holds off the store's map growth, and so the writer) nor its actor for
/// its whole length. Each step reads at most `entries_max` entries (index entries, documents,
/// skipped users) in a read snapshot of its own, then pauses before the next key; the next step
/// resumes there. A scan that fits one step is a snapshot; one that takes several sees each
/// slice's documents as they are at that slice: a document written meanwhile is seen as it was
/// or as it became, one whose indexed value moved across the scan's position may be missed, and
/// one seen twice is kept once in the hits (its `total` and aggregate may count it twice).
/// Not thread-safe: one caller at a time.
class partition_scan {
public:
  /// `def` must live as long as the scan: `keep_def` (its owner, may be null) is held for it.
  partition_scan(partition_layout layout, const model_def& def,
                 std::shared_ptr<const void> keep_def, partition_query pq);
  ~partition_scan();
  partition_scan(const partition_scan&) = delete;
  partition_scan& operator=(const partition_scan&) = delete;

  /// Runs one slice (0: no bound, the whole scan). Returns the answer when the scan is complete
  /// (its stats count the slices), std::nullopt when it paused. Errors: those of
  /// run_partition_query.
  std::optional<caf::expected<partition_result>> step(storage::environment& env,
                                                      uint64_t entries_max);

private:
  struct state;
  std::unique_ptr<state> st_;
};

/// Answers `pq` for one partition in one snapshot. Errors: corruption for damaged records or
/// index entries, storage errors of the read, too_large past pq.memory_bytes_max.
caf::expected<partition_result> run_partition_query(storage::environment& env,
                                                    const partition_layout& layout,
                                                    const model_def& def,
                                                    const partition_query& pq);

} // namespace debros
