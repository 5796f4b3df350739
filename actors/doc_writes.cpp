#include "actors/doc_writes.hpp"

#include <algorithm>

#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/ids.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

const value null_value;

const value& field_of(const value& doc, const std::string& path) {
  auto* v = doc.find_path(path);
  return v != nullptr ? *v : null_value;
}

int64_t created_of(const value& doc) {
  auto* c = doc.find("createdAt");
  return c != nullptr && c->is_int() ? c->as_int() : 0;
}

std::vector<std::string> index_keys(const model_entry& e, uint32_t shard, const value& doc) {
  std::vector<std::string> out;
  auto& id = doc.find("id")->as_string();
  auto created = created_of(doc);
  for (auto& f : e.indexed)
    out.push_back(doc_keys::index_key(e.id, shard, f, field_of(doc, f), created, id));
  return out;
}

std::vector<unique_claim> unique_claims(const model_entry& e, const value& doc) {
  std::vector<unique_claim> out;
  for (auto& f : e.def().fields) {
    if (!f.unique)
      continue;
    auto& v = field_of(doc, f.name);
    // Missing values do not claim anything: many documents may lack a unique field.
    if (v.is_null())
      continue;
    out.push_back(unique_claim{doc_keys::unique_key(e.id, f.name, v), f.name, v});
  }
  return out;
}

caf::expected<std::string> record_of(const value& doc) {
  return storage::encode_record(doc);
}

bool is_eventlog(const model_entry& e) {
  return e.def().type == store_type::eventlog;
}

} // namespace

caf::expected<write_plan> plan_create(const model_entry& e, uint32_t shard, const value& doc) {
  write_plan p;
  p.id = doc.find("id")->as_string();
  p.doc_key = doc_keys::doc_key(e.id, shard, p.id);
  auto rec = record_of(doc);
  if (!rec)
    return rec.error();
  p.record = std::move(*rec);
  p.create = true;
  p.index_put = index_keys(e, shard, doc);
  p.unique_put = unique_claims(e, doc);
  if (is_eventlog(e))
    p.tombstone_key = doc_keys::tombstone_key(e.id, p.id);
  return p;
}

caf::expected<write_plan> plan_update(const model_entry& e, uint32_t shard, const value& old_doc,
                                      const value& new_doc) {
  write_plan p;
  p.id = new_doc.find("id")->as_string();
  p.doc_key = doc_keys::doc_key(e.id, shard, p.id);
  auto rec = record_of(new_doc);
  if (!rec)
    return rec.error();
  p.record = std::move(*rec);
  // Only the entries that change: unchanged index keys and unique values stay untouched.
  auto before = index_keys(e, shard, old_doc);
  auto after = index_keys(e, shard, new_doc);
  for (auto& k : before)
    if (std::find(after.begin(), after.end(), k) == after.end())
      p.index_del.push_back(k);
  for (auto& k : after)
    if (std::find(before.begin(), before.end(), k) == before.end())
      p.index_put.push_back(k);
  auto old_claims = unique_claims(e, old_doc);
  auto new_claims = unique_claims(e, new_doc);
  auto has = [](const std::vector<unique_claim>& xs, const std::string& key) {
    return std::any_of(xs.begin(), xs.end(), [&](const unique_claim& c) { return c.key == key; });
  };
  for (auto& c : old_claims)
    if (!has(new_claims, c.key))
      p.unique_del.push_back(c.key);
  for (auto& c : new_claims)
    if (!has(old_claims, c.key))
      p.unique_put.push_back(c);
  return p;
}

write_plan plan_delete(const model_entry& e, uint32_t shard, const value& old_doc) {
  write_plan p;
  p.id = old_doc.find("id")->as_string();
  p.doc_key = doc_keys::doc_key(e.id, shard, p.id);
  p.index_del = index_keys(e, shard, old_doc);
  for (auto& c : unique_claims(e, old_doc))
    p.unique_del.push_back(c.key);
  if (is_eventlog(e))
    p.tombstone_key = doc_keys::tombstone_key(e.id, p.id);
  return p;
}

caf::error apply_plan(storage::write_txn& txn, const doc_tables& t, const write_plan& p) {
  // Checks first: nothing changes before every check passed.
  if (p.create && !p.tombstone_key.empty()) {
    auto gone = txn.get(t.tombstones, p.tombstone_key);
    if (!gone)
      return gone.error();
    if (*gone)
      return make_error(errc::conflict,
                        "id " + p.id + " was deleted from this event log; ids are not reused");
  }
  for (auto& c : p.unique_put) {
    auto owner = txn.get(t.unique, c.key);
    if (!owner)
      return owner.error();
    if (*owner && **owner != p.id) {
      auto msg = c.field + " must be unique: " + to_json(c.val) + " is already used";
      return make_error(errc::conflict, msg, {error_detail{c.field, msg}});
    }
  }
  if (p.create) {
    if (auto err = txn.put(t.docs, p.doc_key, p.record, MDB_NOOVERWRITE)) {
      if (is(err, errc::conflict))
        return make_error(errc::conflict, "a document with id " + p.id + " already exists");
      return err;
    }
  } else if (p.record.empty()) {
    if (auto gone = txn.del(t.docs, p.doc_key); !gone)
      return gone.error();
  } else if (auto err = txn.put(t.docs, p.doc_key, p.record)) {
    return err;
  }
  for (auto& k : p.index_del)
    if (auto gone = txn.del(t.index, k); !gone)
      return gone.error();
  for (auto& k : p.index_put)
    if (auto err = txn.put(t.index, k, {}))
      return err;
  for (auto& k : p.unique_del)
    if (auto gone = txn.del(t.unique, k); !gone)
      return gone.error();
  for (auto& c : p.unique_put)
    if (auto err = txn.put(t.unique, c.key, p.id))
      return err;
  if (!p.create && p.record.empty() && !p.tombstone_key.empty()) {
    std::string when;
    storage::append_u64(when, static_cast<uint64_t>(now_ms()));
    if (auto err = txn.put(t.tombstones, p.tombstone_key, when))
      return err;
  }
  return caf::none;
}

} // namespace debros
