#include "actors/front.hpp"

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/coordinator.hpp"
#include "actors/engine.hpp"
#include "actors/reply.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

using self_ptr = runtime_actor::pointer;

// The shard owning `id` of `model`, or an error.
caf::expected<shard_actor> owner(engine& eng, const std::string& model, const std::string& id) {
  auto entry = eng.find(model);
  if (!entry)
    return entry.error();
  auto shard = eng.locate(**entry, id);
  if (!shard)
    return shard.error();
  if (!*shard)
    return make_error(errc::not_found, model + "/" + id + " not found");
  return (*entry)->shards[**shard];
}

template <class R, class Op>
caf::result<R> forward(self_ptr self, engine& eng, Op& op) {
  auto target = owner(eng, op.model, op.id);
  if (!target)
    return caf::result<R>{std::move(target.error())};
  return self->delegate(*target, std::move(op));
}

runtime_actor::behavior_type front_main(self_ptr self, engine* eng) {
  return {
      [self, eng](doc_create& op) -> caf::result<value> {
        auto entry = eng->find(op.model);
        if (!entry)
          return caf::result<value>{std::move(entry.error())};
        auto shard = eng->place(**entry, op.doc);
        if (!shard)
          return caf::result<value>{std::move(shard.error())};
        return self->delegate((*entry)->shards[*shard], std::move(op));
      },
      [eng](doc_get& op) -> caf::result<value> { return to_result(eng->get(op.model, op.id)); },
      [self, eng](doc_update& op) { return forward<value>(self, *eng, op); },
      [self, eng](doc_remove& op) { return forward<bool>(self, *eng, op); },
      [self, eng](doc_increment& op) { return forward<value>(self, *eng, op); },
      [self, eng](query& q) -> caf::result<query_result> {
        auto entry = eng->find(q.model);
        if (!entry)
          return caf::result<query_result>{std::move(entry.error())};
        return self->delegate(spawn_coordinator(eng->system(), *entry), std::move(q));
      },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

runtime_actor spawn_front(engine& eng) {
  return eng.system().spawn(front_main, &eng);
}

} // namespace debros
