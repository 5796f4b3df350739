#include "actors/placement.hpp"

#include <algorithm>

#include "storage/key_codec.hpp"

namespace debros {

uint64_t stable_hash(std::string_view bytes) noexcept {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

uint32_t hashed(const value& key, uint32_t count) noexcept {
  std::string enc;
  storage::append_key(enc, key);
  return static_cast<uint32_t>(stable_hash(enc) % count);
}

uint32_t by_letter(const value& key, uint32_t count) noexcept {
  if (!key.is_string() || key.as_string().empty())
    return 0;
  auto c = static_cast<unsigned char>(key.as_string()[0]);
  if (c >= 'A' && c <= 'Z')
    c = static_cast<unsigned char>(c - 'A' + 'a');
  if (c < 'a')
    return 0;
  if (c > 'z')
    return count - 1;
  return static_cast<uint32_t>((c - 'a') * count / 26);
}

} // namespace

uint32_t shard_for_key(const sharding_def& s, const value& key) noexcept {
  auto count = std::max<uint32_t>(s.count, 1);
  switch (s.strategy) {
  case shard_strategy::hash:
  case shard_strategy::user:
    return hashed(key, count);
  case shard_strategy::range:
    if (s.bounds.empty())
      return by_letter(key, count);
    return static_cast<uint32_t>(std::count_if(
        s.bounds.begin(), s.bounds.end(), [&](const value& b) { return compare(b, key) <= 0; }));
  }
  return 0;
}

uint32_t shard_of(const model_def& def, const value& doc) noexcept {
  const value* key = doc.find_path(def.sharding.key);
  // Place by the value validation will store: a missing shard key gets its field's default,
  // and a transformed one ("Alice" stored as "alice") routes the same before and after the
  // transform.
  auto* f = def.find_field(def.sharding.key);
  if (key == nullptr && f != nullptr && f->default_value)
    key = &*f->default_value;
  static const value null_value;
  if (key == nullptr)
    return shard_for_key(def.sharding, null_value);
  if (f != nullptr && f->transform != text_transform::none && key->is_string())
    return shard_for_key(def.sharding, value{apply_transform(f->transform, key->as_string())});
  return shard_for_key(def.sharding, *key);
}

std::optional<std::vector<uint32_t>> shards_for_query(const model_def& def, const query& q) {
  if (def.sharding.count <= 1)
    return std::vector<uint32_t>{0};
  std::optional<std::vector<uint32_t>> best;
  auto consider = [&](std::vector<uint32_t> shards) {
    std::sort(shards.begin(), shards.end());
    shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
    if (!best || shards.size() < best->size())
      best = std::move(shards);
  };
  if (def.sharding.strategy == shard_strategy::user && !q.user_in.empty()) {
    std::vector<uint32_t> shards;
    for (auto& u : q.user_in)
      shards.push_back(shard_for_key(def.sharding, value{u}));
    consider(std::move(shards));
  }
  if (q.where.type != query_expr::kind::all)
    return best;
  for (auto& c : q.where.children) {
    if (c.type != query_expr::kind::cond || c.path != def.sharding.key)
      continue;
    std::vector<uint32_t> shards;
    if (c.op == query_op::eq) {
      shards.push_back(shard_for_key(def.sharding, c.operand));
    } else if (c.op == query_op::in && c.operand.is_array()) {
      for (auto& v : c.operand.as_array())
        shards.push_back(shard_for_key(def.sharding, v));
    } else {
      continue;
    }
    consider(std::move(shards));
  }
  return best;
}

} // namespace debros
