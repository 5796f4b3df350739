#include "actors/edge.hpp"

#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/interfaces.hpp"
#include "actors/relations.hpp"
#include "actors/userdb_host.hpp"
#include "messages/requests.hpp"

namespace debros {

namespace {

struct edge_state {
  size_t pending = 0;
  bool stopping = false;
};

using self_ptr = caf::stateful_actor<edge_state>*;

// One answer came: an edge asked to stop quits once every request it made is answered.
void answered(self_ptr self) {
  auto& st = self->state;
  --st.pending;
  if (st.stopping && st.pending == 0)
    self->quit();
}

// Sends the call's operation as a request and answers its callback once. The callback is held
// by the response handlers: if the edge actor is gone before an answer, they are destroyed
// unanswered and answered_once reports `unavailable`.
template <class Op, class R>
auto forward(self_ptr self) {
  return [self](edge_call<Op, R>& c) {
    ++self->state.pending;
    self->request(c.target, c.deadline, std::move(c.op))
        .then(
            [self, done = c.reply](R& x) {
              done(std::move(x));
              answered(self);
            },
            [self, done = c.reply](caf::error& err) {
              done(std::move(err));
              answered(self);
            });
  };
}

// The int argument is unused: CAF 0.17.6 dereferences a null argument tuple for a functor
// spawned without arguments (UBSan: reference binding to null pointer).
caf::behavior edge_main(self_ptr self, int /*unused*/) {
  return {
      forward<doc_create, value>(self),
      forward<doc_get, value>(self),
      forward<doc_update, value>(self),
      forward<doc_remove, bool>(self),
      forward<doc_increment, value>(self),
      forward<for_user<doc_create>, value>(self),
      forward<for_user<doc_get>, value>(self),
      forward<for_user<doc_update>, value>(self),
      forward<for_user<doc_remove>, bool>(self),
      forward<for_user<doc_increment>, value>(self),
      forward<query, query_result>(self),
      forward<relation_request, relation_result>(self),
      // The runtime stops: answers still due are awaited (each request has its deadline).
      [self](stop_atom) {
        self->state.stopping = true;
        if (self->state.pending == 0)
          self->quit();
      },
  };
}

} // namespace

caf::actor spawn_edge(caf::actor_system& sys) {
  return sys.spawn(edge_main, 0);
}

} // namespace debros
