#include "actors/doc_writes.hpp"

#include <algorithm>

#include "actors/catalog.hpp"
#include "actors/doc_counts.hpp"
#include "actors/doc_keys.hpp"
#include "actors/ids.hpp"
#include "actors/placement.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "storage/key_codec.hpp"
#include "storage/outbox.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

const value null_value;

const value& field_of(const value& doc, const std::string& path) {
  auto* v = doc.find_path(path);
  return v != nullptr ? *v : null_value;
}

// The id of a document being planned. A new version passed validation (id is a non-empty
// string); a stored one was checked when it was read (shard.cpp read_doc).
const std::string& id_of(const value& doc) {
  auto* id = doc.find("id");
  DEBROS_ASSERT(id != nullptr && id->is_string() && !id->as_string().empty());
  return id->as_string();
}

int64_t created_of(const value& doc) {
  auto* c = doc.find("createdAt");
  return c != nullptr && c->is_int() ? c->as_int() : 0;
}

// Local index entries: for global models, every indexed field (the node-level index serves all
// shards); user-scoped models keep none (a user's database is scanned), their global indexes go
// through the outbox (gindex_keys).
std::vector<std::string> index_keys(const model_entry& e, const doc_place& place,
                                    const value& doc) {
  std::vector<std::string> out;
  if (place.user_scoped())
    return out;
  auto& id = id_of(doc);
  auto created = created_of(doc);
  for (auto& f : e.indexed)
    out.push_back(doc_keys::index_key(e.id, place.shard, f, field_of(doc, f), created, id));
  return out;
}

// Global index entries of a document, by partition. The owner part is the user of a
// user-scoped document, the shard (2 bytes) of a global one.
std::vector<std::pair<uint32_t, std::string>>
gindex_keys(const model_entry& e, const doc_place& place, const value& doc) {
  std::vector<std::pair<uint32_t, std::string>> out;
  if (e.global_indexed.empty())
    return out;
  std::string owner = place.user;
  if (!place.user_scoped())
    storage::append_u16(owner, static_cast<uint16_t>(place.shard));
  auto& id = id_of(doc);
  auto created = created_of(doc);
  for (auto& f : e.def().fields) {
    if (f.index != index_kind::global)
      continue;
    auto& v = field_of(doc, f.name);
    auto p = doc_keys::gindex_partition_of(v);
    out.emplace_back(p, doc_keys::gindex_key(e.id, p, f.name, v, created, owner, id));
  }
  return out;
}

