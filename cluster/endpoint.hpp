// HOST:PORT endpoints of the node's listeners and seeds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

namespace debros::net {

struct endpoint {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Parses "HOST:PORT" (IPv6 hosts in brackets: "[::1]:7700"). Port 0 means "pick a free port"
/// for listeners. Errors: invalid_argument naming the text and what is wrong.
caf::expected<endpoint> parse_endpoint(std::string_view text);

/// Parses a comma-separated list of endpoints ("a:1,b:2"); an empty text is an empty list.
caf::expected<std::vector<endpoint>> parse_endpoints(std::string_view text);

/// "HOST:PORT", with brackets around IPv6 hosts.
std::string to_string(const endpoint& e);

} // namespace debros::net
