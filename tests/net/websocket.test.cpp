#include <catch2/catch.hpp>

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

  ws_fixture() {
    auto factory =
        [this](const net::api_request& req) -> caf::expected<std::shared_ptr<net::ws_handler>> {
      if (req.query == "refuse=1")
        return make_error(errc::forbidden, "not for you");
      return std::make_shared<echo_handler>(closes);
    };
    start_gateway(false, {}, {{"/v1/test/echo", factory}});
  }
};

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
  // Beast's client leaves the response undefined when a handshake fails: send the upgrade
  // request as plain HTTP and read the answer.
  auto upgrade_status = [&](const std::string& target) {
    namespace http = beast::http;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, where.host);
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    auto& stream = beast::get_lowest_layer(ws);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return res.result_int();
  };
  SECTION("refused: an HTTP error instead of an upgrade") {
    CHECK(upgrade_status("/v1/test/echo?refuse=1") == 403);
  }
  SECTION("an upgrade to a route without WebSocket gets its HTTP answer") {
    CHECK(upgrade_status("/v1/topics/news/ws") == 501);
  }
}
