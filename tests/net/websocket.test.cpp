#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "tests/net/gateway_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace beast = boost::beast;
namespace asio = boost::asio;

namespace {

// Echoes every text frame back, upper-cased, and counts closes.
class echo_handler : public net::ws_handler {
public:
  explicit echo_handler(std::atomic<int>& closes) : closes_(closes) {}
  void on_open(std::shared_ptr<net::ws_channel> ch) override {
    ch_ = ch;
    ch_->send("welcome");
  }
  void on_text(std::string text) override {
    for (auto& c : text)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ch_->send(text);
  }
  void on_close() override { ++closes_; }

private:
  std::atomic<int>& closes_;
  std::shared_ptr<net::ws_channel> ch_;
};

struct ws_fixture : gateway_fixture {
  std::atomic<int> closes{0};
  /// Who the factory was last asked for ("admin", a user id, or "anonymous").
  std::string opened_by;
  std::mutex mtx;

  explicit ws_fixture(bool auth_on = false) {
    auto factory =
        [this](const net::api_request& req,
               const net::principal& who) -> caf::expected<std::shared_ptr<net::ws_handler>> {
      {
        std::lock_guard<std::mutex> guard{mtx};
        opened_by = who.is_admin() ? "admin" : who.is_user() ? who.user : "anonymous";
      }
      if (req.query == "refuse=1")
        return make_error(errc::forbidden, "not for you");
      return std::make_shared<echo_handler>(closes);
    };
    start_gateway(auth_on, {}, {{"/v1/test/echo", factory}});
  }

  std::string who_opened() {
    std::lock_guard<std::mutex> guard{mtx};
    return opened_by;
  }
};

// Beast's client leaves the response undefined when a handshake fails: send the upgrade request
// as plain HTTP on `stream` and return the status of the answer.
int upgrade_status(beast::tcp_stream& stream, const std::string& host, const std::string& target,
                   const std::string& authorization = {}) {
  namespace http = beast::http;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  if (!authorization.empty())
    req.set(http::field::authorization, authorization);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return res.result_int();
}

} // namespace

TEST_CASE("the gateway upgrades to WebSocket and frames flow both ways", "[net][websocket]") {
  ws_fixture f;
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver{ioc};
  beast::websocket::stream<beast::tcp_stream> ws{ioc};
  auto where = f.gw->local();
  auto results = resolver.resolve(where.host, std::to_string(where.port));
  beast::get_lowest_layer(ws).connect(results);
  SECTION("accepted: a greeting, then echoes in order") {
    ws.handshake(where.host, "/v1/test/echo");
    beast::flat_buffer buf;
    ws.read(buf);
    CHECK(beast::buffers_to_string(buf.data()) == "welcome");
    for (auto word : {"one", "two", "three"}) {
      ws.write(asio::buffer(std::string{word}));
      buf.clear();
      ws.read(buf);
      std::string expected{word};
      for (auto& c : expected)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      CHECK(beast::buffers_to_string(buf.data()) == expected);
    }
    ws.close(beast::websocket::close_code::normal);
    for (int i = 0; i < 200 && f.closes == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(f.closes == 1);
  }
  auto upgrade = [&](const std::string& target) {
    return upgrade_status(beast::get_lowest_layer(ws), where.host, target);
  };
  SECTION("refused: an HTTP error instead of an upgrade") {
    CHECK(upgrade("/v1/test/echo?refuse=1") == 403);
  }
  SECTION("an upgrade to a route without WebSocket gets its HTTP answer") {
    CHECK(upgrade("/v1/topics/news/ws") == 501);
  }
}

TEST_CASE("with authentication on, a WebSocket upgrade needs a valid token", "[net][websocket]") {
  ws_fixture f{true};
  asio::io_context ioc;
  auto where = f.gw->local();
  auto connect = [&](beast::tcp_stream& stream) {
    asio::ip::tcp::resolver resolver{ioc};
    stream.connect(resolver.resolve(where.host, std::to_string(where.port)));
  };
  SECTION("no token: 401, and the endpoint never sees the request") {
    beast::tcp_stream stream{ioc};
    connect(stream);
    CHECK(upgrade_status(stream, where.host, "/v1/test/echo") == 401);
    CHECK(f.who_opened().empty());
  }
  SECTION("a wrong token: 401") {
    beast::tcp_stream stream{ioc};
    connect(stream);
    CHECK(upgrade_status(stream, where.host, "/v1/test/echo", "Bearer not-the-token") == 401);
    CHECK(f.who_opened().empty());
  }
  SECTION("the admin token: upgraded, and the endpoint is told who asked") {
    beast::websocket::stream<beast::tcp_stream> ws{ioc};
    connect(beast::get_lowest_layer(ws));
    ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& r) {
      r.set(beast::http::field::authorization, "Bearer " + f.admin_token());
    }));
    ws.handshake(where.host, "/v1/test/echo");
    beast::flat_buffer buf;
    ws.read(buf);
    CHECK(beast::buffers_to_string(buf.data()) == "welcome");
    CHECK(f.who_opened() == "admin");
  }
  SECTION("a user token: the endpoint gets the user") {
    beast::tcp_stream stream{ioc};
    connect(stream);
    auto token = f.a->issue("alice", 60);
    CHECK(upgrade_status(stream, where.host, "/v1/test/echo?refuse=1", "Bearer " + token) == 403);
    CHECK(f.who_opened() == "alice");
  }
}

TEST_CASE("stopping the gateway closes each WebSocket with 1001 going away", "[net][websocket]") {
  ws_fixture f;
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver{ioc};
  beast::websocket::stream<beast::tcp_stream> ws{ioc};
  auto where = f.gw->local();
  beast::get_lowest_layer(ws).connect(resolver.resolve(where.host, std::to_string(where.port)));
  ws.handshake(where.host, "/v1/test/echo");
  beast::flat_buffer buf;
  ws.read(buf);
  REQUIRE(beast::buffers_to_string(buf.data()) == "welcome");
  net::gateway::stop_report report;
  std::thread stopper{[&] { report = f.gw->stop(std::chrono::seconds{10}); }};
  beast::error_code ec;
  buf.clear();
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds{5});
  ws.read(buf, ec); // answers the close frame, then ends
  stopper.join();
  CHECK(ec == beast::websocket::error::closed);
  CHECK(ws.reason().code == beast::websocket::close_code::going_away);
  CHECK(f.closes == 1);
  CHECK(report.websockets_cut == 0);
  CHECK(report.http_connections_cut == 0);
}
