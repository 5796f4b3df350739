// The front actor: the runtime's typed handle for application actors (runtime_actor). It routes
// each request to the actor that owns the data and delegates, so the reply comes straight from
// that actor. Reads by id are answered from the last committed state.
#pragma once

#include "caf/fwd.hpp"

#include "actors/interfaces.hpp"

namespace debros {

class engine;

runtime_actor spawn_front(engine& eng);

} // namespace debros
