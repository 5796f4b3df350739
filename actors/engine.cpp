#include "actors/engine.hpp"

#include "caf/actor_system.hpp"
#include "caf/send.hpp"

#include "actors/batch.hpp"
#include "actors/coordinator.hpp"
#include "actors/doc_keys.hpp"
#include "actors/ids.hpp"
#include "actors/placement.hpp"
#include "actors/shard.hpp"
#include "messages/errc.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

constexpr size_t field_name_bytes_max = 64;

caf::error check_field_names(const model_def& def) {
  for (auto& f : def.fields)
    if (f.name.size() > field_name_bytes_max)
      return make_error(errc::invalid_argument,
                        "fields." + f.name.substr(0, 16) + "...: field names are at most 64 bytes");
  return caf::none;
}

template <class R>
void fail(const reply_fn<R>& done, caf::error err) {
  done(caf::expected<R>{std::move(err)});
}

} // namespace

engine::engine(caf::actor_system& sys, storage::environment& env, storage::writer& writer)
    : sys_(sys), env_(env),
      writer_(writer), tables_{env.get_table("docs"), env.get_table("index"),
                               env.get_table("unique"), env.get_table("tombstones")},
      snapshot_(std::make_shared<catalog_snapshot>()) {}

engine::~engine() = default;

caf::expected<std::shared_ptr<model_entry>> engine::make_entry(uint32_t id, model_def def) {
  auto compiled = compiled_model::compile(std::move(def));
  if (!compiled)
    return compiled.error();
  auto entry = std::make_shared<model_entry>();
  entry->id = id;
  entry->model = std::move(*compiled);
  entry->ext = std::make_shared<model_extensions>();
  entry->indexed = local_index_fields(entry->def());
  return entry;
}

// Makes an entry visible to routing. Its shards were spawned with the same entry while its list
// of shard handles was being filled; shards never read that list.
void engine::publish(std::shared_ptr<const model_entry> entry) {
  auto next = std::make_shared<catalog_snapshot>(*snapshot());
  next->models[entry->def().name] = std::move(entry);
  std::lock_guard<std::mutex> guard{mtx_};
  snapshot_ = std::move(next);
}

caf::error engine::load() {
  auto stored = catalog_store::load(env_);
  if (!stored)
    return stored.error();
  for (auto& [id, def] : *stored) {
    auto entry = make_entry(id, std::move(def));
    if (!entry)
      return entry.error();
    for (uint32_t s = 0; s < (*entry)->def().sharding.count; ++s)
      (*entry)->shards.push_back(spawn_shard(sys_, shard_config{*entry, s, &env_, &writer_}));
    publish(std::move(*entry));
  }
  return caf::none;
}

caf::expected<define_outcome> engine::define(model_def def) {
  std::lock_guard<std::mutex> guard{define_mtx_};
  if (auto existing = snapshot()->find(def.name)) {
    if (same_definition(existing->def(), def))
      return define_outcome{existing->def(), false};
    return make_error(errc::conflict, "model " + def.name +
                                          " exists with a different definition; change it "
                                          "with a migration");
  }
  if (auto err = check_field_names(def))
    return err;
  auto probe = compiled_model::compile(def);
  if (!probe)
    return probe.error();
  auto id = catalog_store::save(writer_, env_, def);
  if (!id)
    return id.error();
  auto entry = make_entry(*id, def);
  if (!entry)
    return entry.error();
  for (uint32_t s = 0; s < def.sharding.count; ++s)
    (*entry)->shards.push_back(spawn_shard(sys_, shard_config{*entry, s, &env_, &writer_}));
  publish(*entry);
  return define_outcome{std::move(def), true};
}

std::shared_ptr<const catalog_snapshot> engine::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return snapshot_;
}

caf::expected<std::shared_ptr<const model_entry>> engine::find(std::string_view name) const {
  if (auto e = snapshot()->find(name))
    return e;
  return make_error(errc::not_found, "model " + std::string{name} + " is not defined");
}

caf::error engine::update_extensions(std::string_view model,
                                     const std::function<void(model_extensions&)>& change) {
  std::lock_guard<std::mutex> guard{define_mtx_};
  auto cur = find(model);
  if (!cur)
    return cur.error();
  auto next = std::make_shared<model_entry>(**cur);
  auto ext = std::make_shared<model_extensions>(*next->ext);
  change(*ext);
  next->ext = std::move(ext);
  for (auto& s : next->shards)
    caf::anon_send(s, set_model{next});
  publish(std::move(next));
  return caf::none;
}

caf::error engine::add_before_hook(std::string_view model, hook_point at, before_hook fn) {
  if (at != hook_point::before_create && at != hook_point::before_update &&
      at != hook_point::before_delete)
    return make_error(errc::invalid_argument, "a before-hook needs a before_* hook point");
  return update_extensions(model, [&](model_extensions& ext) {
    auto& list = at == hook_point::before_create   ? ext.before_create
                 : at == hook_point::before_update ? ext.before_update
                                                   : ext.before_delete;
    list.push_back(std::move(fn));
  });
}

