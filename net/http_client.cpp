// http_client over Boost.Beast. Every operation is asynchronous on a private io_context that
// the calling thread runs until the operation completes: Beast's timeouts (tcp_stream expiry)
// only apply to asynchronous operations, and this keeps the API synchronous.
#include "net/http_client.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "messages/json.hpp"
#include "cluster/endpoint.hpp"

namespace debros::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using beast::error_code;

namespace {

// Boost 1.74's Beast takes boost::string_view, which does not convert from std::string_view.
beast::string_view bsv(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// Errors that mean "the server closed this connection before reading our request": the request
// had no effect and can be sent again on a new connection.
bool is_stale_connection(const error_code& ec) noexcept {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated;
}

caf::expected<json_response> to_json_reply(std::string_view method, std::string_view target,
                                           caf::expected<http_response> r) {
  if (!r)
    return r.error();
  json_response out{r->status, {}};
  if (r->body.empty())
    return out;
  auto parsed = parse_json(r->body);
  if (parsed) {
    out.body = std::move(*parsed);
    return out;
  }
  if (r->status < 200 || r->status >= 300)
    return error_of(*r);
  return make_error(errc::internal, "the reply to " + std::string{method} + " " +
                                        std::string{target} +
                                        " is not JSON: " + message_of(parsed.error()));
}

} // namespace

struct http_client::impl {
  base_url url;
  http_client_options options;
  std::string address; // HOST:PORT for messages and the Host field
  header_list defaults;
  asio::io_context ioc;
  std::optional<ssl::context> tls_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  bool connected() const noexcept { return plain.has_value() || tls.has_value(); }

  // Runs the io_context until the operation that `start` began has completed (not until it
  // runs out of work: a timer left behind must not hold the caller).
  template <class Start>
  error_code run(Start&& start) {
    error_code result;
    bool done = false;
    start([&](error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    return result;
  }

  void close() noexcept {
    error_code ignored;
    if (connected())
      lowest().socket().close(ignored);
    plain.reset();
    tls.reset();
    buffer.clear();
  }

  caf::error connect();
  caf::error resolve(tcp::resolver::results_type& out, std::chrono::steady_clock::time_point until);
  caf::error handshake();
  caf::error exchange(http::request<http::string_body>& req, http_response& out, bool& stale);

  template <class Stream>
  caf::error exchange_on(Stream& s, http::request<http::string_body>& req, http_response& out,
                         bool& stale);
};

caf::error http_client::impl::resolve(tcp::resolver::results_type& out,
                                      std::chrono::steady_clock::time_point until) {
  // The resolver has no timeout of its own: a timer cancels it.
  tcp::resolver resolver{ioc};
  asio::steady_timer timer{ioc, until};
  bool timed_out = false;
  error_code ec;
  resolver.async_resolve(url.host, std::to_string(url.port),
                         [&](error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           out = std::move(r);
                           timer.cancel();
                         });
  timer.async_wait([&](error_code e) {
    if (!e) {
      timed_out = true;
      resolver.cancel();
    }
  });
  ioc.restart();
  ioc.run();
  if (timed_out)
    return make_error(errc::timeout, "resolving " + url.host + " timed out after " +
                                         seconds_text(options.connect_timeout));
  if (ec)
    return make_error(errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());
  return {};
}

caf::error http_client::impl::connect() {
  close();
  auto until = std::chrono::steady_clock::now() + options.connect_timeout;
  tcp::resolver::results_type endpoints;
  if (auto err = resolve(endpoints, until))
    return err;
  if (url.tls)
    tls.emplace(ioc, *tls_ctx);
  else
    plain.emplace(ioc);
  auto& s = lowest();
  s.expires_at(until);
  auto ec = run([&](auto handler) { s.async_connect(endpoints, std::move(handler)); });
  if (ec) {
    close();
    if (ec == beast::error::timeout)
      return make_error(errc::timeout, "connecting to " + address + " timed out after " +
                                           seconds_text(options.connect_timeout));
    return make_error(errc::unavailable, "cannot connect to " + address + ": " + ec.message());
  }
  error_code ignored;
  s.socket().set_option(tcp::no_delay{true}, ignored);
  if (url.tls)
    return handshake();
  return {};
}

caf::error http_client::impl::handshake() {
  // SNI: servers with several certificates pick one by the name.
  if (!SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str())) {
    close();
    return make_error(errc::unavailable, "cannot set the TLS server name " + url.host);
  }
  if (!options.tls_insecure)
    tls->set_verify_callback(ssl::host_name_verification(url.host));
  auto ec = run([&](auto handler) { tls->async_handshake(ssl::stream_base::client, handler); });
  if (ec) {
    close();
    if (ec == beast::error::timeout)
      return make_error(errc::timeout, "the TLS handshake with " + address + " timed out after " +
                                           seconds_text(options.connect_timeout));
    return make_error(errc::unavailable,
                      "the TLS handshake with " + address + " failed: " + ec.message());
  }
  return {};
}

template <class Stream>
caf::error http_client::impl::exchange_on(Stream& s, http::request<http::string_body>& req,
                                          http_response& out, bool& stale) {
  auto what = [&] {
    return std::string{req.method_string()} + " " + std::string{req.target()} + " on " + address;
  };
  lowest().expires_after(options.request_timeout);
  auto ec = run([&](auto handler) { http::async_write(s, req, handler); });
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  // A reply to HEAD announces a length but carries no body: do not wait for one.
  if (req.method() == http::verb::head)
    parser.skip(true);
  if (!ec)
    ec = run([&](auto handler) { http::async_read_header(s, buffer, parser, handler); });
  // Boost 1.74's parser does not apply body_limit to a Content-Length body: check it here,
  // before the body is read into memory.
  if (!ec && parser.content_length() && *parser.content_length() > options.max_body_bytes)
    ec = http::error::body_limit;
  if (!ec && !parser.is_done())
    ec = run([&](auto handler) { http::async_read(s, buffer, parser, handler); });
  if (ec) {
    // Retrying is only safe when nothing of a reply was seen.
    stale = is_stale_connection(ec) && !parser.got_some();
    close();
    if (ec == beast::error::timeout)
      return make_error(errc::timeout,
                        what() + " timed out after " + seconds_text(options.request_timeout));
    if (ec == http::error::body_limit)
      return make_error(errc::too_large, "the reply to " + what() + " exceeds " +
                                             std::to_string(options.max_body_bytes) + " bytes");
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
      return make_error(errc::internal,
                        "the reply to " + what() + " is not valid HTTP: " + ec.message());
    return make_error(errc::unavailable,
                      "the connection was lost during " + what() + ": " + ec.message());
  }
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  for (auto& f : res)
    out.headers.add(std::string{f.name_string()}, std::string{f.value()});
  out.body = std::move(res.body());
  if (!res.keep_alive())
    close();
  return {};
}

caf::error http_client::impl::exchange(http::request<http::string_body>& req, http_response& out,
                                       bool& stale) {
  if (tls)
    return exchange_on(*tls, req, out, stale);
  return exchange_on(*plain, req, out, stale);
}

http_client::http_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;
http_client::~http_client() {
  if (impl_)
    impl_->close();
}

caf::expected<http_client> http_client::make(std::string_view url, http_client_options options) {
  auto parsed = parse_base_url(url);
  if (!parsed)
    return parsed.error();
  try {
    auto p = std::make_unique<impl>();
    p->url = std::move(*parsed);
    p->options = std::move(options);
    p->address = to_string(endpoint{p->url.host, p->url.port});
    if (p->url.tls) {
      auto& ctx = p->tls_ctx.emplace(ssl::context::tls_client);
      error_code ec;
      if (p->options.tls_insecure) {
        ctx.set_verify_mode(ssl::verify_none);
      } else {
        ctx.set_default_verify_paths(ec);
        ctx.set_verify_mode(ssl::verify_peer);
      }
      if (!ec && !p->options.tls_ca_file.empty())
        ctx.load_verify_file(p->options.tls_ca_file, ec);
      if (ec)
        return make_error(errc::invalid_argument, "cannot load the TLS CA certificates '" +
                                                      p->options.tls_ca_file +
                                                      "': " + ec.message());
    }
    return http_client{std::move(p)};
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"cannot set up the HTTP client: "} + e.what());
  }
}

