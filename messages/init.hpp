// Registration of Debros' message types and error category with a CAF actor system config.
#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace debros {

/// Adds every Debros message type (messages/type_ids.hpp) and the "debros" error category to
/// `cfg`. Call once per config, before constructing the actor system.
void register_types(caf::actor_system_config& cfg);

} // namespace debros
