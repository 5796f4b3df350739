#include "actors/doc_counts.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>

#include "actors/doc_keys.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

namespace debros::doc_counts {

namespace {

constexpr size_t count_bytes = 8;
// The longest count key: model id (4) and shard (2).
static_assert(4 + 2 <= storage::key_bytes_max);

caf::error malformed(std::string_view key) {
  std::string where = key.size() >= 4 ? std::to_string(storage::read_u32(key)) : "?";
  return make_error(errc::corruption,
                    "the document count of model id " + where + " is not an 8-byte integer");
}

std::string encode(uint64_t n) {
  std::string out;
  storage::append_u64(out, n);
  return out;
}

} // namespace

caf::error add(storage::write_txn& txn, storage::table counts, storage::table meta,
               std::string_view key, int64_t delta) {
  auto cur = txn.get(counts, key);
  if (!cur)
    return cur.error();
  uint64_t n = 0;
  if (*cur) {
    if ((*cur)->size() != count_bytes)
      return malformed(key);
    n = storage::read_u64(**cur);
  }
  if (delta < 0 && n < static_cast<uint64_t>(-delta)) {
    // Fewer counted than deleted: the counts missed writes. Keep them usable, and count again
    // at the next start.
    std::fprintf(stderr,
                 "debros: the document count of model id %u fell below zero; the counts are "
                 "recounted at the next start\n",
                 storage::read_u32(key));
    if (auto gone = txn.del(meta, version_key); !gone)
      return gone.error();
    n = 0;
  } else {
    n += static_cast<uint64_t>(delta);
  }
  return txn.put(counts, key, encode(n));
}

caf::expected<uint64_t> read(const storage::read_txn& txn, storage::table counts,
                             uint32_t model_id) {
  auto prefix = doc_keys::model_prefix(model_id);
  auto c = txn.open_cursor(counts);
  if (!c)
    return c.error();
  uint64_t total = 0;
  for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix;
       ok = c->next()) {
    if (c->val().size() != count_bytes)
      return malformed(c->key());
    total += storage::read_u64(c->val());
  }
  if (c->error())
    return c->error();
  return total;
}

namespace {

struct count_tables {
  storage::table docs;
  storage::table counts;
  storage::table meta;
};

// Counts every document of the models in `user_scoped` (model id -> whether it is user-scoped)
// and replaces the counts with the result. Runs inside one write transaction and may run more
// than once (the writer redoes a batch after the map grew), so it starts from nothing each
// time. `total` gets the number of documents counted.
caf::error recount(storage::write_txn& txn, const count_tables& t,
                   const std::unordered_map<uint32_t, bool>& user_scoped, uint64_t& total) {
  total = 0;
  std::map<std::string, uint64_t> counts;
  {
    auto c = txn.open_cursor(t.docs);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto key = c->key();
      if (key.size() < 4)
        return make_error(errc::corruption, "a docs key is shorter than its model id");
      auto model = storage::read_u32(key);
      auto it = user_scoped.find(model);
      if (it == user_scoped.end())
        continue; // no model of the catalog: nothing reads these
      // Both layouts put the partition after the model: the shard, or the user range.
      if (key.size() < 6)
        return make_error(errc::corruption, "a docs key of model id " + std::to_string(model) +
                                                " is shorter than its partition");
      auto part = storage::read_u16(key.substr(4));
      ++counts[it->second ? doc_keys::user_count_key(model, part)
                          : doc_keys::shard_count_key(model, part)];
      ++total;
    }
    if (c->error())
      return c->error();
  }
  {
    auto c = txn.open_cursor(t.counts);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok;) {
      if (auto err = c->del_current())
        return err;
      ok = c->valid();
    }
    if (c->error())
      return c->error();
  }
  for (auto& [key, n] : counts)
    if (auto err = txn.put(t.counts, key, encode(n)))
      return err;
  return txn.put(t.meta, version_key, version);
}

} // namespace

caf::expected<bool> ensure(storage::environment& env, storage::writer& w,
                           const std::vector<model_ref>& models) {
  count_tables t{env.get_table("docs"), env.get_table("counts"), env.get_table("meta")};
  {
    auto r = env.read();
    if (!r)
      return r.error();
    auto v = r->get(t.meta, version_key);
    if (!v)
      return v.error();
    if (*v && **v == version)
      return false;
  }
  std::unordered_map<uint32_t, bool> user_scoped;
  for (auto& m : models)
    user_scoped[m.id] = m.user_scoped;
  uint64_t total = 0;
  auto t0 = std::chrono::steady_clock::now();
  if (auto err =
          w.write([&](storage::write_txn& txn) { return recount(txn, t, user_scoped, total); }))
    return err;
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  // A new store has nothing to count: say it only for a store that has models.
  if (!models.empty())
    std::fprintf(stderr,
                 "debros: counted %llu documents of %zu models in %lld ms (once: the store "
                 "predates counts of this layout)\n",
                 static_cast<unsigned long long>(total), models.size(), static_cast<long long>(ms));
  return true;
}

} // namespace debros::doc_counts
