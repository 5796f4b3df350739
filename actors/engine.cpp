#include "actors/engine.hpp"

#include <cstdio>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"

#include "actors/batch.hpp"
#include "actors/coordinator.hpp"
#include "actors/doc_counts.hpp"
#include "actors/doc_keys.hpp"
#include "actors/edge.hpp"
#include "actors/gindex.hpp"
#include "actors/ids.hpp"
#include "actors/layout_upgrade.hpp"
#include "actors/placement.hpp"
#include "actors/relations.hpp"
#include "actors/shard.hpp"
#include "actors/userdb_host.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "messages/names.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

using watch_atom = caf::atom_constant<caf::atom("watch")>;

// Monitors the engine's partitions; one that fails (any exit but a normal one) is respawned.
caf::behavior supervisor_main(caf::event_based_actor* self, engine* eng) {
  self->set_down_handler([eng](caf::down_msg& dm) {
    if (dm.reason) // a normal exit (stop, passivation) carries no error
      eng->respawn(dm.source, dm.reason);
  });
  return {
      [self](watch_atom, const caf::actor& partition) { self->monitor(partition); },
      [self](stop_atom) { self->quit(); },
  };
}

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
    : sys_(sys), env_(env), writer_(writer), tables_(doc_tables_of(env)),
      snapshot_(std::make_shared<catalog_snapshot>()),
      userdb_stats_(std::make_shared<userdb_stats>()),
      relation_cache_(std::make_unique<result_cache<value>>(gens_)),
      query_cache_(std::make_unique<result_cache<query_result>>(gens_)) {
  supervisor_ = sys_.spawn(supervisor_main, this);
  auto threads = std::max<size_t>(caf::get_or(sys_.config(), "scheduler.max-threads",
                                              size_t{std::thread::hardware_concurrency()}),
                                  1);
  for (size_t i = 0; i < threads; ++i)
    edges_.push_back(spawn_edge(sys_));
}

template <class Op, class R>
void engine::call(const caf::actor& target, Op op, reply_fn<R> done,
                  std::chrono::milliseconds deadline) const {
  // One edge per target: calls from one thread to one partition keep their order (each hop is
  // a FIFO mailbox), as the operations of one document must.
  auto& edge = edges_[target.id() % edges_.size()];
  caf::anon_send(edge, edge_call<Op, R>{target, std::move(op), std::move(done), deadline});
}

void engine::watch(const caf::actor& partition) {
  caf::anon_send(supervisor_, watch_atom::value, partition);
}

void engine::respawn(const caf::actor_addr& dead, const caf::error& reason) {
  if (stopping_.load())
    return;
  std::lock_guard<std::mutex> guard{define_mtx_};
  auto report = [&](const char* what, uint32_t i, const std::string& model) {
    respawns_.fetch_add(1);
    std::fprintf(stderr, "debros: %s %u of model %s failed (%s); respawned\n", what, i,
                 model.c_str(), caf::to_string(reason).c_str());
  };
  for (auto& [name, cur] : snapshot()->models) {
    for (uint32_t i = 0; i < cur->shards.size(); ++i) {
      if (cur->shards[i].address() != dead)
        continue;
      auto next = std::make_shared<model_entry>(*cur);
      next->shards[i] = spawn_shard(
          sys_,
          shard_config{
              next, doc_place{i, {}}, &env_, &writer_, {}, {}, &gens_, limits_.queued_ops_max});
      watch(caf::actor_cast<caf::actor>(next->shards[i]));
      report("shard", i, name);
      publish(std::move(next));
      return;
    }
    for (uint32_t i = 0; i < cur->gindex.size(); ++i) {
      if (cur->gindex[i].address() != dead)
        continue;
      auto next = std::make_shared<model_entry>(*cur);
      next->gindex[i] =
          spawn_gindex(sys_, gindex_config{next, i, &env_, &writer_, limits_.held_queries_max});
      watch(caf::actor_cast<caf::actor>(next->gindex[i]));
      report("global index partition", i, name);
      publish(std::move(next));
      return;
    }
  }
}

