#include "net/gateway.hpp"

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
  plain_session(tcp::socket&& socket, std::shared_ptr<server_state> st)
      : http_session(std::move(st), beast::flat_buffer{}, socket.get_executor()),
        stream_(std::move(socket)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&plain_session::do_read, shared_from_this()));
  }

  beast::tcp_stream& stream() { return stream_; }

  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  void upgrade(request req, std::shared_ptr<ws_handler> handler) {
    run_websocket(std::move(stream_), std::move(req), std::move(handler), st_);
  }

private:
  friend class http_session<plain_session>;
  beast::tcp_stream stream_;
};

class tls_session : public http_session<tls_session>,
                    public std::enable_shared_from_this<tls_session> {
public:
  tls_session(tcp::socket&& socket, std::shared_ptr<server_state> st)
      : http_session(st, beast::flat_buffer{}, socket.get_executor()),
        stream_(std::move(socket), *st->tls) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(self->st_->opts.idle_timeout);
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

// Answers 503 to a connection past the limit, then closes it.
void refuse(tcp::socket socket, std::shared_ptr<server_state> st) {
  auto res = std::make_shared<response>(to_response(
      api::error(errc::unavailable, "too many connections; retry later"), 11, false, false));
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  http::async_write(*sock, *res, [sock, res](beast::error_code, size_t) {
    beast::error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
  });
}

class listener : public std::enable_shared_from_this<listener> {
public:
  listener(asio::io_context& ioc, tcp::acceptor acceptor, std::shared_ptr<server_state> st)
      : ioc_(ioc), acceptor_(std::move(acceptor)), st_(std::move(st)) {}

  void run() { accept(); }

  void close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
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
    if (!ec && !st_->stopping.load()) {
      if (st_->connections.load() >= st_->opts.connections_max)
        refuse(std::move(socket), st_);
      else if (st_->tls)
        std::make_shared<tls_session>(std::move(socket), st_)->run();
      else
        std::make_shared<plain_session>(std::move(socket), st_)->run();
    }
    accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<server_state> st_;
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

caf::error load_tls(server_state& st) {
  auto& o = st.opts;
  if (o.tls_cert.empty() && o.tls_key.empty())
    return caf::none;
  if (o.tls_cert.empty() || o.tls_key.empty())
    return make_error(errc::invalid_argument, "TLS needs both --tls-cert and --tls-key");
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
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

void gateway::stop(std::chrono::milliseconds grace) {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  p.st->stopping.store(true);
  p.lst->close();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (p.st->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  p.ioc.stop();
  for (auto& t : p.threads)
    t.join();
}

} // namespace debros::net
