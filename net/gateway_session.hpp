// Internal to net/gateway*.cpp: the HTTP session shared by plain and TLS connections, and the
// state every session of one gateway shares.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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

/// Connections registered with how to close them, in order of registration; the number
/// `add` returns withdraws one. Any thread.
template <class... Args>
class closer_list {
public:
  using close_fn = std::function<void(uint64_t, Args...)>;

  uint64_t add(close_fn fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto n = ++seq_;
    list_.emplace(n, std::move(fn));
    return n;
  }
  void withdraw(uint64_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    list_.erase(n);
  }
  /// Removes and returns the oldest registration, if any.
  std::optional<std::pair<uint64_t, close_fn>> take_oldest() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (list_.empty())
      return std::nullopt;
    auto oldest = std::move(*list_.begin());
    list_.erase(list_.begin());
    return oldest;
  }
  /// Removes and returns every registration.
  std::map<uint64_t, close_fn> take_all() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::exchange(list_, {});
  }

private:
  std::mutex mtx_;
  std::map<uint64_t, close_fn> list_;
  uint64_t seq_ = 0;
};

/// What every session of one gateway shares. Any thread.
struct server_state {
  api& a;
  metrics& m;
  gateway_options opts;
  std::vector<std::pair<std::string, ws_factory>> ws_routes;
  std::optional<ssl::context> tls;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  /// HTTP sessions alive (idle, reading, answering or lingering; not WebSockets): the
  /// gateway's stop waits for them to end.
  std::atomic<size_t> http_sessions{0};
  /// Body bytes reserved by requests being read or answered (opts.inflight_body_bytes_max).
  std::atomic<size_t> body_bytes{0};
  /// Bytes of requests handed to the api and not yet answered by it (opts.engine_bytes_max).
  std::atomic<size_t> engine_bytes{0};
  /// Where the engine gauges go: `m` until the gateway's stop, then nowhere (operations the
  /// engine answers later must not touch metrics that may be gone by then).
  std::atomic<metrics*> gauges{&m};

  server_state(api& x, metrics& y, gateway_options o) : a(x), m(y), opts(std::move(o)) {}

  /// Reserves `n` body bytes; false (nothing reserved) when that would pass the budget.
  bool reserve_body(size_t n) {
    auto held = body_bytes.load();
    do {
      if (n > opts.inflight_body_bytes_max - std::min(held, opts.inflight_body_bytes_max))
        return false;
    } while (!body_bytes.compare_exchange_weak(held, held + n));
    return true;
  }
  void release_body(size_t n) { body_bytes.fetch_sub(n); }

  /// Reserves `n` bytes of the engine budget; false (nothing reserved) when that would pass it,
  /// unless the engine holds nothing (a request larger than the budget still gets through).
  bool reserve_engine(size_t n) {
    auto held = engine_bytes.load();
    do {
      if (held != 0 && n > opts.engine_bytes_max - std::min(held, opts.engine_bytes_max))
        return false;
    } while (!engine_bytes.compare_exchange_weak(held, held + n));
    if (auto* g = gauges.load())
      g->engine_enter(n);
    return true;
  }
  void release_engine(size_t n) {
    engine_bytes.fetch_sub(n);
    if (auto* g = gauges.load())
      g->engine_leave(n);
  }

  /// Connections open from `address` (the per-address limit).
  size_t connections_from(const asio::ip::address& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = per_address_.find(address);
    return i == per_address_.end() ? 0 : i->second;
  }
  void add_connection(const asio::ip::address& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    ++per_address_[address];
  }
  void remove_connection(const asio::ip::address& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = per_address_.find(address);
    if (i != per_address_.end() && --i->second == 0)
      per_address_.erase(i);
  }

  /// Idle connections (waiting for the first byte of their next request), each with how to
  /// close it (called with its number, and whether the gateway is stopping).
  closer_list<bool> idle;
  /// WebSocket sessions, each with how to close it with 1001 "going away" (for the stop).
  closer_list<> websockets;

