#include "actors/layout_upgrade.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "actors/doc_keys.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

namespace debros::layout_upgrade {

namespace {

// The new key of an old one, std::nullopt when `key` is already new; an error when it is
// neither.
using convert_fn = std::function<caf::expected<std::optional<std::string>>(std::string_view)>;

struct step {
  const char* what;
  storage::table from;
  storage::table to;
  convert_fn convert;
};

caf::error malformed(const char* what, std::string_view key) {
  return make_error(errc::corruption, std::string{"cannot upgrade the store: a "} + what +
                                          " key of " + std::to_string(key.size()) +
                                          " bytes is in neither layout 1 nor layout 2");
}

// A layout-2 key: the model of the layout-1 key `old`, then `number`, then `rest`.
std::string with_u16(std::string_view old, uint32_t number, std::string_view rest) {
  return doc_keys::with_partition(storage::read_u32(old), number, rest);
}

// index: model | field | value | createdAt (11) | shard (2) | id -> model | shard | field |
// value | createdAt | id. Every key of the old table is old.
caf::expected<std::optional<std::string>> convert_index(std::string_view key) {
  if (key.size() < 4)
    return malformed("index", key);
  auto rest = key.substr(4);
  auto start = rest;
  if (!storage::skip_key(rest) || !storage::skip_key(rest) || rest.size() < 11 + 2 + 1)
    return malformed("index", key);
  auto field_value_created = start.substr(0, start.size() - rest.size() + 11);
  rest.remove_prefix(11);
  auto shard = storage::read_u16(rest);
  auto out = with_u16(key, shard, field_value_created);
  out.append(rest.substr(2));
  return std::optional<std::string>{std::move(out)};
}

// unique: model | field | value -> model | claim partition | field | value.
caf::expected<std::optional<std::string>> convert_unique(std::string_view key) {
  if (key.size() < 5)
    return malformed("unique", key);
  auto rest = key.substr(4);
  return std::optional<std::string>{with_u16(key, doc_keys::claim_partition_of(rest), rest)};
}

// owners and tombstones: model | id -> model | directory partition | id. Ids start with a
// printable byte; a new key has a zero byte there (the partition's high byte).
caf::expected<std::optional<std::string>> convert_by_id(const char* what, std::string_view key) {
  if (key.size() < 5)
    return malformed(what, key);
  if (key[4] == '\0')
    return std::optional<std::string>{};
  auto id = key.substr(4);
  return std::optional<std::string>{with_u16(key, doc_keys::directory_partition_of(id), id)};
}

// docs of user-scoped models: model | user (key string) | id -> model | range | user | id.
// Documents of global models (model | shard | id) are new already.
caf::expected<std::optional<std::string>>
convert_doc(const std::unordered_set<uint32_t>& user_scoped, std::string_view key) {
  if (key.size() < 6)
    return malformed("docs", key);
  if (!user_scoped.contains(storage::read_u32(key)) ||
      static_cast<uint8_t>(key[4]) != storage::key_tag::string)
    return std::optional<std::string>{};
  auto rest = key.substr(4);
  auto start = rest;
  if (!storage::skip_key(rest))
    return malformed("docs", key);
  auto user_ks = start.substr(0, start.size() - rest.size());
  return std::optional<std::string>{with_u16(key, doc_keys::user_range_of_key(user_ks), start)};
}

// users: user id -> range | user id.
caf::expected<std::optional<std::string>> convert_user(std::string_view key) {
  if (key.empty())
    return malformed("users", key);
  if (key[0] == '\0')
    return std::optional<std::string>{};
  return std::optional<std::string>{doc_keys::user_key(key)};
}

// Converts at most `n` old entries of `s` from `resume` on, in `txn`. Returns the number
// converted (0: none left) and sets `next` to where the next batch starts.
caf::expected<size_t> run_batch(storage::write_txn& txn, const step& s, size_t n,
                                const std::string& resume, std::string& next) {
  std::vector<std::pair<std::string, std::string>> old_entries;
  std::vector<std::string> new_keys;
  {
    auto c = txn.open_cursor(s.from);
    if (!c)
      return c.error();
    for (bool ok = resume.empty() ? c->first() : c->seek(resume); ok && old_entries.size() < n;
         ok = c->next()) {
      auto converted = s.convert(c->key());
      if (!converted)
        return converted.error();
      if (!*converted)
        continue;
      old_entries.emplace_back(std::string{c->key()}, std::string{c->val()});
      new_keys.push_back(std::move(**converted));
    }
    if (c->error())
      return c->error();
  }
  for (size_t i = 0; i < old_entries.size(); ++i) {
    auto& [key, val] = old_entries[i];
    if (auto gone = txn.del(s.from, key); !gone)
      return gone.error();
    if (new_keys[i].size() > storage::key_bytes_max)
      return make_error(errc::corruption, std::string{"cannot upgrade the store: a "} + s.what +
                                              " key would be " +
                                              std::to_string(new_keys[i].size()) + " bytes");
    if (auto err = txn.put(s.to, new_keys[i], val))
      return err;
  }
  // Moves to another table empty the old one from its start; in place, the next batch goes on
  // after the last converted key (its new key sorts before every old key of its model).
  next = s.from.dbi == s.to.dbi && !old_entries.empty() ? old_entries.back().first : std::string{};
  return old_entries.size();
}

} // namespace

caf::expected<report> ensure(storage::environment& env, storage::writer& w,
                             const std::vector<doc_counts::model_ref>& models, const options& opt) {
  auto meta = env.get_table("meta");
  {
    auto r = env.read();
    if (!r)
      return r.error();
    auto v = r->get(meta, version_key);
    if (!v)
      return v.error();
    if (*v) {
      if (**v == version)
        return report{false, true, 0};
      return make_error(errc::corruption, "the store is in layout " + std::string{**v} +
                                              ", which this version of Debros does not know "
                                              "(it knows layouts 1 and 2)");
    }
  }
  std::unordered_set<uint32_t> user_scoped;
  for (auto& m : models)
    if (m.user_scoped)
      user_scoped.insert(m.id);
  std::vector<step> steps{
      {"index", env.get_table("index"), env.get_table("shard_index"), convert_index},
      {"unique", env.get_table("unique"), env.get_table("claims"), convert_unique},
      {"owners", env.get_table("owners"), env.get_table("directory"),
       [](std::string_view k) { return convert_by_id("owners", k); }},
      {"tombstones", env.get_table("tombstones"), env.get_table("tombstones"),
       [](std::string_view k) { return convert_by_id("tombstones", k); }},
      {"docs", env.get_table("docs"), env.get_table("docs"),
       [&](std::string_view k) { return convert_doc(user_scoped, k); }},
      {"users", env.get_table("users"), env.get_table("users"), convert_user},
  };
  report out;
  size_t batches = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto ms = [&] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  };
  for (auto& s : steps) {
    std::string resume;
    uint64_t moved = 0;
    for (;;) {
      if (batches == opt.max_batches)
        return out;
      size_t n = 0;
      std::string next;
      // The writer may run a batch twice (after the map grew): it starts from `resume` each time.
      if (auto err = w.write([&](storage::write_txn& txn) -> caf::error {
            auto done = run_batch(txn, s, opt.batch_entries, resume, next);
            if (!done)
              return done.error();
            n = *done;
            return caf::none;
          }))
        return err;
      ++batches;
      if (n == 0)
        break;
      out.upgraded = true;
      out.entries += n;
      moved += n;
      resume = std::move(next);
      if (moved % 1000000 < n)
        std::fprintf(stderr, "debros: upgrading the store to layout 2: %llu %s entries so far\n",
                     static_cast<unsigned long long>(moved), s.what);
    }
    if (moved > 0)
      std::fprintf(stderr, "debros: upgraded %llu %s entries to layout 2 (%lld ms so far)\n",
                   static_cast<unsigned long long>(moved), s.what, ms());
  }
  if (auto err =
          w.write([&](storage::write_txn& txn) { return txn.put(meta, version_key, version); }))
    return err;
  out.finished = true;
  if (out.upgraded)
    std::fprintf(stderr, "debros: the store is in layout 2 (%llu entries converted in %lld ms)\n",
                 static_cast<unsigned long long>(out.entries), ms());
  return out;
}

} // namespace debros::layout_upgrade