void http_client::set_default_header(std::string name, std::string value) {
  auto& d = impl_->defaults;
  auto same = [&](auto& f) { return beast::iequals(bsv(f.first), bsv(name)); };
  d.erase(std::remove_if(d.begin(), d.end(), same), d.end());
  d.emplace_back(std::move(name), std::move(value));
}

caf::expected<http_response> http_client::request(std::string_view method, std::string_view target,
                                                  std::string_view body,
                                                  const header_list& headers) {
  auto verb = http::string_to_verb(bsv(method));
  if (verb == http::verb::unknown)
    return make_error(errc::invalid_argument, "unknown HTTP method '" + std::string{method} + "'");
  if (target.empty() || target.front() != '/')
    return make_error(errc::invalid_argument,
                      "an HTTP target must start with '/': '" + std::string{target} + "'");
  // Beast and Asio report failures through error codes here; what is left to throw is
  // allocation failure or a bug, which must still not escape as an exception.
  try {
    auto& p = *impl_;
    http::request<http::string_body> req{verb, bsv(target), 11};
    req.set(http::field::host, p.address);
    req.set(http::field::user_agent, "debros/" DEBROS_VERSION);
    for (auto& [name, val] : p.defaults)
      req.set(name, val);
    for (auto& [name, val] : headers)
      req.set(name, val);
    req.body() = std::string{body};
    if (!body.empty() || verb == http::verb::post || verb == http::verb::put ||
        verb == http::verb::patch)
      req.prepare_payload();
    req.keep_alive(true);
    for (int attempt = 0;; ++attempt) {
      bool reused = p.connected();
      if (!reused)
        if (auto err = p.connect())
          return err;
      http_response out;
      bool stale = false;
      auto err = p.exchange(req, out, stale);
      if (!err)
        return out;
      if (!(stale && reused && attempt == 0))
        return err;
    }
  } catch (const std::exception& e) {
    impl_->close();
    return make_error(errc::internal, std::string{"HTTP client failure: "} + e.what());
  }
}

caf::expected<json_response> http_client::json(std::string_view method, std::string_view target,
                                               const value& body) {
  static const header_list json_headers{{"Content-Type", "application/json"},
                                        {"Accept", "application/json"}};
  return to_json_reply(method, target, request(method, target, to_json(body), json_headers));
}

caf::expected<json_response> http_client::json(std::string_view method, std::string_view target) {
  static const header_list accept_json{{"Accept", "application/json"}};
  return to_json_reply(method, target, request(method, target, {}, accept_json));
}

void http_client::close() noexcept {
  if (impl_)
    impl_->close();
}

const base_url& http_client::url() const noexcept {
  return impl_->url;
}

const http_client_options& http_client::options() const noexcept {
  return impl_->options;
}

} // namespace debros::net