void engine::start_hosts(size_t hosts, size_t live_max, std::chrono::milliseconds idle) {
  hosts = std::max<size_t>(hosts, 1);
  for (size_t h = 0; h < hosts; ++h)
    hosts_.push_back(spawn_userdb_host(
        sys_,
        userdb_host_config{&env_, &writer_, std::max<size_t>(live_max / hosts, 1), idle,
                           userdb_stats_, &gens_, limits_.queued_ops_max,
                           [this](const std::string& model) { return snapshot()->find(model); }}));
}

caf::expected<caf::actor> engine::resolve(const doc_keys::partition_id& p) const {
  using doc_keys::partition_kind;
  auto missing = [&] {
    return make_error(errc::unavailable, "no actor is placed for " + doc_keys::to_string(p));
  };
  auto entry = snapshot()->find(p.model);
  if (!entry)
    return make_error(errc::not_found, "no model has id " + std::to_string(p.model));
  switch (p.kind) {
  case partition_kind::shard:
    if (p.number >= entry->shards.size())
      return missing();
    return caf::actor_cast<caf::actor>(entry->shards[p.number]);
  case partition_kind::gindex:
    if (p.number >= entry->gindex.size())
      return missing();
    return caf::actor_cast<caf::actor>(entry->gindex[p.number]);
  case partition_kind::user_range:
    if (entry->def().scope != model_scope::user || p.number >= doc_keys::user_ranges ||
        hosts_.empty())
      return missing();
    return hosts_[p.number % hosts_.size()];
  default:
    // Claim, directory and users partitions are written by the partition that owns the
    // document, in its transaction (docs/architecture.md): they have no actor yet.
    return missing();
  }
}

const caf::actor& engine::host_of(std::string_view user) const {
  // By user range (doc_keys.hpp): a host's users are whole ranges, which its scans of every
  // user's database walk without skipping other hosts' users one by one.
  return hosts_[doc_keys::user_range_of(user) % hosts_.size()];
}

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
  for (auto& f : entry->def().fields)
    if (f.index == index_kind::global)
      entry->global_indexed.push_back(f.name);
  return entry;
}

// Global index partitions of fields indexed "global"; global models: their shards (user
// databases are activated on demand by the hosts).
void engine::spawn_partitions(const std::shared_ptr<model_entry>& entry) {
  if (!entry->global_indexed.empty())
    for (uint32_t p = 0; p < doc_keys::gindex_partitions; ++p) {
      entry->gindex.push_back(
          spawn_gindex(sys_, gindex_config{entry, p, &env_, &writer_, limits_.held_queries_max}));
      watch(caf::actor_cast<caf::actor>(entry->gindex.back()));
    }
  if (entry->def().scope == model_scope::user)
    return;
  for (uint32_t s = 0; s < entry->def().sharding.count; ++s) {
    entry->shards.push_back(spawn_shard(
        sys_,
        shard_config{
            entry, doc_place{s, {}}, &env_, &writer_, {}, {}, &gens_, limits_.queued_ops_max}));
    watch(caf::actor_cast<caf::actor>(entry->shards.back()));
  }
}

// Makes an entry visible to routing. Its shards were spawned with the same entry while its list
// of shard handles was being filled; shards never read that list.
void engine::publish(std::shared_ptr<const model_entry> entry) {
  auto next = std::make_shared<catalog_snapshot>(*snapshot());
  next->by_id[entry->id] = entry;
  next->models[entry->def().name] = std::move(entry);
  std::lock_guard<std::mutex> guard{mtx_};
  snapshot_ = std::move(next);
}