caf::error engine::add_after_hook(std::string_view model, hook_point at, after_hook fn) {
  if (at != hook_point::after_create && at != hook_point::after_update &&
      at != hook_point::after_delete)
    return make_error(errc::invalid_argument, "an after-hook needs an after_* hook point");
  return update_extensions(model, [&](model_extensions& ext) {
    auto& list = at == hook_point::after_create   ? ext.after_create
                 : at == hook_point::after_update ? ext.after_update
                                                  : ext.after_delete;
    list.push_back(std::move(fn));
  });
}

caf::error engine::add_validator(std::string_view model, std::string field, field_validator fn) {
  auto entry = find(model);
  if (!entry)
    return entry.error();
  if ((*entry)->def().find_field(field) == nullptr)
    return make_error(errc::invalid_argument, field + " is not a field of " + std::string{model});
  return update_extensions(model, [&](model_extensions& ext) {
    ext.validators.emplace_back(std::move(field), std::move(fn));
  });
}

// -- routing -----------------------------------------------------------------------------------

caf::expected<uint32_t> engine::place(const model_entry& entry, value& doc) const {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  if (doc.find("id") == nullptr)
    doc.as_object().set("id", new_id());
  return shard_of(entry.def(), doc);
}

caf::expected<std::optional<uint32_t>> engine::locate(const model_entry& entry,
                                                      std::string_view id) const {
  auto& def = entry.def();
  if (id.empty() || id.size() > doc_keys::id_bytes_max)
    return std::optional<uint32_t>{};
  if (def.sharding.key == "id")
    return std::optional<uint32_t>{shard_for_key(def.sharding, value{std::string{id}})};
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  for (uint32_t s = 0; s < entry.shards.size(); ++s) {
    auto rec = txn->get(tables_.docs, doc_keys::doc_key(entry.id, s, id));
    if (!rec)
      return rec.error();
    if (*rec)
      return std::optional<uint32_t>{s};
  }
  return std::optional<uint32_t>{};
}

caf::expected<value> engine::get(std::string_view model, std::string_view id) const {
  auto entry = find(model);
  if (!entry)
    return entry.error();
  auto not_found = [&] {
    return make_error(errc::not_found, std::string{model} + "/" + std::string{id} + " not found");
  };
  auto shard = locate(**entry, id);
  if (!shard)
    return shard.error();
  if (!*shard)
    return not_found();
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(tables_.docs, doc_keys::doc_key((*entry)->id, **shard, id));
  if (!rec)
    return rec.error();
  if (!*rec)
    return not_found();
  return storage::decode_record(**rec, "document " + std::string{model} + "/" + std::string{id});
}

void engine::create(std::string model, value doc, reply_fn<value> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  auto shard = place(**entry, doc);
  if (!shard)
    return fail(done, shard.error());
  caf::anon_send(
      (*entry)->shards[*shard],
      local_call<doc_create, value>{doc_create{std::move(model), std::move(doc)}, std::move(done)});
}

// Sends a local call to the shard holding `id`, or fails with not_found.
template <class Op, class R>
void send_to_owner(const engine& eng, const std::string& model, const std::string& id, Op op,
                   reply_fn<R> done) {
  auto entry = eng.find(model);
  if (!entry)
    return fail(done, entry.error());
  auto shard = eng.locate(**entry, id);
  if (!shard)
    return fail(done, shard.error());
  if (!*shard)
    return fail(done, make_error(errc::not_found, model + "/" + id + " not found"));
  caf::anon_send((*entry)->shards[**shard], local_call<Op, R>{std::move(op), std::move(done)});
}

void engine::update(std::string model, std::string id, value fields, bool replace,
                    reply_fn<value> done) {
  doc_update op{model, id, std::move(fields), replace};
  send_to_owner(*this, model, id, std::move(op), std::move(done));
}

void engine::remove(std::string model, std::string id, reply_fn<bool> done) {
  doc_remove op{model, id};
  send_to_owner(*this, model, id, std::move(op), std::move(done));
}

void engine::increment(std::string model, std::string id, std::string field, value by,
                       reply_fn<value> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  doc_increment op{model, id, std::move(field), std::move(by)};
  // Counters are created by their first increment, so route by placement, not by lookup.
  if ((*entry)->def().type == store_type::counter && (*entry)->def().sharding.key == "id") {
    auto shard = shard_for_key((*entry)->def().sharding, value{id});
    caf::anon_send((*entry)->shards[shard],
                   local_call<doc_increment, value>{std::move(op), std::move(done)});
    return;
  }
  send_to_owner(*this, model, id, std::move(op), std::move(done));
}

void engine::run_query(query q, reply_fn<query_result> done) {
  auto entry = find(q.model);
  if (!entry)
    return fail(done, entry.error());
  auto coordinator = spawn_coordinator(sys_, *entry);
  caf::anon_send(coordinator, local_call<query, query_result>{std::move(q), std::move(done)});
}

void engine::create_batch(std::string model, std::vector<value> docs,
                          reply_fn<std::vector<std::string>> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  spawn_batch(*this, *entry, std::move(docs), std::move(done));
}

void engine::stop_actors() {
  for (auto& [name, entry] : snapshot()->models)
    for (auto& s : entry->shards)
      caf::anon_send(s, stop_atom::value);
}

} // namespace debros
