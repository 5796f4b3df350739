// `debros pubsub subscribe`'s WebSocket client against a scripted Beast WebSocket server.
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "apps/cli/subscribe.hpp"
#include "messages/errc.hpp"

using namespace debros;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

enum class script {
  /// Sends three frames, then closes.
  send_and_close,
  /// Sends three frames, then waits for the client to close.
  send_and_wait,
  /// Refuses the upgrade with a 404 API error.
  refuse,
};

// Serves one connection on a loopback port from its own thread.
class ws_server {
public:
  explicit ws_server(script s) : acceptor_(ioc_, {asio::ip::address_v4::loopback(), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread{[this, s] {
      try {
        serve(s);
      } catch (const std::exception& e) {
        failure_ = e.what();
      }
    }};
  }

  ~ws_server() { finish(); }

  /// Waits for the server to be done; returns what went wrong on its side (empty: nothing).
  std::string finish() {
    if (thread_.joinable())
      thread_.join();
    return failure_;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // What the client sent; valid after finish().
  std::string authorization;
  std::string target;

private:
  void serve(script s) {
    auto sock = acceptor_.accept();
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(sock, buf, req);
    authorization = std::string{req[http::field::authorization]};
    target = std::string{req.target()};
    if (s == script::refuse) {
      http::response<http::string_body> res{http::status::not_found, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"error":{"code":"not_found","message":"topic news not found"}})";
      res.prepare_payload();
      http::write(sock, res);
      return;
    }
    websocket::stream<tcp::socket> ws{std::move(sock)};
    ws.accept(req);
    ws.text(true);
    for (auto frame : {R"({"seq": 1, "data": {"a": [1, 2]}})", "not json", R"({"seq":3})"})
      ws.write(asio::buffer(std::string{frame}));
    if (s == script::send_and_close) {
      ws.close(websocket::close_code::normal);
      beast::error_code ec;
      while (!ec)
        ws.read(buf, ec); // until the client's close reply
      return;
    }
    beast::error_code ec;
    while (!ec)
      ws.read(buf, ec);
    if (ec != websocket::error::closed)
      failure_ = "the client did not close cleanly: " + ec.message();
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string failure_;
};

constexpr const char* expected_lines = "{\"seq\":1,\"data\":{\"a\":[1,2]}}\n"
                                       "not json\n"
                                       "{\"seq\":3}\n";

} // namespace

TEST_CASE("a subscription prints one line per frame until the server closes", "[cli][ws]") {
  ws_server server{script::send_and_close};
  std::ostringstream out;
  cli::subscription s{server.url(), {}, "tok", "/v1/topics/news/ws?since=2", std::nullopt};
  auto err = cli::run_subscription(s, out);
  CHECK_FALSE(err);
  CHECK(server.finish().empty());
  CHECK(out.str() == expected_lines);
  CHECK(server.authorization == "Bearer tok");
  CHECK(server.target == "/v1/topics/news/ws?since=2");
}

TEST_CASE("a subscription with a duration ends then and closes the connection", "[cli][ws]") {
  ws_server server{script::send_and_wait};
  std::ostringstream out;
  auto start = std::chrono::steady_clock::now();
  cli::subscription s{server.url(), {}, "", "/v1/topics/news/ws", 300ms};
  auto err = cli::run_subscription(s, out);
  CHECK_FALSE(err);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 2s);
  CHECK(server.finish().empty());
  CHECK(server.authorization.empty());
  CHECK(out.str() == expected_lines);
}

TEST_CASE("a refused subscription is the error of the server's reply", "[cli][ws]") {
  ws_server server{script::refuse};
  std::ostringstream out;
  auto start = std::chrono::steady_clock::now();
  auto err = cli::run_subscription({server.url(), {}, "", "/v1/topics/news/ws", std::nullopt}, out);
  REQUIRE(err);
  CHECK(code_of(err) == errc::not_found);
  CHECK(message_of(err) == "topic news not found");
  CHECK(out.str().empty());
  // The handshake's timer must not hold the caller after the refusal.
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}
