#include "actors/userdb_host.hpp"

#include <cstdio>
#include <list>
#include <unordered_map>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/shard.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

using clock = std::chrono::steady_clock;

struct live_db {
  shard_actor actor;
  std::shared_ptr<const model_entry> entry;
  uint64_t inflight = 0;
  clock::time_point last;
  std::list<std::string>::iterator lru;
};

struct host_state {
  userdb_host_config cfg;
  std::unordered_map<std::string, live_db> live;
  std::list<std::string> lru; // most recently used first

  static inline const char* name = "debros.userdb_host";
};

using self_ptr = caf::stateful_actor<host_state>*;

void passivate(self_ptr self, std::unordered_map<std::string, live_db>::iterator i) {
  auto& st = self->state;
  DEBROS_ASSERT(i != st.live.end() && i->second.inflight == 0);
  self->send(i->second.actor, stop_atom::value);
  st.lru.erase(i->second.lru);
  st.live.erase(i);
  st.cfg.stats->live.fetch_sub(1);
  st.cfg.stats->passivations.fetch_add(1);
  DEBROS_ASSERT(st.lru.size() == st.live.size());
}

// Passivates idle actors, least recently used first, until at most `keep` remain (actors
// with operations in flight stay, so the bound may be exceeded while they all are busy).
void shrink_to(self_ptr self, size_t keep) {
  auto& st = self->state;
  if (st.live.size() <= keep)
    return;
  auto excess = st.live.size() - keep;
  std::vector<std::string> victims;
  for (auto it = st.lru.rbegin(); it != st.lru.rend() && victims.size() < excess; ++it) {
    // The LRU list holds exactly the keys of the live actors.
    auto live = st.live.find(*it);
    DEBROS_ASSERT(live != st.live.end());
    if (live->second.inflight == 0)
      victims.push_back(*it);
  }
  for (auto& key : victims)
    passivate(self, st.live.find(key));
}

// The live actor of (entry's model, user), activated when needed. Counts one operation.
shard_actor& acquire(self_ptr self, const std::shared_ptr<const model_entry>& entry,
                     const std::string& user) {
  auto& st = self->state;
  auto key = std::to_string(entry->id) + "/" + user;
  auto i = st.live.find(key);
  if (i == st.live.end()) {
    DEBROS_ASSERT(st.cfg.live_max > 0); // engine::start_hosts gives each host at least one
    if (st.live.size() >= st.cfg.live_max)
      shrink_to(self, st.cfg.live_max - 1);
    shard_config sc{entry,
                    doc_place{0, user},
                    st.cfg.env,
                    st.cfg.writer,
                    caf::actor_cast<caf::actor>(self),
                    key,
                    st.cfg.gens,
                    st.cfg.queued_ops_max};
    st.lru.push_front(key);
    auto [added, fresh] = st.live.emplace(key, live_db{spawn_shard(self->system(), std::move(sc)),
                                                       entry, 0, clock::now(), st.lru.begin()});
    DEBROS_ASSERT(fresh && st.lru.size() == st.live.size());
    i = added;
    self->monitor(i->second.actor); // a failed database is forgotten (on_down)
    auto now_live = st.cfg.stats->live.fetch_add(1) + 1;
    st.cfg.stats->activations.fetch_add(1);
    auto peak = st.cfg.stats->peak_live.load();
    while (now_live > peak && !st.cfg.stats->peak_live.compare_exchange_weak(peak, now_live)) {
    }
  } else {
    st.lru.splice(st.lru.begin(), st.lru, i->second.lru);
    if (i->second.entry != entry) {
      // The model got new hooks or validators since this actor started.
      i->second.entry = entry;
      self->send(i->second.actor, set_model{entry});
    }
  }
  ++i->second.inflight;
  i->second.last = clock::now();
  return i->second.actor;
}

void done(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto i = st.live.find(key);
  if (i == st.live.end() || i->second.inflight == 0)
    return;
  --i->second.inflight;
  i->second.last = clock::now();
}

void sweep(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
  for (auto i = st.live.begin(); i != st.live.end();) {
    auto next = std::next(i);
    if (i->second.inflight == 0 && now - i->second.last >= st.cfg.idle)
      passivate(self, i);
    i = next;
  }
  shrink_to(self, st.cfg.live_max);
}

template <class Op, class R>
auto forward_request(self_ptr self) {
  return [self](for_user<Op>& m) -> caf::result<R> {
    auto entry = self->state.cfg.find_model(m.model);
    if (!entry)
      return caf::result<R>{make_error(errc::not_found, "model " + m.model + " not found")};
    if (entry->def().scope != model_scope::user)
      return caf::result<R>{
          make_error(errc::invalid_argument, "model " + m.model + " is not user-scoped")};
    auto& target = acquire(self, entry, m.user);
    return self->delegate(target, std::move(m.msg));
  };
}

// A user database that failed (not a passivation: that one left `live` first) is forgotten, so
// the next operation on it activates a new actor over the same LMDB state. Operations in its
// mailbox were answered unavailable.
void on_down(self_ptr self, const caf::down_msg& dm) {
  if (!dm.reason)
    return;
  auto& st = self->state;
  for (auto i = st.live.begin(); i != st.live.end(); ++i) {
    if (i->second.actor.address() != dm.source)
      continue;
    std::fprintf(stderr, "debros: user database %s failed (%s); it reactivates on next use\n",
                 i->first.c_str(), caf::to_string(dm.reason).c_str());
    st.lru.erase(i->second.lru);
    st.live.erase(i);
    st.cfg.stats->live.fetch_sub(1);
    st.cfg.stats->failures.fetch_add(1);
    return;
  }
}

caf::behavior host_main(self_ptr self, userdb_host_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  auto interval = std::max(self->state.cfg.idle / 2, std::chrono::milliseconds{10});
  self->delayed_send(self, interval, sweep_atom::value);
  return {
      forward_request<doc_create, value>(self),
      forward_request<doc_get, value>(self),
      forward_request<doc_update, value>(self),
      forward_request<doc_remove, bool>(self),
      forward_request<doc_increment, value>(self),
      forward_request<partition_query, partition_result>(self),
      [self](done_atom, const std::string& key) { done(self, key); },
      [self, interval](sweep_atom) {
        sweep(self);
        self->delayed_send(self, interval, sweep_atom::value);
      },
      [self](stop_atom) {
        for (auto& [key, db] : self->state.live)
          self->send(db.actor, stop_atom::value);
        self->state.cfg.stats->live.fetch_sub(self->state.live.size());
        self->state.live.clear();
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_userdb_host(caf::actor_system& sys, userdb_host_config cfg) {
  return sys.spawn(host_main, std::move(cfg));
}

} // namespace debros
