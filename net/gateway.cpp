#include "net/gateway.hpp"

#include <cerrno>
#include <cstdio>
#include <thread>

#include "net/gateway_session.hpp"

namespace debros::net {

namespace detail {

api_request to_api_request(request& req) {
  api_request out;
  out.method = std::string{sv(req.method_string())};
  auto target = sv(req.target());
  auto q = target.find('?');
  out.path = std::string{target.substr(0, q)};
  if (q != std::string_view::npos)
    out.query = std::string{target.substr(q + 1)};
  out.authorization = std::string{sv(req[http::field::authorization])};
  out.body = std::move(req.body());
  return out;
}

std::optional<std::string> framing_error(const request& req) {
  auto codings = req.count(http::field::transfer_encoding);
  if (codings == 0)
    return std::nullopt;
  auto te = sv(req[http::field::transfer_encoding]);
  auto first = te.find_first_not_of(" \t");
  auto last = te.find_last_not_of(" \t");
  auto coding =
      first == std::string_view::npos ? te.substr(0, 0) : te.substr(first, last - first + 1);
  bool chunked = coding.size() == 7 &&
                 beast::iequals(beast::string_view{coding.data(), coding.size()}, "chunked");
  if (codings > 1 || !chunked)
    return "Transfer-Encoding " + std::string{te} +
           " is not supported: only exactly `chunked` (or a Content-Length) frames a body";
  if (req.count(http::field::content_length) != 0)
    return std::string{"Transfer-Encoding and Content-Length together are refused"};
  if (req.version() < 11)
    return std::string{"Transfer-Encoding: chunked needs HTTP/1.1"};
  return std::nullopt;
}

response to_response(api_response&& r, unsigned version, bool keep_alive, bool head) {
  response res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "debros/" DEBROS_VERSION);
  if (!r.content_type.empty())
    res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers)
    res.set(k, v);
  res.keep_alive(keep_alive);
  if (head) {
    // HEAD: the length the body would have, and no body.
    res.content_length(r.body.size());
    return res;
  }
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

class plain_session : public http_session<plain_session>,
                      public std::enable_shared_from_this<plain_session> {
public:
  plain_session(tcp::socket&& socket, std::shared_ptr<server_state> st, asio::ip::address address)
      : http_session(std::move(st), beast::flat_buffer{}, socket.get_executor(), address),
        stream_(std::move(socket)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&plain_session::do_read, shared_from_this()));
  }

  beast::tcp_stream& stream() { return stream_; }

  // Lingering close: after our side is shut down, read and drop what the client still sends
  // (a body refused unread) for a moment, since closing with unread data sends a reset that can
  // destroy the answer before the client has read it.
  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return;
    stream_.expires_after(linger_time);
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec)
                                self->drain();
                            });
  }

  void upgrade(request req, std::shared_ptr<ws_handler> handler) {
    run_websocket(std::move(stream_), std::move(req), std::move(handler), st_);
  }

private:
  friend class http_session<plain_session>;
  /// How long a closing connection reads and drops what the client still sends.
  static constexpr std::chrono::seconds linger_time{2};
  beast::tcp_stream stream_;
};

class tls_session : public http_session<tls_session>,
                    public std::enable_shared_from_this<tls_session> {
public:
  tls_session(tcp::socket&& socket, std::shared_ptr<server_state> st, asio::ip::address address)
      : http_session(st, beast::flat_buffer{}, socket.get_executor(), address),
        stream_(std::move(socket), *st->tls) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(self->st_->opts.header_timeout);
      self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (!ec)
          self->do_read();
      });
    });
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void do_eof() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  void upgrade(request req, std::shared_ptr<ws_handler> handler) {
    run_websocket(std::move(stream_), std::move(req), std::move(handler), st_);
  }

private:
  friend class http_session<tls_session>;
  beast::ssl_stream<beast::tcp_stream> stream_;
};

// Answers 503 to a connection past a limit, then closes it.
void refuse(tcp::socket socket, const char* why) {
  auto r = api::error(errc::unavailable, why);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  auto res = std::make_shared<response>(to_response(std::move(r), 11, false, false));
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  http::async_write(*sock, *res, [sock, res](beast::error_code, size_t) {
    beast::error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
  });
}

class listener : public std::enable_shared_from_this<listener> {
public:
  listener(asio::io_context& ioc, tcp::acceptor acceptor, std::shared_ptr<server_state> st)
      : ioc_(ioc), acceptor_(std::move(acceptor)), st_(std::move(st)),
        backoff_(acceptor_.get_executor()) {}

  void run() { accept(); }

  void close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->backoff_.cancel();
    });
  }

