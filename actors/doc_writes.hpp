// Planning and applying document writes: which keys of "docs", "shard_index", "claims",
// "directory", "tombstones" and "users" a create, update or delete touches (layouts:
// actors/doc_keys.hpp), and the partitions whose write sequence it advances. Plans are computed by
// the actor that owns the documents (or a batch), applied inside the writer's transaction.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "caf/expected.hpp"

#include "actors/doc_keys.hpp"
#include "messages/model.hpp"
#include "messages/value.hpp"
#include "storage/environment.hpp"

namespace debros {

struct model_entry;

struct doc_tables {
  storage::table docs;
  /// Local index entries of shards ("shard_index").
  storage::table index;
  /// Unique claims ("claims").
  storage::table unique;
  storage::table tombstones;
  /// Owners of ids ("directory").
  storage::table owners;
  storage::table users;
  storage::table outbox;
  /// Document counts (actors/doc_counts.hpp), and meta for their version entry.
  storage::table counts;
  storage::table meta;
  /// Per-partition write sequences (doc_keys::seq_key).
  storage::table seqs;
};

/// Adds one to the write sequence of partition `p`, inside the write's transaction. Errors:
/// corruption for an entry that is not 8 bytes; storage errors.
caf::error advance_seq(storage::write_txn& txn, storage::table seqs,
                       const doc_keys::partition_id& p);

/// The write sequence of partition `p` (0 before its first write).
caf::expected<uint64_t> read_seq(const storage::read_txn& txn, storage::table seqs,
                                 const doc_keys::partition_id& p);

/// Every table the engine writes documents to.
doc_tables doc_tables_of(storage::environment& env);

/// Where a document lives: a shard of a global model, or the database of one user of a
/// user-scoped model (`user` not empty).
struct doc_place {
  uint32_t shard = 0;
  std::string user;

  bool user_scoped() const noexcept { return !user.empty(); }
};

/// Checks that `doc` (after hooks and transforms) still belongs at `place`: a hook or transform
/// must not move a document to another shard or user. Errors: invalid_argument.
caf::error check_place(const model_def& def, const doc_place& place, const value& doc);

/// The docs key of document `id` at `place`.
std::string doc_key_of(const model_entry& e, const doc_place& place, std::string_view id);

/// The outbox channel of global index partition `partition` of model `model_id`.
std::string gindex_channel(uint32_t model_id, uint32_t partition);

/// Where the consumer of `channel` puts work items that can never be applied ("dead/" +
/// channel): kept for inspection, counted in metrics, never retried.
std::string dead_letter_channel(std::string_view channel);
constexpr std::string_view dead_letter_prefix = "dead/";

/// One pending global index change, as stored in the outbox.
struct gindex_op {
  bool put = true; // false: delete
  std::string key;
};

/// The outbox payload of a global index change, and back. Decoding errors: corruption.
std::string encode_gindex_op(const gindex_op& op);
caf::expected<gindex_op> decode_gindex_op(std::string_view payload);

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
  /// The owners entry (id -> user for user-scoped models, id -> shard (4 bytes) for global
  /// models sharded by a field other than id), claimed on create (an id is unique across users
  /// and shards) and removed on delete; empty for models sharded by id.
  std::string owner_key;
  std::string owner;
  /// User-scoped models: the user's directory entry, created if missing.
  std::string user_record;
  /// The document count entry a create adds one to and a delete removes one from (only when
  /// the document was there); empty for an update.
  std::string count_key;
  /// Work for other actors (global index partitions), appended in the same transaction.
  std::vector<std::pair<std::string, std::string>> outbox;
  /// The partitions this write changes (its document's, claim and directory partitions), each
  /// of whose sequence it advances once; a new user's users directory partition too.
  std::vector<doc_keys::partition_id> touched;
};

/// Plans storing the validated `doc` as a new document at `place`.
caf::expected<write_plan> plan_create(const model_entry& e, const doc_place& place,
                                      const value& doc);

/// Plans replacing `old_doc` by the validated `new_doc` (same id).
caf::expected<write_plan> plan_update(const model_entry& e, const doc_place& place,
                                      const value& old_doc, const value& new_doc);

/// Plans deleting `old_doc` (a tombstone for event logs).
write_plan plan_delete(const model_entry& e, const doc_place& place, const value& old_doc);

/// The bytes `p` holds (its record, keys and outbox payloads): what its write declares to the
/// writer (storage::writer::submit, max_queued_bytes).
size_t plan_bytes(const write_plan& p) noexcept;

/// Applies a plan: all checks (unique values, existence, tombstones) before any change, so a
/// refused plan changes nothing; a create or delete changes its document count in the same
/// transaction. Errors: conflict naming the field and value or the id.
caf::error apply_plan(storage::write_txn& txn, const doc_tables& t, const write_plan& p);

} // namespace debros