  /// Closes the connection that has been idle longest (asynchronously, on its own strand).
  /// False when no connection is idle.
  bool shed_oldest_idle() {
    auto oldest = idle.take_oldest();
    if (!oldest)
      return false;
    oldest->second(oldest->first, false);
    return true;
  }

  /// On stop: every idle connection closes in order (FIN, then it reads and drops what still
  /// comes for a moment), except one whose next request has already arrived: it is answered.
  /// Every WebSocket gets a close frame.
  void stop_connections() {
    for (auto& [n, shed] : idle.take_all())
      shed(n, true);
    for (auto& [n, close] : websockets.take_all())
      close(n);
  }

private:
  std::mutex mtx_;
  std::map<asio::ip::address, size_t> per_address_;
};

/// Counts a connection for its lifetime (the connection limits).
class connection_slot {
public:
  connection_slot(std::shared_ptr<server_state> st, asio::ip::address address)
      : st_(std::move(st)), address_(address) {
    st_->connections.fetch_add(1);
    st_->add_connection(address_);
  }
  ~connection_slot() {
    st_->remove_connection(address_);
    st_->connections.fetch_sub(1);
  }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

private:
  std::shared_ptr<server_state> st_;
  asio::ip::address address_;
};

/// One request's hold on the engine budgets: `bytes` of server_state::engine_bytes (none without
/// `st`) and one of its connection's operations, from when it is handed to the api until the api
/// answers it (or drops its callback without answering). Any thread; released once.
class engine_ticket {
public:
  engine_ticket(std::shared_ptr<server_state> st, std::shared_ptr<std::atomic<size_t>> ops,
                size_t bytes)
      : st_(std::move(st)), ops_(std::move(ops)), bytes_(bytes) {
    ops_->fetch_add(1);
  }
  ~engine_ticket() { release(); }
  engine_ticket(const engine_ticket&) = delete;
  engine_ticket& operator=(const engine_ticket&) = delete;

  void release() {
    if (released_.exchange(true))
      return;
    if (st_)
      st_->release_engine(bytes_);
    ops_->fetch_sub(1);
  }

private:
  std::shared_ptr<server_state> st_;
  std::shared_ptr<std::atomic<size_t>> ops_;
  size_t bytes_;
  std::atomic<bool> released_{false};
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

/// Why `req`'s body framing is refused (RFC 9112 section 6.1, against request smuggling): a
/// Transfer-Encoding other than exactly one `chunked` (any case, optional whitespace), one
/// together with a Content-Length, or one on HTTP/1.0. Nothing when the framing is fine.
std::optional<std::string> framing_error(const request& req);

/// HTTP sessions: wait for a request (idle), read its headers, check its framing and token,
/// read its body, answer it, repeat while kept alive; each phase under its own deadline. Derived
/// gives stream(), do_eof() and upgrade().
template <class Derived>
class http_session {
public:
  http_session(std::shared_ptr<server_state> st, beast::flat_buffer buffer,
               const asio::any_io_executor& exec, asio::ip::address address)
      : st_(std::move(st)), slot_(st_, address), buffer_(std::move(buffer)), timer_(exec) {
    st_->http_sessions.fetch_add(1);
    // Chunked bodies reserve their bytes chunk by chunk, before each chunk's data is read.
    on_chunk_ = [this](uint64_t size, beast::string_view, beast::error_code& ec) {
      if (!st_->reserve_body(size)) {
        over_budget_ = true;
        ec = asio::error::no_buffer_space;
        return;
      }
      reserved_ += size;
    };
  }

  ~http_session() {
    release_body();
    if (idle_ != 0)
      st_->idle.withdraw(idle_);
    st_->http_sessions.fetch_sub(1);
  }

  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

protected:
  Derived& derived() { return static_cast<Derived&>(*this); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(derived().stream()); }

