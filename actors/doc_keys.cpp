#include "actors/doc_keys.hpp"

#include <algorithm>

#include <openssl/sha.h>

#include "actors/placement.hpp"
#include "messages/names.hpp"
#include "storage/environment.hpp"
#include "storage/key_codec.hpp"

namespace debros::doc_keys {

// -- the worst case of every layout against LMDB's key limit --------------------------------------
//
// Names and ids hold no control characters (messages/names.hpp), so no NUL to escape; values
// may. Where a layout's worst case fits, it is asserted here; where it does not (index and
// global index entries with long values), every write checks its derived keys before it is
// acknowledged (check_key_sizes, actors/doc_writes.cpp) and refuses the write with a message
// naming the key: such a key never reaches the outbox or a transaction.
namespace worst {
constexpr size_t model = 4, shard = 2, partition = 2;
constexpr size_t key_int = 1 + 8 + 2; // storage/key_codec.hpp: tag, double, distance
// A key string of n bytes: tag, the bytes (each NUL doubled), terminator.
constexpr size_t key_string(size_t n, bool nul_bytes) {
  return 1 + (nul_bytes ? 2 * n : n) + 2;
}
constexpr size_t field = key_string(field_name_bytes_max, false);
constexpr size_t user = key_string(user_id_bytes_max, false);
// An indexed value: a string cut to index_value_bytes_max bytes; an array or object of at most
// that many encoded bytes (or its type alone); a number, bool or null of at most key_int.
constexpr size_t value_without_nul = key_string(index_value_bytes_max, false);
constexpr size_t value_with_nul = key_string(index_value_bytes_max, true);
static_assert(value_without_nul >= index_value_bytes_max && value_without_nul >= key_int);

constexpr size_t docs = model + shard + id_bytes_max;
constexpr size_t user_docs = model + partition + user + id_bytes_max;
constexpr size_t owners = model + partition + id_bytes_max;
constexpr size_t tombstones = model + partition + id_bytes_max;
constexpr size_t unique =
    model + partition + field + std::max(index_value_bytes_max, size_t{1 + 32});
constexpr size_t users = partition + user_id_bytes_max;
constexpr size_t index_fixed = model + shard + field + key_int + id_bytes_max;
constexpr size_t gindex_fixed =
    model + partition + field + key_int + key_string(id_bytes_max, false) + user_id_bytes_max;

static_assert(docs <= storage::key_bytes_max);
static_assert(user_docs <= storage::key_bytes_max);
static_assert(owners <= storage::key_bytes_max);
static_assert(tombstones <= storage::key_bytes_max);
static_assert(unique <= storage::key_bytes_max);
static_assert(users <= storage::key_bytes_max);
// Index entries fit unless a string value holds NUL bytes; global index entries fit for
// numbers, booleans and null, and for strings while the id, user and value leave room. The
// rest is refused at write time (above), as these show:
static_assert(index_fixed + value_without_nul <= storage::key_bytes_max);
static_assert(index_fixed + value_with_nul > storage::key_bytes_max);
static_assert(gindex_fixed + key_int <= storage::key_bytes_max);
static_assert(gindex_fixed + value_without_nul > storage::key_bytes_max);
} // namespace worst

using storage::append_key;
using storage::append_key_int;
using storage::append_key_string;
using storage::append_u16;
using storage::append_u32;

std::string model_prefix(uint32_t model_id) {
  std::string out;
  append_u32(out, model_id);
  return out;
}

std::string shard_prefix(uint32_t model_id, uint32_t shard) {
  std::string out;
  append_u32(out, model_id);
  append_u16(out, static_cast<uint16_t>(shard));
  return out;
}

std::string doc_key(uint32_t model_id, uint32_t shard, std::string_view id) {
  auto out = shard_prefix(model_id, shard);
  out.append(id);
  return out;
}

std::string_view id_of_doc_key(std::string_view key) noexcept {
  return key.size() >= 6 ? key.substr(6) : std::string_view{};
}

std::string index_field_prefix(uint32_t model_id, uint32_t shard, std::string_view field) {
  auto out = shard_prefix(model_id, shard);
  append_key_string(out, field);
  return out;
}

void append_index_value(std::string& out, const value& v) {
  if (v.is_string() && v.as_string().size() > index_value_bytes_max) {
    // Cut at exactly the same byte for every long string (keys are bytes, not text): cutting at
    // UTF-8 boundaries would give two strings sharing 199 bytes prefixes of different lengths,
    // whose key order could contradict the strings' order.
    append_key_string(out, std::string_view{v.as_string()}.substr(0, index_value_bytes_max));
    return;
  }
  if ((v.is_array() || v.is_object())) {
    std::string enc;
    append_key(enc, v);
    if (enc.size() > index_value_bytes_max) {
      // Too long to index whole: index the type only; candidates are re-checked anyway.
      out += enc[0];
      out += '\0';
      return;
    }
    out += enc;
    return;
  }
  append_key(out, v);
}

std::string index_value_prefix(uint32_t model_id, uint32_t shard, std::string_view field,
                               const value& v) {
  auto out = index_field_prefix(model_id, shard, field);
  append_index_value(out, v);
  return out;
}

std::string index_key(uint32_t model_id, uint32_t shard, std::string_view field, const value& v,
                      int64_t created_at, std::string_view id) {
  auto out = index_value_prefix(model_id, shard, field, v);
  append_key_int(out, created_at);
  out.append(id);
  return out;
}

namespace {

// The value and createdAt parts that index and global index keys share after the field prefix;
// `rest` is left after them. False for a malformed key.
bool split_value_created(std::string_view key, size_t field_prefix_size,
                         std::string_view& value_part, std::string_view& created_part,
                         std::string_view& rest) noexcept {
  if (key.size() < field_prefix_size)
    return false;
  rest = key.substr(field_prefix_size);
  auto start = rest;
  if (!storage::skip_key(rest))
    return false;
  value_part = start.substr(0, start.size() - rest.size());
  // createdAt: a number key (tag + 10 bytes).
  if (rest.size() < 11 || static_cast<uint8_t>(rest[0]) != storage::key_tag::number)
    return false;
  created_part = rest.substr(0, 11);
  rest.remove_prefix(11);
  return true;
}

} // namespace

bool split_index_key(std::string_view key, size_t field_prefix_size, index_entry& out) noexcept {
  // After createdAt: the id.
  std::string_view rest;
  if (!split_value_created(key, field_prefix_size, out.value_part, out.created_part, rest) ||
      rest.empty())
    return false;
  out.id = rest;
  return true;
}

uint32_t claim_partition_of(std::string_view field_and_value) noexcept {
  return static_cast<uint32_t>(stable_hash(field_and_value) % claim_partitions);
}

uint32_t directory_partition_of(std::string_view id) noexcept {
  return static_cast<uint32_t>(stable_hash(id) % directory_partitions);
}

std::string with_partition(uint32_t model_id, uint32_t partition, std::string_view rest) {
  auto out = shard_prefix(model_id, partition);
  out.append(rest);
  return out;
}

std::string unique_key(uint32_t model_id, std::string_view field, const value& v) {
  std::string out;
  append_key_string(out, field);
  std::string enc;
  append_key(enc, v);
  if (enc.size() <= index_value_bytes_max) {
    out += enc;
  } else {
    // Long values: a digest keeps the key short and equality exact (up to SHA-256 collisions).
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(enc.data()), enc.size(), digest);
    out += '\xfe';
    out.append(reinterpret_cast<const char*>(digest), sizeof digest);
  }
  return with_partition(model_id, claim_partition_of(out), out);
}

