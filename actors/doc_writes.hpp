// Planning and applying document writes: which keys of "docs", "index", "unique" and
// "tombstones" a create, update or delete touches. Plans are computed by the actor that owns
// the documents (or a batch), applied inside the writer's transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/value.hpp"
#include "storage/environment.hpp"

namespace debros {

struct model_entry;

struct doc_tables {
  storage::table docs;
  storage::table index;
  storage::table unique;
  storage::table tombstones;
};

struct unique_claim {
  std::string key;
  std::string field;
  value val;
};

struct write_plan {
  std::string id;
  std::string doc_key;
  /// The new record; empty for a delete.
  std::string record;
  /// A create: refused with `conflict` when the id exists (or, for event logs, was deleted).
  bool create = false;
  std::vector<std::string> index_del;
  std::vector<std::string> index_put;
  std::vector<std::string> unique_del;
  std::vector<unique_claim> unique_put;
  /// Event logs: the key whose presence marks a deleted id (checked on create, written on
  /// delete). Empty for other store types.
  std::string tombstone_key;
};

/// Plans storing the validated `doc` as a new document of `shard`.
caf::expected<write_plan> plan_create(const model_entry& e, uint32_t shard, const value& doc);

/// Plans replacing `old_doc` by the validated `new_doc` (same id).
caf::expected<write_plan> plan_update(const model_entry& e, uint32_t shard, const value& old_doc,
                                      const value& new_doc);

/// Plans deleting `old_doc` (a tombstone for event logs).
write_plan plan_delete(const model_entry& e, uint32_t shard, const value& old_doc);

/// Applies a plan: all checks (unique values, existence, tombstones) before any change, so a
/// refused plan changes nothing. Errors: conflict naming the field and value or the id.
caf::error apply_plan(storage::write_txn& txn, const doc_tables& t, const write_plan& p);

} // namespace debros
