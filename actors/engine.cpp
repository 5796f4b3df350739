// The engine's catalog and partitions: loading and defining models, spawning and respawning
// their partitions (shards, global index partitions, user-database hosts, edges) and stopping
// them. Routing is in router.cpp, users in user_directory.cpp.
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

// -- caches and relations ---------------------------------------------------------------------

void engine::configure_caches(cache_options queries, cache_options relations,
                              std::chrono::milliseconds relation_ttl) {
  query_cache_ = std::make_unique<result_cache<query_result>>(gens_, std::move(queries));
  relation_cache_ = std::make_unique<result_cache<value>>(gens_, std::move(relations));
  relation_ttl_ = relation_ttl;
}

} // namespace debros
