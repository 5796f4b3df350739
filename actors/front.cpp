#include "actors/front.hpp"

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/coordinator.hpp"
#include "actors/engine.hpp"
#include "actors/placement.hpp"
#include "actors/reply.hpp"
#include "actors/userdb_host.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

using self_ptr = runtime_actor::pointer;

// Delegates `op` to the actor owning `where` (a shard, or a user's database via its host).
template <class R, class Op>
caf::result<R> delegate_to(self_ptr self, engine& eng,
                           const std::shared_ptr<const model_entry>& entry, const doc_place& where,
                           Op op) {
  if (where.user_scoped()) {
    // The host is untyped: ask it and answer from here (in this actor's context).
    auto rp = self->make_response_promise<R>();
    self->request(eng.host_of(where.user), eng.request_timeout(),
                  for_user<Op>{entry->def().name, where.user, std::move(op)})
        .then([rp](R& x) mutable { rp.deliver(std::move(x)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }
  return self->delegate(entry->shards[where.shard], std::move(op));
}

template <class R, class Op>
caf::result<R> forward(self_ptr self, engine& eng, Op& op) {
  auto entry = eng.find(op.model);
  if (!entry)
    return caf::result<R>{std::move(entry.error())};
  auto where = eng.locate(**entry, op.id);
  if (!where)
    return caf::result<R>{std::move(where.error())};
  if (!*where)
    return caf::result<R>{make_error(errc::not_found, op.model + "/" + op.id + " not found")};
  return delegate_to<R>(self, eng, *entry, **where, std::move(op));
}

runtime_actor::behavior_type front_main(self_ptr self, engine* eng) {
  return {
      [self, eng](doc_create& op) -> caf::result<value> {
        auto entry = eng->find(op.model);
        if (!entry)
          return caf::result<value>{std::move(entry.error())};
        auto where = eng->place(**entry, op.doc);
        if (!where)
          return caf::result<value>{std::move(where.error())};
        return delegate_to<value>(self, *eng, *entry, *where, std::move(op));
      },
      [eng](doc_get& op) -> caf::result<value> { return eng->get(op.model, op.id); },
      [self, eng](doc_update& op) { return forward<value>(self, *eng, op); },
      [self, eng](doc_remove& op) { return forward<bool>(self, *eng, op); },
      [self, eng](doc_increment& op) -> caf::result<value> {
        auto entry = eng->find(op.model);
        if (!entry)
          return caf::result<value>{std::move(entry.error())};
        // Global counters are created by their first increment: route by placement, as
        // engine::increment does, not by a lookup that finds nothing yet.
        auto& def = (*entry)->def();
        if (def.type == store_type::counter && def.scope == model_scope::global &&
            def.sharding.key == "id")
          return delegate_to<value>(self, *eng, *entry,
                                    doc_place{shard_for_key(def.sharding, value{op.id}), {}},
                                    std::move(op));
        return forward<value>(self, *eng, op);
      },
      [self, eng](query& q) -> caf::result<query_result> {
        auto entry = eng->find(q.model);
        if (!entry)
          return caf::result<query_result>{std::move(entry.error())};
        return self->delegate(spawn_coordinator(*eng, *entry), std::move(q));
      },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

runtime_actor spawn_front(engine& eng) {
  return eng.system().spawn(front_main, &eng);
}

} // namespace debros
