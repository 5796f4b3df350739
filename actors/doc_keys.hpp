// Where the engine keeps documents in the store (store layout 2, see actors/layout_upgrade.hpp
// for layout 1). Every piece of state belongs to exactly one partition (partition_id below) and
// lies in a contiguous key range of its own: every key starts with the model's numeric id
// (4 bytes, big-endian) and the partition's number (2 bytes), so a partition can be exported,
// imported and dropped without reading any other partition's keys.
//
//   docs         model | shard (2) | id bytes                               -> record(document)
//   shard_index  model | shard (2) | field (key string) | value (key) | createdAt (key int) | id
//                                                                            -> "" (empty)
//   claims       model | claim partition (2) | field (key string)
//                | value (key, or 0xfe + SHA-256 when long)                  -> id
//   tombstones   model | directory partition (2) | id bytes                 -> deletedAt (8)
//   seqs         partition id (seq_key)                                     -> writes (u64)
//
// Index entries order by (value, createdAt, id) inside one shard's field: equality on the field
// is a prefix, and within it documents come in creation order, which answers "where f = v
// orderBy createdAt desc limit n" with a reverse prefix scan that reads this shard's entries
// only. (Layout 1 put the shard after createdAt, so that new entries of one value appended at one
// place for all shards: each shard then walked every other shard's entries, a 16x read
// amplification with 16 shards.) String values longer than index_value_bytes_max are cut to that
// many bytes in index keys (long arrays and objects keep only their type): index scans yield
// candidates, and every candidate is checked against the whole query on the document itself;
// values that share a cut prefix are ordered exactly by the scan's tie handling.
//
// Claim partitions (the unique values of a model) are chosen by the hash of the field and value:
// claim_partition_of. Directory partitions (owners and tombstones: what an id alone says) by the
// hash of the id: directory_partition_of.
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

/// The prefix of every entry of one field's index in one shard.
std::string index_field_prefix(uint32_t model_id, uint32_t shard, std::string_view field);
/// The encoding of an index value (long strings cut, see above).
void append_index_value(std::string& out, const value& v);
/// field prefix + value: the prefix of every entry with this (possibly cut) value.
std::string index_value_prefix(uint32_t model_id, uint32_t shard, std::string_view field,
                               const value& v);
std::string index_key(uint32_t model_id, uint32_t shard, std::string_view field, const value& v,
                      int64_t created_at, std::string_view id);

/// The parts of an index entry key.
struct index_entry {
  std::string_view value_part;
  /// The encoded createdAt (11 bytes: it orders entries of one value).
  std::string_view created_part;
  std::string_view id;
};

/// Splits an index entry key after its field prefix. Returns false for a malformed key.
bool split_index_key(std::string_view key, size_t field_prefix_size, index_entry& out) noexcept;

/// Number of claim partitions and of directory partitions of a model.
constexpr uint32_t claim_partitions = 16;
constexpr uint32_t directory_partitions = 16;
/// The claim partition of a unique key's bytes after its model id (field and value).
uint32_t claim_partition_of(std::string_view field_and_value) noexcept;
uint32_t directory_partition_of(std::string_view id) noexcept;

/// model | partition (2) | rest: a key inside partition `partition` of the model.
std::string with_partition(uint32_t model_id, uint32_t partition, std::string_view rest);

std::string unique_key(uint32_t model_id, std::string_view field, const value& v);
std::string tombstone_key(uint32_t model_id, std::string_view id);

// -- user-scoped models ---------------------------------------------------------------------
//
//   docs        model | user range (2) | user (key string) | id bytes  -> record(document)
//   directory   model | directory partition (2) | id bytes           -> user id
//               (also for global models sharded by a field other than id: -> shard, 4 bytes)
//   gindex      model | partition (2) | field (key string) | value (key) | createdAt (key int)
//               | id (key string) | user                               -> "" (empty)
//   users       user range (2) | user id bytes                        -> record(user)
//
// A user's documents of one model are one contiguous range (its database), inside the range of
// its user range (user_range_of: the hash of the user, user_ranges of them), which is the
// partition user databases are placed and moved by. The directory finds a document's user from
// its id alone. Global index entries are grouped by index partition (hash of the value) so that
// each partition actor owns one range; they are written by that actor from the outbox, after
// the document's own transaction.

/// Number of user ranges (partitions of user databases and of the users directory).
constexpr uint32_t user_ranges = 64;
uint32_t user_range_of(std::string_view user) noexcept;
/// The same from the user's key string encoding (as it stands in a docs key).
uint32_t user_range_of_key(std::string_view user_key_string) noexcept;
/// Every user database of one model in one user range.
std::string user_range_prefix(uint32_t model_id, uint32_t range);
std::string user_docs_prefix(uint32_t model_id, std::string_view user);
std::string user_doc_key(uint32_t model_id, std::string_view user, std::string_view id);
/// The user and id of a user-scoped docs key (after the model id and user range). False if
/// malformed.
bool split_user_doc_key(std::string_view key, std::string& user, std::string_view& id);
std::string owner_key(uint32_t model_id, std::string_view id);
/// The users directory entry of a user.
std::string user_key(std::string_view user);

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
//   counts      model | user range (2)                              -> documents (u64, 8 bytes)
//               (user-scoped models: one entry per user range, for the databases of its users)
//   meta        "counts.version"                                    -> "2"
//
// Counts are big-endian fixed-width integers (storage::append_u64). A model's entries are the
// range model_prefix(model): its documents on this node are their sum. The meta entry says the
// counts are kept; a store without it is counted once when it opens.

/// The count entry of one shard of a global model.
std::string shard_count_key(uint32_t model_id, uint32_t shard);
/// The count entry of a user-scoped model's user range.
std::string user_count_key(uint32_t model_id, uint32_t range);

// -- partitions -----------------------------------------------------------------------------

/// What a partition holds.
enum class partition_kind : uint8_t {
  /// Documents and local indexes of one shard of a global model (number: the shard).
  shard = 1,
  /// The user databases of one user range of a user-scoped model (number: the range).
  user_range = 2,
  /// One global index partition of a model.
  gindex = 3,
  /// One claim partition (unique values) of a model.
  claims = 4,
  /// One directory partition (owners, tombstones) of a model.
  directory = 5,
  /// One user range of the users directory (model 0).
  users = 6,
};

/// Names a partition for good: the model's numeric id, what it holds, its number.
struct partition_id {
  uint32_t model = 0;
  partition_kind kind = partition_kind::shard;
  uint32_t number = 0;

  friend bool operator==(const partition_id&, const partition_id&) = default;
  friend auto operator<=>(const partition_id&, const partition_id&) = default;
};

/// "model 7 shard 3" and the like, for messages.
std::string to_string(const partition_id& p);

/// The seqs entry of a partition: kind (1) | model (4) | number (2). Its value counts the
/// partition's writes (its log position), kept in the transaction of each write.
std::string seq_key(const partition_id& p);

/// The partition a docs key belongs to (shard or user range of a model whose scope is given).
partition_id partition_of_doc_key(std::string_view key, bool user_scoped) noexcept;

} // namespace debros::doc_keys
