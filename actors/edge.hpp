// The edge of the actor system: where code that is not an actor (the embedded callback API,
// the HTTP gateway) enters the one message path. Such code hands an operation, the actor that
// owns it and a callback to an edge actor (edge_call, actors/interfaces.hpp); the edge actor
// sends the operation as a typed request with a deadline and calls the callback exactly once,
// with the answer, the partition's error, or `timeout`/`unavailable` from the deadline or a
// receiver that is gone. Partitions see only typed, serializable requests, the same as from
// other actors or nodes: one completion protocol, one way to attach a callback.
//
// The engine keeps one edge actor per scheduler thread; all calls to one actor go through the
// same edge, so that calls from one thread to one partition arrive in the order they were made.
#pragma once

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"

namespace debros {

/// Spawns an edge actor. Its messages: edge_call<Op, R> for each operation the engine's API
/// offers (documents, user databases, queries, relations); stop_atom, after which it quits once
/// every request it made is answered (or past its deadline).
caf::actor spawn_edge(caf::actor_system& sys);

} // namespace debros
