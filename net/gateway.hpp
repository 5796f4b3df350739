// The HTTP/1.1 + WebSocket gateway (Boost.Beast): accepts connections, parses requests within
// limits, hands them to the api (api.hpp) and writes the responses. Runs on its own threads,
// never on CAF's: a slow client holds only its own connection.
//
// Limits (all in gateway_options, all documented in docs/node.md section 3): body size (413),
// header size (413), JSON nesting depth (413, checked by the api), body bytes held by all
// connections (503 and closed), time to read the headers, the body, and idle time of a
// kept-alive connection (closed), time to answer one request (504), connections at once (the
// oldest idle connection is closed to make room, else 503 and closed) and per client address
// (503 and closed), work in the engine per connection and in all (503, the connection kept:
// the request is refused before it is handed to the engine). Malformed HTTP, and any
// Transfer-Encoding but exactly `chunked`, gets 400 and the connection closes. A request that needs
// a token is refused (401) on its headers, before its body is read.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "net/api.hpp"
#include "cluster/endpoint.hpp"
#include "net/metrics.hpp"
#include "net/websocket.hpp"

namespace debros::net {

/// Largest body of a request without a token (only queries of models whose read policy is
/// public may have one; docs/node.md section 3).
constexpr size_t anonymous_body_bytes_max = 64 * 1024;

/// What one request counts against gateway_options::engine_bytes_max beside its body: the
/// engine's state for it (the parsed request, its context, its reply), which a request without
/// a body has too.
constexpr size_t engine_request_overhead_bytes = 1024;

/// The Retry-After (seconds) of a 503 the gateway answers for a limit it enforces.
constexpr int retry_after_s = 1;

struct gateway_options {
  endpoint listen{"127.0.0.1", 7700};
  /// Threads running the gateway; 0 means one per hardware thread.
  size_t threads = 0;
  size_t body_bytes_max = size_t{16} << 20;
  size_t header_bytes_max = size_t{16} << 10;
  uint32_t json_depth_max = 64;
  /// Request body bytes held by all connections together (reserved from the Content-Length, or
  /// chunk by chunk, until the request is answered); past it 503 and close.
  size_t inflight_body_bytes_max = size_t{256} << 20;
  /// Operations of one connection still running in the engine: the request being answered and
  /// those answered 504 whose operation goes on (an HTTP connection sends its next request once
  /// it has the 504). A request past it: 503 with Retry-After, not handed to the engine; the
  /// connection stays.
  size_t connection_operations_max = 16;
  /// Bytes of requests in the engine, all connections together: a request handed to the api
  /// holds its body plus engine_request_overhead_bytes until the api answers it (after a 504
  /// too). A request past it: 503 with Retry-After, not handed to the engine; the connection
  /// stays. A request larger than the whole budget is taken only when the engine holds no other.
  /// GET /v1/health and GET /v1/metrics, answered without engine work, are never refused by
  /// these two limits.
  size_t engine_bytes_max = size_t{128} << 20;
  /// A kept-alive connection with no byte of a new request for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  /// The request line and headers (and a TLS handshake) must arrive within this time from the
  /// first byte (from the accept for TLS), else the connection is closed.
  std::chrono::milliseconds header_timeout{5000};
  /// The body must arrive within this time from the end of the headers, else closed.
  std::chrono::milliseconds body_timeout{30000};
  /// A request not answered within this time gets 504.
  std::chrono::milliseconds request_timeout{30000};
  size_t connections_max = 1024;
  /// Connections at once from one client IP address; past it 503 and close.
  size_t connections_per_address_max = 64;
  /// PEM files; both set means HTTPS.
  std::string tls_cert;
  std::string tls_key;
};

class gateway {
public:
  /// Binds and starts serving. `routes` are the WebSocket endpoints (path prefix -> factory).
  /// Errors: invalid_argument for unreadable TLS files, io_error when the address cannot be
  /// bound (with the OS's reason).
  static caf::expected<std::unique_ptr<gateway>>
  start(api& a, metrics& m, gateway_options opts,
        std::vector<std::pair<std::string, ws_factory>> routes = {});

  /// Stops (see stop()).
  ~gateway();

  /// The address actually bound (with the real port when the options said 0).
  endpoint local() const;

  /// What a stop left undone when its grace ended.
  struct stop_report {
    /// HTTP connections still open (reading a request, answering it, or lingering).
    size_t http_connections_cut = 0;
    /// Of their requests, those not answered yet.
    size_t requests_cut = 0;
    /// WebSocket connections (closed without a close frame).
    size_t websockets_cut = 0;
  };

  /// Stops accepting and closes idle connections in order (FIN). Every request already
  /// received is answered, pipelined ones and a kept-alive connection's next request included
  /// (with `Connection: close` on the last); then each connection closes in order, reading and
  /// dropping what still comes for up to 2 s. After at most `grace` the rest is cut and the
  /// gateway's threads are joined. Idempotent (a second call reports nothing).
  stop_report stop(std::chrono::milliseconds grace = std::chrono::milliseconds{10000});

  struct impl;

private:
  explicit gateway(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace debros::net
