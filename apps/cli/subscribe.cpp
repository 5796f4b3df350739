#include "apps/cli/subscribe.hpp"

#include <functional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "cluster/endpoint.hpp"

namespace debros::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using beast::error_code;

namespace {

beast::string_view bsv(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

// Runs `ioc` until the operation that `start` began has completed (timeouts come from the
// streams' own timers). Not until `ioc` runs out of work: a failed WebSocket handshake leaves
// its timer waiting for the whole handshake timeout.
template <class Start>
error_code run(asio::io_context& ioc, Start&& start) {
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

void write_frame(std::ostream& out, const std::string& text) {
  auto parsed = parse_json(text);
  out << (parsed ? to_json(*parsed) : text) << std::endl;
}

caf::error handshake_failed(const error_code& ec, const websocket::response_type& res,
                            const std::string& address) {
  auto status = static_cast<int>(res.result_int());
  if (status != 0 && status != 101)
    return net::error_of(net::http_response{status, res.body(), {}});
  if (ec == beast::error::timeout)
    return make_error(errc::timeout, "the WebSocket handshake with " + address + " timed out");
  return make_error(errc::unavailable,
                    "the WebSocket handshake with " + address + " failed: " + ec.message());
}

// Upgrades the connected `ws`, then prints frames until the time is up or the server closes.
template <class Next>
caf::error listen(asio::io_context& ioc, websocket::stream<Next>& ws, const subscription& s,
                  const std::string& address, std::ostream& out) {
  // From here the WebSocket stream's own timers apply, not the TCP stream's deadline.
  beast::get_lowest_layer(ws).expires_never();
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  timeouts.handshake_timeout = s.options.connect_timeout;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator([&s](websocket::request_type& req) {
    req.set(http::field::user_agent, "debros/" DEBROS_VERSION);
    if (!s.token.empty())
      req.set(http::field::authorization, "Bearer " + s.token);
  }));
  websocket::response_type res;
  auto ec = run(ioc, [&](auto handler) {
    ws.async_handshake(res, bsv(address), bsv(s.target), std::move(handler));
  });
  if (ec)
    return handshake_failed(ec, res, address);
  beast::flat_buffer buffer;
  error_code read_ec;
  std::function<void()> read_next = [&] {
    ws.async_read(buffer, [&](error_code e, size_t) {
      if (e) {
        read_ec = e;
        ioc.stop();
        return;
      }
      if (ws.got_text())
        write_frame(out, beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      read_next();
    });
  };
  read_next();
  ioc.restart();
  if (s.duration)
    ioc.run_for(*s.duration);
  else
    ioc.run();
  if (read_ec == websocket::error::closed)
    return {};
  if (read_ec)
    return make_error(errc::unavailable,
                      "the subscription on " + address + " ended: " + read_ec.message());
  // Time is up: say goodbye, but do not wait long for a server that does not answer.
  ws.async_close(websocket::close_code::normal, [&ioc](error_code) { ioc.stop(); });
  ioc.restart();
  ioc.run_for(std::chrono::seconds{1});
  return {};
}

caf::error connect(asio::io_context& ioc, beast::tcp_stream& stream, const net::base_url& url,
                   const subscription& s, const std::string& address) {
  tcp::resolver resolver{ioc};
  error_code ec;
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec)
    return make_error(errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());
  stream.expires_after(s.options.connect_timeout);
  ec = run(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  if (ec == beast::error::timeout)
    return make_error(errc::timeout, "connecting to " + address + " timed out");
  if (ec)
    return make_error(errc::unavailable, "cannot connect to " + address + ": " + ec.message());
  return {};
}

caf::error subscribe_tls(asio::io_context& ioc, beast::tcp_stream& stream, const net::base_url& url,
                         const subscription& s, const std::string& address, std::ostream& out) {
  ssl::context ctx{ssl::context::tls_client};
  error_code ec;
  if (s.options.tls_insecure) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.set_default_verify_paths(ec);
    ctx.set_verify_mode(ssl::verify_peer);
  }
  if (!ec && !s.options.tls_ca_file.empty())
    ctx.load_verify_file(s.options.tls_ca_file, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "cannot load the TLS CA certificates: " + ec.message());
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{std::move(stream), ctx};
  auto& tls = ws.next_layer();
  SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
  if (!s.options.tls_insecure)
    tls.set_verify_callback(ssl::host_name_verification(url.host));
  ec = run(ioc, [&](auto handler) { tls.async_handshake(ssl::stream_base::client, handler); });
  if (ec == beast::error::timeout)
    return make_error(errc::timeout, "the TLS handshake with " + address + " timed out");
  if (ec)
    return make_error(errc::unavailable,
                      "the TLS handshake with " + address + " failed: " + ec.message());
  return listen(ioc, ws, s, address, out);
}

} // namespace

caf::error run_subscription(const subscription& s, std::ostream& out) {
  auto url = net::parse_base_url(s.url);
  if (!url)
    return url.error();
  auto address = net::to_string(net::endpoint{url->host, url->port});
  // Beast reports failures through error codes here; what could still throw (allocation, a
  // bug) must not escape as an exception.
  try {
    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    if (auto err = connect(ioc, stream, *url, s, address))
      return err;
    if (url->tls)
      return subscribe_tls(ioc, stream, *url, s, address, out);
    websocket::stream<beast::tcp_stream> ws{std::move(stream)};
    return listen(ioc, ws, s, address, out);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"WebSocket client failure: "} + e.what());
  }
}

} // namespace debros::cli
