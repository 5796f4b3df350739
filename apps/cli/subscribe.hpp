// `debros pubsub subscribe`: a WebSocket client of GET /v1/topics/{topic}/ws (API.md
// "Pub/sub"). Kept out of commands_kv.cpp because the Beast WebSocket code is slow to compile.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "caf/error.hpp"

#include "net/http_client.hpp"

namespace debros::cli {

struct subscription {
  /// The node's base URL ("http://HOST:PORT" or "https://..."; see net::parse_base_url).
  std::string url;
  /// Connect timeout (also the WebSocket handshake's) and TLS settings.
  net::http_client_options options;
  /// Sent as "Authorization: Bearer TOKEN" when not empty.
  std::string token;
  /// The request target, e.g. "/v1/topics/news/ws?since=4".
  std::string target;
  /// How long to listen; none: until the server closes the connection.
  std::optional<std::chrono::milliseconds> duration;
};

/// Connects, then writes each text frame the server sends to `out` as one line of compact JSON
/// (a frame that is not JSON is written as it is), flushing after each, until `s.duration` has
/// passed or the server closes the connection; then closes the connection. Blocks the caller.
/// Errors: unavailable (cannot connect, TLS failure, connection lost), timeout (connecting or
/// the handshake), and for a handshake the server refuses, the error its HTTP reply carries
/// (e.g. unimplemented for a 501, not_found for a 404). Never throws.
caf::error run_subscription(const subscription& s, std::ostream& out);

} // namespace debros::cli
