#include "messages/init.hpp"

#include <string>

#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/message.hpp"

#include "messages/type_ids.hpp"

namespace debros {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::debros>();
  cfg.add_error_category(caf::atom("debros"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out = "debros::";
                           // to_string names an unknown code "internal".
                           out += to_string(static_cast<errc>(code));
                           if (!ctx.empty() && ctx.match_element<std::string>(0)) {
                             out += ": ";
                             out += ctx.get_as<std::string>(0);
                           }
                           return out;
                         });
}

} // namespace debros