std::string tombstone_key(uint32_t model_id, std::string_view id) {
  return with_partition(model_id, directory_partition_of(id), id);
}

uint32_t user_range_of(std::string_view user) noexcept {
  std::string enc;
  append_key_string(enc, user);
  return user_range_of_key(enc);
}

uint32_t user_range_of_key(std::string_view user_key_string) noexcept {
  return static_cast<uint32_t>(stable_hash(user_key_string) % user_ranges);
}

std::string user_range_prefix(uint32_t model_id, uint32_t range) {
  return shard_prefix(model_id, range);
}

std::string user_docs_prefix(uint32_t model_id, std::string_view user) {
  auto out = user_range_prefix(model_id, user_range_of(user));
  append_key_string(out, user);
  return out;
}

std::string user_doc_key(uint32_t model_id, std::string_view user, std::string_view id) {
  auto out = user_docs_prefix(model_id, user);
  out.append(id);
  return out;
}

bool split_user_doc_key(std::string_view key, std::string& user, std::string_view& id) {
  if (key.size() < 6)
    return false;
  auto rest = key.substr(6);
  auto decoded = storage::read_key(rest);
  if (!decoded || !decoded->is_string())
    return false;
  user = decoded->as_string();
  id = rest;
  return true;
}

std::string owner_key(uint32_t model_id, std::string_view id) {
  return with_partition(model_id, directory_partition_of(id), id);
}