private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE ||
        ec == asio::error::no_buffer_space || ec == asio::error::no_memory)
      return back_off(ec);
    if (!ec && !st_->stopping.load())
      admit(std::move(socket));
    accept();
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    auto address = socket.remote_endpoint(ec).address();
    if (ec)
      return; // already gone
    if (st_->connections_from(address) >= st_->opts.connections_per_address_max)
      return refuse(std::move(socket), "too many connections from this address; retry later");
    // At the limit, the connection idle longest makes room; only when none is idle is the new
    // one refused.
    if (st_->connections.load() >= st_->opts.connections_max && !st_->shed_oldest_idle())
      return refuse(std::move(socket), "too many connections; retry later");
    if (st_->tls)
      std::make_shared<tls_session>(std::move(socket), st_, address)->run();
    else
      std::make_shared<plain_session>(std::move(socket), st_, address)->run();
  }

  // Out of file descriptors (or kernel memory): accepting again at once would fail again at
  // once (a busy loop). Wait a little, and say so at most once a second.
  void back_off(const beast::error_code& ec) {
    auto now = std::chrono::steady_clock::now();
    ++failed_;
    if (now - last_report_ >= std::chrono::seconds{1}) {
      std::fprintf(stderr,
                   "debros: gateway: cannot accept connections: %s (%zu times); retrying every "
                   "%lld ms\n",
                   ec.message().c_str(), failed_, static_cast<long long>(accept_backoff.count()));
      last_report_ = now;
      failed_ = 0;
    }
    backoff_.expires_after(accept_backoff);
    backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && self->acceptor_.is_open())
        self->accept();
    });
  }

  static constexpr std::chrono::milliseconds accept_backoff{100};

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<server_state> st_;
  asio::steady_timer backoff_;
  std::chrono::steady_clock::time_point last_report_{};
  size_t failed_ = 0;
};

} // namespace detail

struct gateway::impl {
  detail::asio::io_context ioc;
  std::shared_ptr<detail::server_state> st;
  std::shared_ptr<detail::listener> lst;
  std::vector<std::thread> threads;
  endpoint bound;
  bool stopped = false;
};

namespace {

using namespace detail;

constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

caf::error load_tls(server_state& st) {
  auto& o = st.opts;
  if (o.tls_cert.empty() && o.tls_key.empty())
    return caf::none;
  if (o.tls_cert.empty() || o.tls_key.empty())
    return make_error(errc::invalid_argument, "TLS needs both --tls-cert and --tls-key");
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // TLS 1.2: forward-secret key exchange and AEAD ciphers only. TLS 1.3 keeps OpenSSL's
  // defaults (all of them are both).
  if (SSL_CTX_set_cipher_list(ctx.native_handle(), tls12_ciphers) != 1)
    return make_error(errc::internal, "OpenSSL refused the TLS 1.2 cipher list");
  beast::error_code ec;
  ctx.use_certificate_chain_file(o.tls_cert, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "cannot use the TLS certificate " + o.tls_cert + ": " + ec.message());
  ctx.use_private_key_file(o.tls_key, ssl::context::pem, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "cannot use the TLS key " + o.tls_key + ": " + ec.message());
  st.tls.emplace(std::move(ctx));
  return caf::none;
}

caf::expected<tcp::acceptor> bind(asio::io_context& ioc, const endpoint& where) {
  auto fail = [&](const beast::error_code& ec) {
    return make_error(errc::io_error, "cannot listen on " + to_string(where) + ": " + ec.message());
  };
  beast::error_code ec;
  tcp::resolver resolver{ioc};
  auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
  if (ec || results.empty())
    return fail(ec);
  auto ep = results.begin()->endpoint();
  tcp::acceptor acc{ioc};
  acc.open(ep.protocol(), ec);
  if (!ec)
    acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(ep, ec);
  if (!ec)
    acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(ec);
  return acc;
}

} // namespace

caf::expected<std::unique_ptr<gateway>>
gateway::start(api& a, metrics& m, gateway_options opts,
               std::vector<std::pair<std::string, ws_factory>> routes) {
  auto p = std::make_unique<impl>();
  auto threads =
      opts.threads != 0 ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  p->st = std::make_shared<server_state>(a, m, opts);
  p->st->ws_routes = std::move(routes);
  if (auto err = load_tls(*p->st))
    return err;
  auto acc = bind(p->ioc, opts.listen);
  if (!acc)
    return acc.error();
  auto local = acc->local_endpoint();
  p->bound = endpoint{local.address().to_string(), local.port()};
  p->lst = std::make_shared<listener>(p->ioc, std::move(*acc), p->st);
  p->lst->run();
  for (size_t i = 0; i < threads; ++i)
    p->threads.emplace_back([io = &p->ioc] {
      // A handler that throws (out of memory) must not end the gateway thread.
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "debros: gateway: %s\n", e.what());
        }
      }
    });
  return std::unique_ptr<gateway>{new gateway(std::move(p))};
}

gateway::gateway(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

gateway::~gateway() {
  stop(std::chrono::milliseconds{0});
}

endpoint gateway::local() const {
  return impl_->bound;
}

gateway::stop_report gateway::stop(std::chrono::milliseconds grace) {
  auto& p = *impl_;
  if (p.stopped)
    return {};
  p.stopped = true;
  p.st->stopping.store(true);
  p.lst->close();
  p.st->stop_connections();
  // Every HTTP connection answers what it has received, then closes in order; every WebSocket
  // closes with 1001. Connections end.
  auto deadline = std::chrono::steady_clock::now() + grace;
  while ((p.st->connections.load() > 0 || p.st->in_flight.load() > 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  stop_report report{p.st->http_sessions.load(), p.st->in_flight.load(),
                     p.st->connections.load() -
                         std::min(p.st->connections.load(), p.st->http_sessions.load())};
  p.ioc.stop();
  for (auto& t : p.threads)
    t.join();
  p.st->gauges.store(nullptr);
  return report;
}

} // namespace debros::net