caf::error engine::load() {
  auto stored = catalog_store::load(env_);
  if (!stored)
    return stored.error();
  // Before any write: a store from before kept document counts is counted once.
  std::vector<doc_counts::model_ref> refs;
  for (auto& [id, def] : *stored)
    refs.push_back(doc_counts::model_ref{id, def.scope == model_scope::user});
  // A store of layout 1 is upgraded first (actors/layout_upgrade.hpp), then counted.
  if (auto up = layout_upgrade::ensure(env_, writer_, refs); !up)
    return up.error();
  if (auto counted = doc_counts::ensure(env_, writer_, refs); !counted)
    return counted.error();
  for (auto& [id, def] : *stored) {
    auto entry = make_entry(id, std::move(def));
    if (!entry)
      return entry.error();
    spawn_partitions(*entry);
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
  // A definition built in C++ meets every rule of a JSON one (a definition stored here must
  // load again at the next start): its JSON form is parsed like any other.
  auto checked = parse_model(def.name, to_value(def));
  if (!checked)
    return checked.error();
  auto probe = compiled_model::compile(def);
  if (!probe)
    return probe.error();
  auto id = catalog_store::save(writer_, env_, def);
  if (!id)
    return id.error();
  auto entry = make_entry(*id, def);
  if (!entry)
    return entry.error();
  spawn_partitions(*entry);
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
  for (auto& g : next->gindex)
    caf::anon_send(g, set_model{next});
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

caf::expected<doc_place> engine::place(const model_entry& entry, value& doc) const {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  if (doc.find("id") == nullptr)
    doc.as_object().set("id", new_id());
  if (entry.def().scope == model_scope::user) {
    auto* user = doc.find("userId");
    if (user == nullptr || !user->is_string() || user->as_string().empty() ||
        user->as_string().size() > doc_keys::id_bytes_max) {
      // The document cannot be placed; report every rule it breaks, not only its owner.
      auto copy = doc;
      // Embedder validators run here on the caller's thread (guarded, as in the shard).
      auto err = validate(entry, copy, write_mode::create);
      if (err)
        return err;
      return make_error(errc::validation_failed, "userId is required",
                        {error_detail{"userId", "userId is required (a non-empty string)"}});
    }
    return doc_place{0, user->as_string()};
  }
  return doc_place{shard_of(entry.def(), doc), {}};
}

caf::expected<std::optional<doc_place>>
engine::locate(const model_entry& entry, std::string_view id, std::string_view user_hint) const {
  auto& def = entry.def();
  if (id.empty() || id.size() > doc_keys::id_bytes_max)
    return std::optional<doc_place>{};
  if (def.scope == model_scope::user) {
    if (!user_hint.empty())
      return std::optional<doc_place>{doc_place{0, std::string{user_hint}}};
    // Ids are unique across users: the owners table finds the database.
    auto txn = env_.read();
    if (!txn)
      return txn.error();
    auto owner = txn->get(tables_.owners, doc_keys::owner_key(entry.id, id));
    if (!owner)
      return owner.error();
    if (!*owner)
      return std::optional<doc_place>{};
    return std::optional<doc_place>{doc_place{0, std::string{**owner}}};
  }
  if (def.sharding.key == "id")
    return std::optional<doc_place>{
        doc_place{shard_for_key(def.sharding, value{std::string{id}}), {}}};
  // Sharded by another field: the owners table holds the document's shard.
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto owner = txn->get(tables_.owners, doc_keys::owner_key(entry.id, id));
  if (!owner)
    return owner.error();
  if (!*owner)
    return std::optional<doc_place>{};
  if ((*owner)->size() != 4 || storage::read_u32(**owner) >= entry.shards.size())
    return make_error(errc::corruption,
                      "malformed owners entry of " + def.name + "/" + std::string{id});
  return std::optional<doc_place>{doc_place{storage::read_u32(**owner), {}}};
}

caf::expected<value> engine::get(std::string_view model, std::string_view id,
                                 std::string_view user_hint) const {
  auto entry = find(model);
  if (!entry)
    return entry.error();
  auto not_found = [&] {
    return make_error(errc::not_found, std::string{model} + "/" + std::string{id} + " not found");
  };
  auto where = locate(**entry, id, user_hint);
  if (!where)
    return where.error();
  if (!*where)
    return not_found();
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(tables_.docs, doc_key_of(**entry, **where, id));
  if (!rec)
    return rec.error();
  if (!*rec)
    return not_found();
  return storage::decode_record(**rec, "document " + std::string{model} + "/" + std::string{id});
}

template <class Op, class R>
void engine::send_to(const std::shared_ptr<const model_entry>& entry, const doc_place& where, Op op,
                     reply_fn<R> done) const {
  // The owner, through the placement directory.
  using doc_keys::partition_kind;
  auto owner = resolve(where.user_scoped()
                           ? doc_keys::partition_id{entry->id, partition_kind::user_range,
                                                    doc_keys::user_range_of(where.user)}
                           : doc_keys::partition_id{entry->id, partition_kind::shard, where.shard});
  if (!owner)
    return fail(done, owner.error());
  if (where.user_scoped()) {
    call(*owner, for_user<Op>{entry->def().name, where.user, std::move(op)}, std::move(done),
         request_timeout_);
    return;
  }
  call(*owner, std::move(op), std::move(done), request_timeout_);
}

void engine::create(std::string model, value doc, reply_fn<value> done, std::string as_user) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  auto where = place(**entry, doc);
  if (!where)
    return fail(done, where.error());
  send_to(*entry, *where, doc_create{std::move(model), std::move(doc), std::move(as_user)},
          std::move(done));
}

// Sends an operation to the actor owning document `id`, or fails with not_found.
template <class Op, class R>
void engine::send_to_owner(const std::string& model, const std::string& id, Op op,
                           reply_fn<R> done) const {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  auto where = locate(**entry, id, {});
  if (!where)
    return fail(done, where.error());
  if (!*where)
    return fail(done, make_error(errc::not_found, model + "/" + id + " not found"));
  send_to(*entry, **where, std::move(op), std::move(done));
}

void engine::update(std::string model, std::string id, value fields, bool replace,
                    reply_fn<value> done, std::string as_user) {
  doc_update op{model, id, std::move(fields), replace, std::move(as_user)};
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::remove(std::string model, std::string id, reply_fn<bool> done, std::string as_user) {
  doc_remove op{model, id, std::move(as_user)};
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::increment(std::string model, std::string id, std::string field, value by,
                       reply_fn<value> done, std::string as_user) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  doc_increment op{model, id, std::move(field), std::move(by), std::move(as_user)};
  auto& def = (*entry)->def();
  // Global counters are created by their first increment, so route by placement, not lookup.
  if (def.type == store_type::counter && def.scope == model_scope::global &&
      def.sharding.key == "id") {
    auto shard = shard_for_key(def.sharding, value{id});
    return send_to(*entry, doc_place{shard, {}}, std::move(op), std::move(done));
  }
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::run_query(query q, reply_fn<query_result> done) {
  auto entry = find(q.model);
  if (!entry)
    return fail(done, entry.error());
  // The coordinator asks each partition with the call deadline and names one that does not
  // answer; the edge's own deadline is a backstop beyond it (and beyond relation loading).
  auto coordinator = spawn_coordinator(*this, *entry);
  call(caf::actor_cast<caf::actor>(coordinator), std::move(q), std::move(done),
       3 * request_timeout_);
}

void engine::create_batch(std::string model, std::vector<value> docs,
                          reply_fn<std::vector<std::string>> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  spawn_batch(*this, *entry, std::move(docs), std::move(done));
}

void engine::stop_actors() {
  stopping_.store(true);
  caf::anon_send(supervisor_, stop_atom::value);
  for (auto& [name, entry] : snapshot()->models) {
    for (auto& s : entry->shards)
      caf::anon_send(s, stop_atom::value);
    for (auto& g : entry->gindex)
      caf::anon_send(g, stop_atom::value);
  }
  for (auto& h : hosts_)
    caf::anon_send(h, stop_atom::value);
  for (auto& e : edges_)
    caf::anon_send(e, stop_atom::value);
}

// -- users -------------------------------------------------------------------------------------

caf::error engine::check_user_id(std::string_view user) {
  // The one rule of messages/names.hpp, also for embedders that bypass the gateway.
  return check_name(name_kind::user_id, user);
}

void engine::ensure_user(std::string user, reply_fn<bool> done) {
  if (auto err = check_user_id(user))
    return fail(done, std::move(err));
  auto rec = storage::encode_record(value{object{{"id", user}, {"createdAt", now_ms()}}});
  if (!rec)
    return fail(done, rec.error());
  auto created = std::make_shared<bool>(false);
  auto table = tables_.users;
  auto seqs = tables_.seqs;
  auto* sys = &sys_;
  writer_.submit(
      [table, seqs, user, rec = std::move(*rec), created](storage::write_txn& txn) -> caf::error {
        auto key = doc_keys::user_key(user);
        auto known = txn.get(table, key);
        if (!known)
          return known.error();
        *created = !*known;
        if (*known)
          return caf::none;
        if (auto err = txn.put(table, key, rec))
          return err;
        return advance_seq(txn, seqs,
                           doc_keys::partition_id{0, doc_keys::partition_kind::users,
                                                  doc_keys::user_range_of(user)});
      },
      [sys, created, done = std::move(done)](const caf::error& err) {
        // Completions run on the writer thread, which must not block: `done` (which may read
        // the user's record and count its documents) runs in a one-shot actor instead.
        auto r = err ? caf::expected<bool>{err} : caf::expected<bool>{*created};
        // The values go as spawn arguments: CAF 0.17.6 dereferences a null argument tuple for a
        // functor spawned with none (UBSan: reference binding to null pointer).
        sys->spawn([](caf::event_based_actor*, const std::function<void(caf::expected<bool>)>& f,
                      const caf::expected<bool>& x) { f(x); },
                   done, r);
      });
}

caf::expected<uint64_t> engine::document_count(const model_entry& entry) const {
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  return doc_counts::read(*txn, tables_.counts, entry.id);
}

caf::expected<std::map<std::string, uint64_t, std::less<>>>
engine::document_counts(const catalog_snapshot& models) const {
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  std::map<std::string, uint64_t, std::less<>> out;
  for (auto& [name, entry] : models.models) {
    auto n = doc_counts::read(*txn, tables_.counts, entry->id);
    if (!n)
      return n.error();
    out.emplace(name, *n);
  }
  return out;
}

caf::expected<value> engine::get_user(std::string_view user) const {
  if (auto err = check_user_id(user))
    return err;
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(tables_.users, doc_keys::user_key(user));
  if (!rec)
    return rec.error();
  if (!*rec)
    return make_error(errc::not_found, "user " + std::string{user} + " not found");
  auto doc = storage::decode_record(**rec, "user " + std::string{user});
  if (!doc)
    return doc;
  // The user's databases: one per user-scoped model, with its number of documents.
  object models;
  for (auto& [name, entry] : snapshot()->models) {
    if (entry->def().scope != model_scope::user)
      continue;
    auto prefix = doc_keys::user_docs_prefix(entry->id, user);
    auto c = txn->open_cursor(tables_.docs);
    if (!c)
      return c.error();
    int64_t n = 0;
    for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix;
         ok = c->next())
      ++n;
    models.set(name, object{{"documents", n}});
  }
  doc->as_object().set("models", std::move(models));
  return doc;
}

// -- caches and relations ---------------------------------------------------------------------

void engine::configure_caches(cache_options queries, cache_options relations,
                              std::chrono::milliseconds relation_ttl) {
  query_cache_ = std::make_unique<result_cache<query_result>>(gens_, std::move(queries));
  relation_cache_ = std::make_unique<result_cache<value>>(gens_, std::move(relations));
  relation_ttl_ = relation_ttl;
}

void engine::get_with(std::string model, std::string id, std::string user_hint,
                      std::vector<std::string> with, reply_fn<value> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  if (auto models = relation_models(*this, **entry, with); !models)
    return fail(done, models.error());
  auto doc = get(model, id, user_hint);
  if (!doc)
    return fail(done, doc.error());
  auto loader = spawn_relation_loader(*this);
  call(caf::actor_cast<caf::actor>(loader),
       relation_request{*entry, {std::move(*doc)}, std::move(with)},
       reply_fn<relation_result>{[done = std::move(done)](caf::expected<relation_result> r) {
         if (!r)
           return done(r.error());
         // One document in, one out (relations embedded).
         DEBROS_ASSERT(r->docs.size() == 1);
         done(std::move(r->docs.front()));
       }},
       3 * request_timeout_);
}

} // namespace debros
