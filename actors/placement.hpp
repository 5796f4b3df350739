// Which shard of a model holds a document: a pure function of the definition and the document,
// so every caller (embedded API, gateway, any node) routes without asking anyone.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "messages/model.hpp"
#include "messages/query.hpp"
#include "messages/value.hpp"

namespace debros {

/// FNV-1a 64 over bytes. Stable across versions and machines: shard placement depends on it.
uint64_t stable_hash(std::string_view bytes) noexcept;

/// The shard for a shard-key value:
/// - hash: stable_hash(order-preserving key encoding of the value) % count, so 1 and 1.0 land
///   together;
/// - range with bounds: the number of bounds <= value (bounds b0 < b1 < ... split the key space);
/// - range without bounds: by the first character of a string, a-z (ASCII case-insensitive)
///   spread evenly over the shards; characters before 'a' go to shard 0, after 'z' to the last
///   shard, non-strings to shard 0;
/// - user: like hash, over the owner's id.
uint32_t shard_for_key(const sharding_def& s, const value& key) noexcept;

/// The shard of `doc`, by the value validation stores: a missing shard key is its field's
/// default (null without one), a shard key field with a transform is placed by its transformed
/// value.
uint32_t shard_of(const model_def& def, const value& doc) noexcept;

/// The shards a query can match in: when the top-level conditions hold `key = v` or `key in
/// [...]` on the shard key (or, for the user strategy, the query has userIn), only those shards;
/// std::nullopt means all of them.
std::optional<std::vector<uint32_t>> shards_for_query(const model_def& def, const query& q);

} // namespace debros