  // Bytes of another request received and not yet parsed (pipelined, or in the socket).
  bool more_received() {
    beast::error_code ec;
    return buffer_.size() > 0 || lowest().socket().available(ec) > 0;
  }

  void do_read() {
    // Stopping: what has been received is still answered, then the connection closes.
    if (st_->stopping.load() && !more_received())
      return derived().do_eof();
    parser_.emplace();
    parser_->body_limit(st_->opts.body_bytes_max);
    parser_->header_limit(static_cast<uint32_t>(st_->opts.header_bytes_max));
    parser_->on_chunk_header(on_chunk_);
    over_budget_ = false;
    if (buffer_.size() > 0)
      return read_header(); // pipelined: the next request has begun
    wait_for_request();
  }

  // Idle: no byte of the next request yet (a new or a kept-alive connection). It may be shed to
  // make room for a new one (server_state::shed_oldest_idle).
  void wait_for_request() {
    std::weak_ptr<Derived> weak = derived().shared_from_this();
    auto exec = lowest().get_executor();
    idle_ = st_->idle.add([weak, exec](uint64_t n, bool stopping) {
      asio::post(exec, [weak, n, stopping] {
        if (auto self = weak.lock())
          self->shed(n, stopping);
      });
    });
    // A new connection must start its first request as fast as it must finish its headers; a
    // kept-alive one may wait for its next request longer.
    lowest().expires_after(seq_ == 0 ? st_->opts.header_timeout : st_->opts.idle_timeout);
    derived().stream().async_read_some(
        buffer_.prepare(first_read_bytes),
        beast::bind_front_handler(&http_session::on_first_bytes, derived().shared_from_this()));
    // Registered after the gateway's stop took the idle list: stop this one the same way.
    if (st_->stopping.load())
      shed(idle_, true);
  }

