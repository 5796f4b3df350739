#include "actors/catalog.hpp"

#include "actors/guarded.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

namespace debros {

std::shared_ptr<const model_entry> catalog_snapshot::find(std::string_view name) const {
  auto i = models.find(name);
  return i != models.end() ? i->second : nullptr;
}

std::shared_ptr<const model_entry> catalog_snapshot::find(uint32_t id) const {
  auto i = by_id.find(id);
  return i != by_id.end() ? i->second : nullptr;
}

caf::error validate(const model_entry& entry, value& doc, write_mode mode) {
  return guarded("a custom validator", [&] {
    return entry.model->validate(doc, mode, entry.ext ? &entry.ext->validators : nullptr);
  });
}

std::vector<std::string> local_index_fields(const model_def& def) {
  std::vector<std::string> out;
  for (auto& f : def.fields)
    if (f.index != index_kind::none || f.unique)
      out.push_back(f.name);
  out.emplace_back("createdAt");
  return out;
}

namespace catalog_store {

namespace {

constexpr std::string_view next_id_key = "catalog.next_model_id";

} // namespace

caf::expected<std::vector<std::pair<uint32_t, model_def>>> load(storage::environment& env) {
  auto models = env.get_table("models");
  auto r = env.read();
  if (!r)
    return r.error();
  auto c = r->open_cursor(models);
  if (!c)
    return c.error();
  std::vector<std::pair<uint32_t, model_def>> out;
  for (bool ok = c->first(); ok; ok = c->next()) {
    std::string name{c->key()};
    auto rec = storage::decode_record(c->val(), "model " + name);
    if (!rec)
      return rec.error();
    auto* id = rec->find("id");
    auto* def_value = rec->find("definition");
    if (id == nullptr || !id->is_int() || def_value == nullptr)
      return make_error(errc::corruption, "model " + name + ": malformed catalog record");
    auto def = parse_model(name, *def_value);
    if (!def)
      return make_error(errc::corruption, "model " + name + ": stored definition does not parse: " +
                                              message_of(def.error()));
    out.emplace_back(static_cast<uint32_t>(id->as_int()), std::move(*def));
  }
  if (c->error())
    return c->error();
  return out;
}

caf::expected<uint32_t> save(storage::writer& w, storage::environment& env, const model_def& def) {
  auto models = env.get_table("models");
  auto meta = env.get_table("meta");
  uint32_t assigned = 0;
  auto err = w.write([&](storage::write_txn& txn) -> caf::error {
    uint32_t id = 1;
    auto cur = txn.get(meta, next_id_key);
    if (!cur)
      return cur.error();
    if (*cur) {
      if ((*cur)->size() != 4)
        return make_error(errc::corruption, "malformed catalog counter");
      id = storage::read_u32(**cur);
    }
    auto existing = txn.get(models, def.name);
    if (!existing)
      return existing.error();
    if (*existing)
      return make_error(errc::conflict, "model " + def.name + " already exists");
    auto rec = storage::encode_record(
        value{object{{"id", static_cast<int64_t>(id)}, {"definition", to_value(def)}}});
    if (!rec)
      return rec.error();
    std::string next;
    storage::append_u32(next, id + 1);
    if (auto e = txn.put(meta, next_id_key, next))
      return e;
    if (auto e = txn.put(models, def.name, *rec))
      return e;
    assigned = id;
    return caf::none;
  });
  if (err)
    return err;
  return assigned;
}

} // namespace catalog_store

} // namespace debros
