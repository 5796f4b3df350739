// Document counts kept by the writes: how many documents each model holds on this node, read
// by /v1/status and GET /v1/models/{M} in O(models) instead of counting the documents.
//
// Key layout: actors/doc_keys.hpp ("document counts"). Every create adds one and every delete
// removes one inside apply_plan (actors/doc_writes.cpp), in the transaction of the write, so the
// counts are exact and crash-consistent: a refused write (an existing id, a unique value in use)
// changes neither the documents nor the counts, an update changes no count, and a request the
// writer redoes or drops from its batch redoes or drops its counts with it. One writer thread
// applies every write (storage/writer.hpp), so the entry of a user range, which the writes of
// all its users change, is never contended.
//
// A store written before the counts were kept has no version entry: opening it counts its
// documents once (one pass over "docs", logged with its duration) and stores the counts and the
// version in one transaction.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros::doc_counts {

/// The meta entry whose presence says the counts are kept, and its value (the layout's version).
constexpr std::string_view version_key = "counts.version";
constexpr std::string_view version = "2";

/// Adds `delta` to the entry `key` of `counts`, inside the write's transaction. An entry that
/// would drop below zero means the counts disagree with the documents (a store changed by a
/// version of Debros that did not keep them): it stays at zero, the version entry of `meta` is
/// removed so that the next start counts again, and the fact is logged. Errors: corruption for
/// an entry that is not 8 bytes; storage errors.
caf::error add(storage::write_txn& txn, storage::table counts, storage::table meta,
               std::string_view key, int64_t delta);

/// The documents of model `model_id` on this node: the sum of its entries (one per shard, or
/// per user range). Reads at most as many entries as the model has partitions. Errors: corruption.
caf::expected<uint64_t> read(const storage::read_txn& txn, storage::table counts,
                             uint32_t model_id);

/// A model as the one-time count sees it: its id and whether it is user-scoped.
struct model_ref {
  uint32_t id = 0;
  bool user_scoped = false;
};

/// Counts the documents of `models` and stores the counts, unless the version entry says they
/// are kept already. Runs through the writer (so the count and every write are serialized); call
/// it from a plain thread before the engine accepts writes (engine::load does). Returns whether
/// it counted. Errors: storage errors, corruption for a malformed docs key.
caf::expected<bool> ensure(storage::environment& env, storage::writer& w,
                           const std::vector<model_ref>& models);

} // namespace debros::doc_counts