  // Closes an idle connection: at once to make room for a new one, in order when stopping
  // (the cancelled read ends in do_eof) unless a request has arrived, which is then answered.
  void shed(uint64_t n, bool stopping) {
    if (idle_ != n)
      return; // no longer idle since it was picked
    if (stopping && more_received())
      return; // the pending read completes with the request
    st_->idle.withdraw(idle_);
    idle_ = 0;
    if (stopping)
      lowest().cancel();
    else
      lowest().close();
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    st_->idle.withdraw(idle_);
    idle_ = 0;
    if (ec)
      return derived().do_eof();
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    lowest().expires_after(st_->opts.header_timeout);
    http::async_read_header(
        derived().stream(), buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_header, derived().shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec)
      return on_read(ec, 0);
    auto& req = parser_->get();
    if (auto why = framing_error(req))
      return send_error(errc::invalid_argument, std::move(*why));
    if (parser_->is_done())
      return on_read({}, 0); // no body: api::handle authenticates, and the connection stays
    // A body is coming: the token is checked before a byte of it is read or held.
    auto target = sv(req.target());
    body_max_ = st_->opts.body_bytes_max;
    if (target.substr(0, target.find('?')) != "/v1/health") {
      api_request ar;
      ar.method = std::string{sv(req.method_string())};
      ar.path = std::string{target.substr(0, target.find('?'))};
      ar.authorization = std::string{sv(req[http::field::authorization])};
      auto who = st_->a.authenticate(ar);
      if (!who)
        return send_error(api::error(who.error()));
      // Without a token (a query of a public model) a body is small.
      if (!who->is_admin() && !who->is_user()) {
        body_max_ = std::min(body_max_, anonymous_body_bytes_max);
        parser_->body_limit(body_max_);
        if (auto length = parser_->content_length(); length && *length > body_max_)
          return send_error(errc::too_large, "the body exceeds " + std::to_string(body_max_) +
                                                 " bytes (requests without a token)");
      }
    }
    if (auto length = parser_->content_length()) {
      if (!st_->reserve_body(static_cast<size_t>(*length)))
        return refuse_over_budget();
      reserved_ = static_cast<size_t>(*length);
    }
    lowest().expires_after(st_->opts.body_timeout);
    http::async_read(
        derived().stream(), buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_read, derived().shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (over_budget_)
      return refuse_over_budget();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return derived().do_eof();
    if (ec == http::error::body_limit)
      return send_error(errc::too_large,
                        "the body exceeds " + std::to_string(body_max_) + " bytes");
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

  void refuse_over_budget() {
    st_->m.shed(shed_reason::body_bytes);
    send_error(unavailable("the node holds " + std::to_string(st_->opts.inflight_body_bytes_max) +
                           " bytes of request bodies already; retry later"));
  }

  // A 503 for a limit of the gateway, with when to retry.
  static api_response unavailable(std::string message) {
    auto r = api::error(errc::unavailable, std::move(message));
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
    return r;
  }

  // Takes the request into the engine budgets, or answers it 503 (the connection stays) and
  // returns null. Health and metrics do no engine work and are always taken.
  std::shared_ptr<engine_ticket> admit(uint64_t seq, const request& req) {
    auto target = sv(req.target());
    auto path = target.substr(0, target.find('?'));
    if (req.method() == http::verb::get && (path == "/v1/health" || path == "/v1/metrics"))
      return std::make_shared<engine_ticket>(nullptr, engine_ops_, 0);
    auto& o = st_->opts;
    if (engine_ops_->load() >= o.connection_operations_max) {
      st_->m.shed(shed_reason::connection_operations);
      respond(seq,
              unavailable("this connection has " + std::to_string(o.connection_operations_max) +
                          " operations in the engine already (answered 504 or still "
                          "waiting); retry later"));
      return nullptr;
    }
    auto bytes = req.body().size() + engine_request_overhead_bytes;
    if (!st_->reserve_engine(bytes)) {
      st_->m.shed(shed_reason::engine_bytes);
      respond(seq, unavailable("the node holds " + std::to_string(o.engine_bytes_max) +
                               " bytes of requests in the engine already; retry later"));
      return nullptr;
    }
    return std::make_shared<engine_ticket>(st_, engine_ops_, bytes);
  }

  void release_body() {
    st_->release_body(reserved_);
    reserved_ = 0;
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
    send_error(api::error(code, std::move(message)));
  }
  void send_error(api_response r) { respond(begin_request(11, false, false), std::move(r)); }

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
    auto ticket = admit(seq, req);
    if (!ticket)
      return;
    timer_.expires_after(st_->opts.request_timeout);
    auto self = derived().shared_from_this();
    timer_.async_wait([self, seq](beast::error_code ec) {
      if (!ec)
        self->respond(seq, api::error(errc::timeout, "no answer within the request timeout; the "
                                                     "operation may or may not have taken effect"));
    });
    auto exec = beast::get_lowest_layer(derived().stream()).get_executor();
    st_->a.handle(to_api_request(req), [self, exec, seq, ticket](api_response r) {
      // The engine is done with it, whether its client still waits or got a 504 already.
      ticket->release();
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
    release_body();
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    st_->m.observe(r.answered_by, r.status, secs);
    bool close = !keep_alive_ || (st_->stopping.load() && !more_received());
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
  std::function<void(uint64_t, beast::string_view, beast::error_code&)> on_chunk_;
  /// Body bytes this request holds of the node's budget (server_state::reserve_body).
  size_t reserved_ = 0;
  /// Operations of this connection in the engine (engine_ticket), the one being answered and
  /// those answered 504 whose operation still runs.
  std::shared_ptr<std::atomic<size_t>> engine_ops_ = std::make_shared<std::atomic<size_t>>(0);
  bool over_budget_ = false;
  // The largest body this request may have (smaller without a token).
  size_t body_max_ = 0;
  /// The number this connection is registered under while idle, else 0.
  uint64_t idle_ = 0;
  /// What the first read of an idle connection takes at most.
  static constexpr size_t first_read_bytes = 4096;
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
