// Internal to net/gateway*.cpp: the HTTP session shared by plain and TLS connections, and the
// state every session of one gateway shares.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "net/api.hpp"
#include "net/gateway.hpp"
#include "net/metrics.hpp"
#include "net/websocket.hpp"

namespace debros::net::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// Boost 1.74's beast::string_view is boost::string_view.
inline std::string_view sv(beast::string_view x) noexcept {
  return {x.data(), x.size()};
}

struct server_state {
  api& a;
  metrics& m;
  gateway_options opts;
  std::vector<std::pair<std::string, ws_factory>> ws_routes;
  std::optional<ssl::context> tls;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<bool> stopping{false};

  server_state(api& x, metrics& y, gateway_options o) : a(x), m(y), opts(std::move(o)) {}
};

/// Counts a connection for its lifetime (the connection limit).
class connection_slot {
public:
  explicit connection_slot(std::shared_ptr<server_state> st) : st_(std::move(st)) {
    st_->connections.fetch_add(1);
  }
  ~connection_slot() { st_->connections.fetch_sub(1); }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

private:
  std::shared_ptr<server_state> st_;
};

/// Starts a WebSocket session on an upgraded stream (gateway_ws.cpp).
void run_websocket(beast::tcp_stream stream, request req, std::shared_ptr<ws_handler> handler,
                   std::shared_ptr<server_state> st);
void run_websocket(beast::ssl_stream<beast::tcp_stream> stream, request req,
                   std::shared_ptr<ws_handler> handler, std::shared_ptr<server_state> st);

/// The api_request of a Beast request.
api_request to_api_request(request& req);

/// The Beast response of an api_response.
response to_response(api_response&& r, unsigned version, bool keep_alive, bool head);

/// HTTP sessions: read a request, answer it, repeat while kept alive. Derived gives stream(),
/// do_eof() and upgrade().
template <class Derived>
class http_session {
public:
  http_session(std::shared_ptr<server_state> st, beast::flat_buffer buffer,
               const asio::any_io_executor& exec)
      : st_(std::move(st)), slot_(st_), buffer_(std::move(buffer)), timer_(exec) {}

protected:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void do_read() {
    if (st_->stopping.load())
      return derived().do_eof();
    parser_.emplace();
    parser_->body_limit(st_->opts.body_bytes_max);
    parser_->header_limit(static_cast<uint32_t>(st_->opts.header_bytes_max));
    beast::get_lowest_layer(derived().stream()).expires_after(st_->opts.idle_timeout);
    http::async_read(
        derived().stream(), buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_read, derived().shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return derived().do_eof();
    if (ec == http::error::body_limit)
      return send_error(errc::too_large,
                        "the body exceeds " + std::to_string(st_->opts.body_bytes_max) + " bytes");
    if (ec == http::error::header_limit)
      return send_error(errc::too_large, "the headers exceed " +
                                             std::to_string(st_->opts.header_bytes_max) + " bytes");
    if (ec)
      return send_error(errc::invalid_argument, "malformed HTTP request: " + ec.message());
    auto req = parser_->release();
    if (beast::websocket::is_upgrade(req))
      if (try_upgrade(req))
        return;
    handle(std::move(req));
  }

  // Starts answering a request: the state respond() and the timeout check, and one more
  // request in flight (until its response is written, see on_write). Returns its number.
  uint64_t begin_request(unsigned version, bool keep_alive, bool head) {
    keep_alive_ = keep_alive;
    version_ = version;
    head_ = head;
    answered_ = false;
    t0_ = std::chrono::steady_clock::now();
    st_->in_flight.fetch_add(1);
    return ++seq_;
  }

  // An error found while reading: answer it and close (the stream may be out of sync).
  void send_error(errc code, std::string message) {
    respond(begin_request(11, false, false), api::error(code, std::move(message)));
  }

  bool try_upgrade(request& req) {
    auto target = sv(req.target());
    for (auto& [prefix, factory] : st_->ws_routes) {
      if (target.substr(0, prefix.size()) != prefix)
        continue;
      auto ar = to_api_request(req);
      // Authenticated like every other request, before the endpoint sees it.
      auto who = st_->a.authenticate(ar);
      auto handler = who ? factory(ar, *who)
                         : caf::expected<std::shared_ptr<ws_handler>>{std::move(who.error())};
      if (!handler) {
        respond(begin_request(req.version(), false, false), api::error(handler.error()));
        return true;
      }
      beast::get_lowest_layer(derived().stream()).expires_never();
      derived().upgrade(std::move(req), std::move(*handler));
      return true;
    }
    return false;
  }

  void handle(request req) {
    auto seq = begin_request(req.version(), req.keep_alive(), req.method() == http::verb::head);
    beast::get_lowest_layer(derived().stream()).expires_never();
    timer_.expires_after(st_->opts.request_timeout);
    auto self = derived().shared_from_this();
    timer_.async_wait([self, seq](beast::error_code ec) {
      if (!ec)
        self->respond(seq, api::error(errc::timeout, "no answer within the request timeout; the "
                                                     "operation may or may not have taken effect"));
    });
    auto exec = beast::get_lowest_layer(derived().stream()).get_executor();
    st_->a.handle(to_api_request(req), [self, exec, seq](api_response r) {
      asio::post(exec,
                 [self, seq, r = std::move(r)]() mutable { self->respond(seq, std::move(r)); });
    });
  }

  // Answers request number `seq` of this connection, once: a reply that comes after the timeout
  // answered it (even while a later request on the connection waits) is dropped. The request
  // stays in flight until on_write: the gateway's stop waits for the response to be written.
  void respond(uint64_t seq, api_response r) {
    if (answered_ || seq != seq_)
      return;
    answered_ = true;
    timer_.cancel();
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    st_->m.observe(r.answered_by, r.status, secs);
    bool close = !keep_alive_ || st_->stopping.load();
    res_ = std::make_shared<response>(to_response(std::move(r), version_, !close, head_));
    beast::get_lowest_layer(derived().stream()).expires_after(st_->opts.idle_timeout);
    http::async_write(
        derived().stream(), *res_,
        beast::bind_front_handler(&http_session::on_write, derived().shared_from_this(), close));
  }

  void on_write(bool close, beast::error_code ec, size_t) {
    res_.reset();
    st_->in_flight.fetch_sub(1);
    if (ec)
      return;
    if (close)
      return derived().do_eof();
    do_read();
  }

  std::shared_ptr<server_state> st_;
  connection_slot slot_;
  beast::flat_buffer buffer_;
  asio::steady_timer timer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<response> res_;
  std::chrono::steady_clock::time_point t0_;
  bool keep_alive_ = false;
  bool head_ = false;
  bool answered_ = true;
  /// The number of the connection's current request (see respond).
  uint64_t seq_ = 0;
  unsigned version_ = 11;
};

} // namespace debros::net::detail
