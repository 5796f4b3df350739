// The HTTP API of API.md, independent of the HTTP transport: a parsed request in, one response
// out through a callback. The gateway (gateway.hpp) feeds it from Boost.Beast sessions.
//
// Threading: handle() runs on the caller's thread and never blocks; the response callback is
// called exactly once, either on that thread or later on the thread of the actor (or the
// writer) that completed the operation. The callback must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/error.hpp"

#include "messages/errc.hpp"
#include "messages/value.hpp"
#include "net/auth.hpp"
#include "net/metrics.hpp"

namespace debros {
class runtime;
} // namespace debros

namespace debros::net {

struct api_request {
  std::string method;
  /// The path without the query, as sent (percent-encoded).
  std::string path;
  /// The raw query string (after '?'), may be empty.
  std::string query;
  std::string authorization;
  std::string body;
};

struct api_response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  /// Extra headers (Allow, ...).
  std::vector<std::pair<std::string, std::string>> headers;
  /// The route that answered, for metrics.
  route answered_by = route::other;
};

using respond_fn = std::function<void(api_response)>;

struct api_limits {
  size_t body_bytes_max = size_t{16} << 20;
  uint32_t json_depth_max = 64;
  /// Most JSON values one request body may hold (413 too_large beyond): with the body limit it
  /// bounds the memory of a parsed request (about 64 bytes per value, so 16 MiB here).
  size_t json_values_max = size_t{1} << 18;
};

/// What GET /v1/peers and the status report about other nodes.
using peers_fn = std::function<value()>;

class api {
public:
  api(runtime& rt, auth& a, metrics& m, api_limits limits);

  /// Answers one request (see the threading note above).
  void handle(api_request req, respond_fn respond);

  /// Who sent `req`, by its Authorization header: the check handle() makes before every route
  /// but GET /v1/health, for requests answered elsewhere (the gateway's WebSocket upgrades).
  /// Any thread. Errors: unauthenticated (see auth::authenticate).
  caf::expected<principal> authenticate(const api_request& req) const;

  /// The addresses this node serves, for status replies, and its peers. May be called while
  /// requests are served (the node learns its cluster address after the gateway started).
  void set_addresses(std::string http, std::string cluster);
  void set_peers(peers_fn fn);

  /// The error response for `err`: status by code (API.md "Conventions") and the body
  /// {"error": {"code", "message", "details"}}.
  static api_response error(const caf::error& err);
  static api_response error(errc code, std::string message);

  /// A JSON response.
  static api_response json(int status, const value& body);

  /// One request in progress (net/api_context.hpp).
  struct context;

private:
  void dispatch(std::shared_ptr<context> ctx);

  // Handlers, by group (api_data.cpp, api_node.cpp).
  void models(std::shared_ptr<context> ctx);
  void documents(std::shared_ptr<context> ctx);
  void run_query(std::shared_ptr<context> ctx);
  void node_routes(std::shared_ptr<context> ctx);
  void status(std::shared_ptr<context> ctx);
  void node_metrics(std::string& out);
  void kv_routes(std::shared_ptr<context> ctx);
  void token_route(std::shared_ptr<context> ctx);
  void users(std::shared_ptr<context> ctx);
  void get_with_relations(std::shared_ptr<context> ctx, const std::string& model,
                          const std::string& id, const std::string& with);

  runtime& rt_;
  auth& auth_;
  metrics& metrics_;
  api_limits limits_;
  /// What status and peers report of the node; set once the node is up (see set_addresses).
  struct node_view {
    std::string http;
    std::string cluster;
    peers_fn peers;
  };
  node_view view() const;
  value peers() const;
  mutable std::mutex view_mtx_;
  node_view view_;
  std::chrono::steady_clock::time_point started_;
};

/// Percent-decodes a path segment or query component ('+' stays '+' in paths). Returns false
/// on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

/// A count from a URL parameter: only the digits 0-9 (no sign, no spaces, no other
/// characters, not empty), at most `max`. std::nullopt otherwise.
std::optional<size_t> parse_count(std::string_view text, size_t max) noexcept;

/// The HTTP status of an error code.
int http_status(errc code) noexcept;

} // namespace debros::net