void add_gindex_ops(write_plan& plan, uint32_t model_id,
                    const std::vector<std::pair<uint32_t, std::string>>& keys, bool put) {
  for (auto& [partition, key] : keys)
    plan.outbox.emplace_back(gindex_channel(model_id, partition),
                             encode_gindex_op(gindex_op{put, key}));
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

doc_tables doc_tables_of(storage::environment& env) {
  return doc_tables{env.get_table("docs"),      env.get_table("shard_index"),
                    env.get_table("claims"),    env.get_table("tombstones"),
                    env.get_table("directory"), env.get_table("users"),
                    env.get_table("outbox"),    env.get_table("counts"),
                    env.get_table("meta"),      env.get_table("seqs")};
}

caf::error check_place(const model_def& def, const doc_place& place, const value& doc) {
  if (place.user_scoped()) {
    auto* user = doc.find("userId");
    if (user == nullptr || !user->is_string() || user->as_string() != place.user)
      return make_error(errc::invalid_argument,
                        "the userId of a document cannot change (it is " + place.user + ")");
    return caf::none;
  }
  if (shard_of(def, doc) != place.shard)
    return make_error(errc::invalid_argument,
                      "the shard key '" + def.sharding.key + "' of a document cannot change");
  return caf::none;
}

std::string doc_key_of(const model_entry& e, const doc_place& place, std::string_view id) {
  return place.user_scoped() ? doc_keys::user_doc_key(e.id, place.user, id)
                             : doc_keys::doc_key(e.id, place.shard, id);
}

namespace {

// The count entry of the documents at `place`: its shard's, or the model's for all users.
std::string count_key_of(const model_entry& e, const doc_place& place) {
  return place.user_scoped() ? doc_keys::user_count_key(e.id, doc_keys::user_range_of(place.user))
                             : doc_keys::shard_count_key(e.id, place.shard);
}

// The partition a key of `kind` belongs to: model | number (2) | ...
doc_keys::partition_id partition_of_key(std::string_view key, doc_keys::partition_kind kind) {
  DEBROS_ASSERT(key.size() >= 6);
  return doc_keys::partition_id{storage::read_u32(key), kind, storage::read_u16(key.substr(4))};
}

// Fills p.touched from the plan's keys: each partition once.
void set_touched(write_plan& p, const model_entry& e, const doc_place& place) {
  using doc_keys::partition_kind;
  auto add = [&](doc_keys::partition_id id) {
    if (std::find(p.touched.begin(), p.touched.end(), id) == p.touched.end())
      p.touched.push_back(id);
  };
  add(doc_keys::partition_of_doc_key(p.doc_key, place.user_scoped()));
  for (auto& k : p.unique_del)
    add(partition_of_key(k, partition_kind::claims));
  for (auto& c : p.unique_put)
    add(partition_of_key(c.key, partition_kind::claims));
  if (!p.owner_key.empty())
    add(partition_of_key(p.owner_key, partition_kind::directory));
  if (!p.tombstone_key.empty())
    add(partition_of_key(p.tombstone_key, partition_kind::directory));
  // The users directory's partition is advanced by apply_plan, only when the user is new.
  (void)e;
}

} // namespace

std::string gindex_channel(uint32_t model_id, uint32_t partition) {
  return "gidx/" + std::to_string(model_id) + "/" + std::to_string(partition);
}

std::string dead_letter_channel(std::string_view channel) {
  return std::string{dead_letter_prefix} + std::string{channel};
}

std::string encode_gindex_op(const gindex_op& op) {
  std::string out;
  out += static_cast<char>(op.put ? 1 : 2);
  out += op.key;
  return out;
}

caf::expected<gindex_op> decode_gindex_op(std::string_view payload) {
  if (payload.size() < 2 || (payload[0] != 1 && payload[0] != 2))
    return make_error(errc::corruption, "malformed global index work item");
  return gindex_op{payload[0] == 1, std::string{payload.substr(1)}};
}

namespace {

// The owners entry of a document whose place its id alone does not give: the user of a
// user-scoped document, the shard of a global one sharded by another field.
void set_owner_parts(write_plan& p, const model_entry& e, const doc_place& place) {
  if (place.user_scoped()) {
    p.owner_key = doc_keys::owner_key(e.id, p.id);
    p.owner = place.user;
  } else if (e.def().sharding.key != "id") {
    p.owner_key = doc_keys::owner_key(e.id, p.id);
    p.owner.clear();
    storage::append_u32(p.owner, place.shard);
  }
}

// The field named by an index, unique or global index key (after `skip` bytes of model id and
// partition), for messages.
std::string field_in_key(std::string_view key, size_t skip) {
  if (key.size() <= skip)
    return "?";
  key.remove_prefix(skip);
  auto f = storage::read_key(key);
  return f && f->is_string() ? f->as_string() : std::string{"?"};
}

// Every key a write derives is checked before the write is acknowledged: a key LMDB cannot
// store would fail the transaction (or, for a global index entry, which its partition writes
// later from the outbox, wedge that partition). Errors: invalid_argument naming the key.
caf::error check_key_sizes(const write_plan& p) {
  auto too_long = [](std::string_view what, size_t n) {
    return make_error(errc::invalid_argument,
                      std::string{what} + " would be " + std::to_string(n) +
                          " bytes; keys are at most " + std::to_string(storage::key_bytes_max) +
                          " bytes (shorten the value, the id or the userId)");
  };
  auto check = [&](std::string_view key, auto describe) -> caf::error {
    if (key.size() <= storage::key_bytes_max)
      return caf::none;
    return too_long(describe(), key.size());
  };
  if (auto err = check(p.doc_key, [] { return std::string{"the document key"}; }))
    return err;
  if (auto err = check(p.owner_key, [] { return std::string{"the owners key"}; }))
    return err;
  if (auto err = check(p.tombstone_key, [] { return std::string{"the tombstone key"}; }))
    return err;
  for (auto& k : p.index_put)
    if (auto err = check(k, [&] { return "the index key of field '" + field_in_key(k, 6) + "'"; }))
      return err;
  for (auto& c : p.unique_put)
    if (auto err = check(c.key, [&] { return "the unique key of field '" + c.field + "'"; }))
      return err;
  for (auto& [channel, payload] : p.outbox) {
    // Global index work: one op byte, then the key its partition will write.
    std::string_view key{payload};
    key.remove_prefix(key.empty() ? 0 : 1);
    if (auto err = check(
            key, [&] { return "the global index key of field '" + field_in_key(key, 6) + "'"; }))
      return err;
  }
  return caf::none;
}

} // namespace

caf::expected<write_plan> plan_create(const model_entry& e, const doc_place& place,
                                      const value& doc) {
  write_plan p;
  p.id = id_of(doc);
  p.doc_key = doc_key_of(e, place, p.id);
  auto rec = record_of(doc);
  if (!rec)
    return rec.error();
  p.record = std::move(*rec);
  // apply_plan reads an empty record as a delete.
  DEBROS_ASSERT(!p.record.empty() && static_cast<uint8_t>(p.record[0]) == storage::record_version);
  p.create = true;
  p.count_key = count_key_of(e, place);
  p.index_put = index_keys(e, place, doc);
  p.unique_put = unique_claims(e, doc);
  if (is_eventlog(e))
    p.tombstone_key = doc_keys::tombstone_key(e.id, p.id);
  set_owner_parts(p, e, place);
  if (place.user_scoped()) {
    auto user = storage::encode_record(value{object{{"id", place.user}, {"createdAt", now_ms()}}});
    if (!user)
      return user.error();
    p.user_record = std::move(*user);
  }
  add_gindex_ops(p, e.id, gindex_keys(e, place, doc), true);
  if (auto err = check_key_sizes(p))
    return err;
  set_touched(p, e, place);
  return p;
}

caf::expected<write_plan> plan_update(const model_entry& e, const doc_place& place,
                                      const value& old_doc, const value& new_doc) {
  write_plan p;
  p.id = id_of(new_doc);
  // An update keeps the id (next_version sets it from the stored document).
  DEBROS_ASSERT(id_of(old_doc) == p.id);
  p.doc_key = doc_key_of(e, place, p.id);
  auto rec = record_of(new_doc);
  if (!rec)
    return rec.error();
  p.record = std::move(*rec);
  DEBROS_ASSERT(!p.record.empty() && static_cast<uint8_t>(p.record[0]) == storage::record_version);
  // Only the entries that change: unchanged index keys and unique values stay untouched.
  auto changed = [](const std::vector<std::string>& from, const std::vector<std::string>& to) {
    std::vector<std::string> out;
    for (auto& k : from)
      if (std::find(to.begin(), to.end(), k) == to.end())
        out.push_back(k);
    return out;
  };
  auto before = index_keys(e, place, old_doc);
  auto after = index_keys(e, place, new_doc);
  p.index_del = changed(before, after);
  p.index_put = changed(after, before);
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
  auto g_before = gindex_keys(e, place, old_doc);
  auto g_after = gindex_keys(e, place, new_doc);
  auto gchanged = [](const auto& from, const auto& to) {
    std::vector<std::pair<uint32_t, std::string>> out;
    for (auto& k : from)
      if (std::find(to.begin(), to.end(), k) == to.end())
        out.push_back(k);
    return out;
  };
  add_gindex_ops(p, e.id, gchanged(g_before, g_after), false);
  add_gindex_ops(p, e.id, gchanged(g_after, g_before), true);
  if (auto err = check_key_sizes(p))
    return err;
  set_touched(p, e, place);
  return p;
}

write_plan plan_delete(const model_entry& e, const doc_place& place, const value& old_doc) {
  write_plan p;
  p.id = id_of(old_doc);
  p.doc_key = doc_key_of(e, place, p.id);
  p.count_key = count_key_of(e, place);
  p.index_del = index_keys(e, place, old_doc);
  for (auto& c : unique_claims(e, old_doc))
    p.unique_del.push_back(c.key);
  if (is_eventlog(e))
    p.tombstone_key = doc_keys::tombstone_key(e.id, p.id);
  set_owner_parts(p, e, place);
  add_gindex_ops(p, e.id, gindex_keys(e, place, old_doc), false);
  set_touched(p, e, place);
  return p;
}

size_t plan_bytes(const write_plan& p) noexcept {
  size_t n = p.id.size() + p.doc_key.size() + p.record.size() + p.tombstone_key.size() +
             p.owner_key.size() + p.owner.size() + p.user_record.size() + p.count_key.size() +
             p.touched.size() * sizeof(doc_keys::partition_id);
  for (auto& k : p.index_del)
    n += k.size();
  for (auto& k : p.index_put)
    n += k.size();
  for (auto& k : p.unique_del)
    n += k.size();
  for (auto& c : p.unique_put)
    n += c.key.size() + c.field.size();
  for (auto& [channel, payload] : p.outbox)
    n += channel.size() + payload.size();
  return n;
}

caf::error apply_plan(storage::write_txn& txn, const doc_tables& t, const write_plan& p) {
  // Before the write: a plan names its document, and its keys were checked against LMDB's
  // limit when it was made (check_key_sizes; a delete's keys were stored, so they fit).
  DEBROS_ASSERT(!p.id.empty() && !p.doc_key.empty());
  DEBROS_ASSERT(p.doc_key.size() <= storage::key_bytes_max);
  // A user database's owner is its user, who gets a users record on the first write.
  DEBROS_ASSERT(p.user_record.empty() || !p.owner.empty());
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
  if (p.create && !p.owner_key.empty()) {
    // Ids are unique across users and shards: the owners table is the one place that says so.
    auto owner = txn.get(t.owners, p.owner_key);
    if (!owner)
      return owner.error();
    if (*owner)
      return make_error(errc::conflict, "a document with id " + p.id + " already exists");
  }
  // The count changes with the docs entry: +1 for a stored create, -1 for a delete that found
  // its document, nothing for an update (a key-value replace included) or a refused create.
  int64_t count_delta = 0;
  if (p.create) {
    if (auto err = txn.put(t.docs, p.doc_key, p.record, MDB_NOOVERWRITE)) {
      if (is(err, errc::conflict))
        return make_error(errc::conflict, "a document with id " + p.id + " already exists");
      return err;
    }
    count_delta = 1;
  } else if (p.record.empty()) {
    auto gone = txn.del(t.docs, p.doc_key);
    if (!gone)
      return gone.error();
    count_delta = *gone ? -1 : 0;
  } else if (auto err = txn.put(t.docs, p.doc_key, p.record)) {
    return err;
  }
  if (count_delta != 0 && !p.count_key.empty())
    if (auto err = doc_counts::add(txn, t.counts, t.meta, p.count_key, count_delta))
      return err;
  for (auto& k : p.index_del)
    if (auto gone = txn.del(t.index, k); !gone)
      return gone.error();
  for (auto& k : p.index_put) {
    DEBROS_ASSERT(!k.empty() && k.size() <= storage::key_bytes_max);
    if (auto err = txn.put(t.index, k, {}))
      return err;
  }
  for (auto& k : p.unique_del)
    if (auto gone = txn.del(t.unique, k); !gone)
      return gone.error();
  for (auto& c : p.unique_put) {
    DEBROS_ASSERT(!c.key.empty() && c.key.size() <= storage::key_bytes_max);
    if (auto err = txn.put(t.unique, c.key, p.id))
      return err;
  }
  if (!p.owner_key.empty()) {
    if (p.create) {
      if (auto err = txn.put(t.owners, p.owner_key, p.owner))
        return err;
    } else if (p.record.empty()) {
      if (auto gone = txn.del(t.owners, p.owner_key); !gone)
        return gone.error();
    }
  }
  if (!p.user_record.empty()) {
    auto key = doc_keys::user_key(p.owner);
    auto known = txn.get(t.users, key);
    if (!known)
      return known.error();
    if (!*known) {
      if (auto err = txn.put(t.users, key, p.user_record))
        return err;
      if (auto err = advance_seq(txn, t.seqs,
                                 doc_keys::partition_id{0, doc_keys::partition_kind::users,
                                                        doc_keys::user_range_of(p.owner)}))
        return err;
    }
  }
  storage::outbox box{t.outbox};
  for (auto& [channel, payload] : p.outbox)
    if (auto seq = box.append(txn, channel, payload); !seq)
      return seq.error();
  if (!p.create && p.record.empty() && !p.tombstone_key.empty()) {
    std::string when;
    storage::append_u64(when, static_cast<uint64_t>(now_ms()));
    if (auto err = txn.put(t.tombstones, p.tombstone_key, when))
      return err;
  }
  for (auto& part : p.touched)
    if (auto err = advance_seq(txn, t.seqs, part))
      return err;
  return caf::none;
}

caf::error advance_seq(storage::write_txn& txn, storage::table seqs,
                       const doc_keys::partition_id& part) {
  auto key = doc_keys::seq_key(part);
  auto cur = txn.get(seqs, key);
  if (!cur)
    return cur.error();
  uint64_t n = 0;
  if (*cur) {
    if ((*cur)->size() != 8)
      return make_error(errc::corruption,
                        "the write sequence of " + doc_keys::to_string(part) + " is not 8 bytes");
    n = storage::read_u64(**cur);
  }
  std::string next;
  storage::append_u64(next, n + 1);
  return txn.put(seqs, key, next);
}

caf::expected<uint64_t> read_seq(const storage::read_txn& txn, storage::table seqs,
                                 const doc_keys::partition_id& part) {
  auto cur = txn.get(seqs, doc_keys::seq_key(part));
  if (!cur)
    return cur.error();
  if (!*cur)
    return uint64_t{0};
  if ((*cur)->size() != 8)
    return make_error(errc::corruption,
                      "the write sequence of " + doc_keys::to_string(part) + " is not 8 bytes");
  return storage::read_u64(**cur);
}

} // namespace debros