std::string user_key(std::string_view user) {
  std::string out;
  append_u16(out, static_cast<uint16_t>(user_range_of(user)));
  out.append(user);
  return out;
}

uint32_t gindex_partition_of(const value& v) noexcept {
  std::string enc;
  append_key(enc, v);
  return static_cast<uint32_t>(stable_hash(enc) % gindex_partitions);
}

std::string gindex_prefix(uint32_t model_id, uint32_t partition) {
  auto out = model_prefix(model_id);
  append_u16(out, static_cast<uint16_t>(partition));
  return out;
}

std::string gindex_key(uint32_t model_id, uint32_t partition, std::string_view field,
                       const value& v, int64_t created_at, std::string_view user,
                       std::string_view id) {
  auto out = gindex_prefix(model_id, partition);
  append_key_string(out, field);
  append_index_value(out, v);
  append_key_int(out, created_at);
  append_key_string(out, id);
  out.append(user);
  return out;
}

bool split_gindex_key(std::string_view key, size_t field_prefix_size, gindex_entry& out) {
  // After createdAt: the id (key string), then the user.
  std::string_view rest;
  if (!split_value_created(key, field_prefix_size, out.value_part, out.created_part, rest))
    return false;
  auto order_start = out.created_part.data();
  auto id = storage::read_key(rest);
  if (!id || !id->is_string() || rest.empty())
    return false;
  out.id = id->as_string();
  out.order_part = std::string_view{order_start, static_cast<size_t>(rest.data() - order_start)};
  out.user = rest;
  return true;
}

std::string shard_count_key(uint32_t model_id, uint32_t shard) {
  return shard_prefix(model_id, shard);
}

std::string user_count_key(uint32_t model_id, uint32_t range) {
  return shard_prefix(model_id, range);
}

std::string to_string(const partition_id& p) {
  const char* kind = "?";
  switch (p.kind) {
  case partition_kind::shard:
    kind = "shard";
    break;
  case partition_kind::user_range:
    kind = "user range";
    break;
  case partition_kind::gindex:
    kind = "global index partition";
    break;
  case partition_kind::claims:
    kind = "claim partition";
    break;
  case partition_kind::directory:
    kind = "directory partition";
    break;
  case partition_kind::users:
    return "users directory range " + std::to_string(p.number);
  }
  return "model " + std::to_string(p.model) + " " + kind + " " + std::to_string(p.number);
}

std::string seq_key(const partition_id& p) {
  std::string out;
  out += static_cast<char>(p.kind);
  append_u32(out, p.model);
  append_u16(out, static_cast<uint16_t>(p.number));
  return out;
}

partition_id partition_of_doc_key(std::string_view key, bool user_scoped) noexcept {
  if (key.size() < 6)
    return {};
  return partition_id{storage::read_u32(key),
                      user_scoped ? partition_kind::user_range : partition_kind::shard,
                      storage::read_u16(key.substr(4))};
}

} // namespace debros::doc_keys
