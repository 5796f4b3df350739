// The typed interfaces of the engine's actors, and the one local-only message that carries a
// callback (edge_call: how the embedded API and the HTTP gateway, which are not actors, hand an
// operation to the edge actor, which sends it as a typed request).
#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/atom.hpp"
#include "caf/expected.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "messages/errc.hpp"
#include "messages/requests.hpp"

namespace debros {

// Atoms (at most 10 characters; kept out of namespace caf so they never clash with CAF's).
using acks_atom = caf::atom_constant<caf::atom("acks")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// A callback that receives the result of an operation exactly once, on the thread of the actor
/// that completes it. It must not block (set a future, post to an event loop, send a message).
template <class R>
using reply_fn = std::function<void(caf::expected<R>)>;

/// Calls a result callback; an exception from it (embedder code) is reported on stderr and goes
/// no further, so it never terminates the actor that answered.
template <class R>
void call_reply(const reply_fn<R>& fn, caf::expected<R> x) noexcept {
  try {
    fn(std::move(x));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "debros: a result callback threw (ignored): %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "debros: a result callback threw a non-standard exception (ignored)\n");
  }
}

/// Answers `done` with `err` (an operation refused before it was sent anywhere).
template <class R>
void fail(const reply_fn<R>& done, caf::error err) {
  done(caf::expected<R>{std::move(err)});
}

/// `fn`, answered at most once; if every copy is destroyed unanswered (the message died in
/// the mailbox of an actor that stopped or failed, or was sent to one already gone), `fn` gets
/// `unavailable`. CAF 0.17 reports no broken promise for a message without a sender: this is
/// ours, so that a caller outside the actor system never waits for an answer that cannot come.
template <class R>
reply_fn<R> answered_once(reply_fn<R> fn) {
  struct holder {
    reply_fn<R> fn;
    explicit holder(reply_fn<R> f) : fn(std::move(f)) {}
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    ~holder() {
      if (fn)
        call_reply(fn, caf::expected<R>{make_error(
                           errc::unavailable, "the actor that had this operation stopped before "
                                              "it answered (the runtime is stopping, or the actor "
                                              "failed)")});
    }
  };
  return [h = std::make_shared<holder>(std::move(fn))](caf::expected<R> x) {
    if (auto f = std::exchange(h->fn, nullptr))
      call_reply(f, std::move(x));
  };
}

/// An operation handed to the edge (actors/edge.hpp) by code outside the actor system, with the
/// actor that owns it and the callback for its result (answered once, see answered_once). Local
/// only: the edge actor sends `op` as a typed request; the callback never leaves this process.
template <class Op, class R>
struct edge_call {
  edge_call(caf::actor t, Op o, reply_fn<R> r, std::chrono::milliseconds d)
      : target(std::move(t)), op(std::move(o)), reply(answered_once(std::move(r))), deadline(d) {}
  caf::actor target;
  Op op;
  reply_fn<R> reply;
  std::chrono::milliseconds deadline;
};

struct model_entry;

/// Replaces the model entry a partition works with (new hooks or validators).
struct set_model {
  std::shared_ptr<const model_entry> entry;
};

/// A shard of a global model. Requests come as typed messages only: from the runtime's front
/// actor, the edge (actors/edge.hpp), coordinators and batches.
using shard_actor = caf::typed_actor<
    caf::replies_to<doc_create>::with<value>, caf::replies_to<doc_get>::with<value>,
    caf::replies_to<doc_update>::with<value>, caf::replies_to<doc_remove>::with<bool>,
    caf::replies_to<doc_increment>::with<value>,
    caf::replies_to<partition_query>::with<partition_result>, caf::reacts_to<acks_atom>,
    caf::reacts_to<set_model>, caf::reacts_to<stop_atom>>;

/// A partition of a global index of a user-scoped model: applies the index work its channel of
/// the outbox holds (drain) and answers queries from its entries, once the work committed
/// before each query arrived is applied.
using gindex_actor = caf::typed_actor<caf::replies_to<partition_query>::with<partition_result>,
                                      caf::reacts_to<drain_atom>, caf::reacts_to<acks_atom>,
                                      caf::reacts_to<set_model>, caf::reacts_to<stop_atom>>;

/// The runtime's handle for application actors: the same operations as the embedded API, by
/// typed messages and without blocking. Replies come from the shard or coordinator that did the
/// work.
using runtime_actor = caf::typed_actor<
    caf::replies_to<doc_create>::with<value>, caf::replies_to<doc_get>::with<value>,
    caf::replies_to<doc_update>::with<value>, caf::replies_to<doc_remove>::with<bool>,
    caf::replies_to<doc_increment>::with<value>, caf::replies_to<query>::with<query_result>,
    caf::reacts_to<stop_atom>>;

} // namespace debros

namespace caf {

template <class Op, class R>
struct allowed_unsafe_message_type<debros::edge_call<Op, R>> : std::true_type {};

template <>
struct allowed_unsafe_message_type<debros::set_model> : std::true_type {};

} // namespace caf
