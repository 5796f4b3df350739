// Where the engine keeps documents in the store: key layouts of the tables "docs", "index",
// "unique" and "tombstones". Every key starts with the model's numeric id (4 bytes, big-endian),
// so one table serves every model and a model's data is one contiguous range.
//
//   docs        model | shard (2) | id bytes                                  -> record(document)
//   index       model | field (key string) | value (key) | createdAt (key int) | shard (2) | id
//                                                                               -> "" (empty)
//   unique      model | field (key string) | value (key, or 0xfe + SHA-256 when long) -> id
//   tombstones  model | id bytes                                               -> deletedAt (8)
//
// Index entries order by (value, createdAt, shard, id) inside a field: equality on the field is
// a prefix, and within it documents come in creation order, which answers "where f = v orderBy
// createdAt desc limit n" with a reverse prefix scan. The shard comes after createdAt, not
// before the field, so that new entries of one value append at one place for all shards of the
// node: with the shard first, each of 16 shards has its own append point per value and a commit
// of 32 documents dirties about 2.5x more pages (each ~6.5 us of fsync on the development VM).
// A shard reading an index skips other shards' entries by their shard bytes, without fetching
// their documents. String values longer than
// index_value_bytes_max are cut to that many bytes in index keys (long arrays and objects keep
// only their type): index scans yield candidates, and every candidate is checked against the
// whole query on the document itself; values that share a cut prefix are ordered exactly by
// the scan's tie handling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/value.hpp"

namespace debros::doc_keys {

/// Longest string prefix stored in an index key (LMDB keys are at most 511 bytes).
constexpr size_t index_value_bytes_max = 200;
/// Longest document id.
constexpr size_t id_bytes_max = 128;

std::string model_prefix(uint32_t model_id);
std::string shard_prefix(uint32_t model_id, uint32_t shard);
std::string doc_key(uint32_t model_id, uint32_t shard, std::string_view id);

/// The id at the end of a docs key of this layout.
std::string_view id_of_doc_key(std::string_view key) noexcept;

/// The prefix of every entry of one field's index (all shards of the node).
std::string index_field_prefix(uint32_t model_id, std::string_view field);
/// The encoding of an index value (long strings cut, see above).
void append_index_value(std::string& out, const value& v);
/// field prefix + value: the prefix of every entry with this (possibly cut) value.
std::string index_value_prefix(uint32_t model_id, std::string_view field, const value& v);
std::string index_key(uint32_t model_id, uint32_t shard, std::string_view field, const value& v,
                      int64_t created_at, std::string_view id);

/// The parts of an index entry key.
struct index_entry {
  std::string_view value_part;
  /// The encoded createdAt (11 bytes: it orders entries of one value).
  std::string_view created_part;
  uint32_t shard = 0;
  std::string_view id;
};

/// Splits an index entry key after its field prefix. Returns false for a malformed key.
bool split_index_key(std::string_view key, size_t field_prefix_size, index_entry& out) noexcept;

std::string unique_key(uint32_t model_id, std::string_view field, const value& v);
std::string tombstone_key(uint32_t model_id, std::string_view id);

// -- user-scoped models ---------------------------------------------------------------------
//
//   docs        model | user (key string) | id bytes                -> record(document)
//   owners      model | id bytes                                    -> user id
//               (also for global models sharded by a field other than id: -> shard, 4 bytes)
//   gindex      model | partition (2) | field (key string) | value (key) | createdAt (key int)
//               | id (key string) | user                            -> "" (empty)
//   users       user id bytes                                       -> record(user)
//
// A user's documents of one model are one contiguous range (its database). The owners table
// finds a document's user from its id alone. Global index entries are grouped by index
// partition (hash of the value) so that each partition actor owns one range; they are written
// by that actor from the outbox, after the document's own transaction.

std::string user_docs_prefix(uint32_t model_id, std::string_view user);
std::string user_doc_key(uint32_t model_id, std::string_view user, std::string_view id);
/// The user and id of a user-scoped docs key (after the 4-byte model id). False if malformed.
bool split_user_doc_key(std::string_view key, std::string& user, std::string_view& id);
std::string owner_key(uint32_t model_id, std::string_view id);

/// Number of global index partitions of a model (placement: stable_hash(key of value) % this).
constexpr uint32_t gindex_partitions = 4;
uint32_t gindex_partition_of(const value& v) noexcept;
std::string gindex_prefix(uint32_t model_id, uint32_t partition);
std::string gindex_key(uint32_t model_id, uint32_t partition, std::string_view field,
                       const value& v, int64_t created_at, std::string_view user,
                       std::string_view id);

/// The parts of a global index entry after its field prefix (prefix + key string of field).
struct gindex_entry {
  std::string_view value_part;
  std::string_view created_part;
  /// createdAt and id: the order of entries of one value, unique per document.
  std::string_view order_part;
  std::string id;
  std::string_view user;
};
bool split_gindex_key(std::string_view key, size_t field_prefix_size, gindex_entry& out);

// -- document counts (actors/doc_counts.hpp) ------------------------------------------------
//
//   counts      model | shard (2)                                   -> documents (u64, 8 bytes)
//               (global models: one entry per shard)
//   counts      model                                               -> documents (u64, 8 bytes)
//               (user-scoped models: one entry for the databases of all users)
//   meta        "counts.version"                                    -> "1"
//
// Counts are big-endian fixed-width integers (storage::append_u64). A model's entries are the
// range model_prefix(model): its documents on this node are their sum. The meta entry says the
// counts are kept; a store without it is counted once when it opens.

/// The count entry of one shard of a global model.
std::string shard_count_key(uint32_t model_id, uint32_t shard);
/// The count entry of a user-scoped model (all users).
std::string user_count_key(uint32_t model_id);

} // namespace debros::doc_keys
