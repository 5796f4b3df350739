// A small synchronous HTTP/1.1 client (Boost.Beast behind a pimpl) for the CLI, end-to-end tests
// and benchmarks: one keep-alive connection to one node, plain or TLS.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "messages/errc.hpp"
#include "messages/value.hpp"

namespace debros::net {

/// Where a client connects: the scheme, host and port of a base URL.
struct base_url {
  bool tls = false;
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const base_url&, const base_url&) = default;
};

/// Parses "http://HOST[:PORT]" or "https://HOST[:PORT]" (IPv6 hosts in brackets), with an
/// optional trailing '/'. The port defaults to 80 / 443. Errors: invalid_argument naming the
/// text and what is wrong (another scheme, a path, a bad port).
caf::expected<base_url> parse_base_url(std::string_view text);

/// "http://HOST:PORT" (brackets around IPv6 hosts).
std::string to_string(const base_url& url);

/// Header fields in the order they arrived; names compare case-insensitively (RFC 9110).
class header_map {
public:
  using field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);

  /// The value of the first field named `name`, or nullptr. The pointer lives as long as the
  /// map is not changed.
  const std::string* find(std::string_view name) const noexcept;

  /// The value of the first field named `name`, or an empty string.
  std::string get(std::string_view name) const;

  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  size_t size() const noexcept { return fields_.size(); }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }

private:
  std::vector<field> fields_;
};

/// Extra request header fields, sent in this order.
using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  int status = 0;
  std::string body;
  header_map headers;
};

/// A reply whose body was parsed as JSON (null when the body was empty).
struct json_response {
  int status = 0;
  value body;
};

struct http_client_options {
  /// Limit on resolving the host, connecting and the TLS handshake together.
  std::chrono::milliseconds connect_timeout{30'000};
  /// Limit on one exchange: writing the request and reading the whole reply.
  std::chrono::milliseconds request_timeout{30'000};
  /// Accept any server certificate (self-signed test certificates). Never in production.
  bool tls_insecure = false;
  /// A PEM file of CA certificates to trust in addition to the system's.
  std::string tls_ca_file;
  /// Largest accepted reply body; a larger one fails with too_large.
  size_t max_body_bytes = size_t{1} << 30;
};

/// One connection to one node, opened on the first request and kept alive between requests.
/// When a kept-alive connection turns out to be closed by the server (it closed it while idle),
/// the request is sent once more on a new connection; only a failure before any byte of the
/// reply arrived is retried this way.
///
/// Not thread-safe: use one client per thread. Movable, not copyable. No function throws
/// (except std::bad_alloc from building arguments); every failure is a caf::error:
/// - unavailable: the host cannot be resolved, the connection is refused, reset or lost, or the
///   TLS handshake fails (certificate rejected); the message names the address.
/// - timeout: connecting or the exchange took longer than its limit; a timed-out request may or
///   may not have taken effect on the server.
/// - too_large: the reply body exceeds max_body_bytes.
/// - invalid_argument: an unknown method or a target that does not start with '/'.
/// - internal: the reply is not valid HTTP (or, for `json`, its body is not JSON).
class http_client {
public:
  /// A client for `url` (see parse_base_url). Does not connect yet. Errors: invalid_argument
  /// for a bad URL or an unreadable tls_ca_file.
  static caf::expected<http_client> make(std::string_view url, http_client_options options = {});

  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;
  ~http_client();

  /// Adds a header field sent with every request (e.g. "Authorization"), replacing an earlier
  /// one of the same name.
  void set_default_header(std::string name, std::string value);

  /// Sends `method` ("GET", "PUT", ...) `target` ("/v1/health?x=1") with `body` and waits for
  /// the whole reply. Any status is a reply, not an error: check `status`.
  caf::expected<http_response> request(std::string_view method, std::string_view target,
                                       std::string_view body = {}, const header_list& headers = {});

  /// Sends `body` as JSON (Content-Type: application/json) and parses the reply body as JSON.
  /// A reply that is not JSON is an error: internal for a 2xx status, otherwise `error_of` the
  /// reply (a proxy's error page, say).
  caf::expected<json_response> json(std::string_view method, std::string_view target,
                                    const value& body);

  /// The same without a request body (GET, DELETE, ...).
  caf::expected<json_response> json(std::string_view method, std::string_view target);

  /// Closes the connection; the next request opens a new one.
  void close() noexcept;

  const base_url& url() const noexcept;
  const http_client_options& options() const noexcept;

private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The errc named by an API error code ("not_found"), or internal for an unknown name.
errc errc_from_name(std::string_view name) noexcept;

/// The errc the API maps to an HTTP status (404 -> not_found, 501 -> unimplemented, ...);
/// internal for statuses without a mapping.
errc errc_from_status(int status) noexcept;

/// The caf::error an API error reply carries: `{"error": {"code", "message", "details"}}`, with
/// the details as error_detail values. A body without that shape gives the status's errc and
/// a message quoting the status. Precondition: the status is not 2xx.
caf::error error_of(const json_response& reply);

/// The same for a raw reply (its body is parsed as JSON when it is JSON).
caf::error error_of(const http_response& reply);

} // namespace debros::net
