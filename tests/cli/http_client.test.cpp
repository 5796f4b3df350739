// net::http_client against a scripted HTTP server on a loopback socket (plain POSIX sockets, so
// that the test does not share code with what it tests).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "messages/errc.hpp"
#include "net/http_client.hpp"
#include "tests/support/raw_socket.hpp"

using namespace debros;
using namespace std::chrono_literals;

namespace {

// Serves each connection: replies to at most `replies_per_connection` requests, then closes it
// without saying so (as a server closing an idle keep-alive connection does). Each reply waits
// `delay` first. The reply body is `body_for(target)`; its status is 200 unless the target
// starts with "/status/NNN".
class scripted_server {
public:
  explicit scripted_server(int replies_per_connection, std::chrono::milliseconds delay = 0ms)
      : replies_per_connection_(replies_per_connection), delay_(delay) {
    auto l = test::listen_on_loopback();
    fd_ = l.fd;
    port_ = l.port;
    acceptor_ = std::thread{[this] { accept_loop(); }};
  }

  ~scripted_server() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_)
      t.join();
    close(fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

private:
  bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_)
      if (poll(&p, 1, 20) > 0)
        return true;
    return false;
  }

  void accept_loop() {
    while (wait_readable(fd_)) {
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0)
        continue;
      ++connections_;
      workers_.emplace_back([this, conn] { serve(conn); });
    }
  }

  // Reads one request (head and Content-Length body); false when the peer closed.
  bool read_request(int conn, std::string& head, std::string& body) {
    std::string data;
    char buf[4096];
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(conn))
        return false;
      auto n = read(conn, buf, sizeof buf);
      if (n <= 0)
        return false;
      data.append(buf, static_cast<size_t>(n));
    }
    head = data.substr(0, head_end);
    size_t length = 0;
    if (auto cl = head.find("Content-Length: "); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 16));
    body = data.substr(head_end + 4);
    while (body.size() < length) {
      if (!wait_readable(conn))
        return false;
      auto n = read(conn, buf, sizeof buf);
      if (n <= 0)
        return false;
      body.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  void serve(int conn) {
    std::string head;
    std::string body;
    for (int i = 0; i < replies_per_connection_ && read_request(conn, head, body); ++i) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        requests_.push_back(head + "\r\n\r\n" + body);
      }
      auto target = head.substr(head.find(' ') + 1);
      target = target.substr(0, target.find(' '));
      int status = target.starts_with("/status/") ? std::stoi(target.substr(8, 3)) : 200;
      std::string reply_body =
          target.starts_with("/text") ? "plain text"
          : status == 200
              ? R"({"target":")" + target + R"(","size":)" + std::to_string(body.size()) + "}"
              : R"({"error":{"code":"validation_failed","message":"bad doc",)"
                R"("details":[{"field":"title","message":"required"}]}})";
      std::this_thread::sleep_for(delay_);
      auto reply = "HTTP/1.1 " + std::to_string(status) +
                   " X\r\nContent-Length: " + std::to_string(reply_body.size()) +
                   "\r\nX-Debros-Test: yes\r\n\r\n" + reply_body;
      if (write(conn, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size()))
        break;
    }
    close(conn);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  int replies_per_connection_;
  std::chrono::milliseconds delay_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mtx_;
  std::vector<std::string> requests_;
};

net::http_client make_client(const std::string& url, net::http_client_options o = {}) {
  auto c = net::http_client::make(url, o);
  REQUIRE(c);
  return std::move(*c);
}

// A loopback port on which nothing listens.
uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

TEST_CASE("base URLs parse into scheme, host and port", "[net][http_client]") {
  CHECK(*net::parse_base_url("http://127.0.0.1:7700") == net::base_url{false, "127.0.0.1", 7700});
  CHECK(*net::parse_base_url("https://node.example:8443/") ==
        net::base_url{true, "node.example", 8443});
  CHECK(*net::parse_base_url("http://[::1]:7700") == net::base_url{false, "::1", 7700});
  CHECK(*net::parse_base_url("http://localhost") == net::base_url{false, "localhost", 80});
  CHECK(*net::parse_base_url("https://[::1]") == net::base_url{true, "::1", 443});
  CHECK(net::to_string(net::base_url{true, "::1", 443}) == "https://[::1]:443");
  SECTION("other schemes, paths and bad ports are refused") {
    for (auto bad : {"", "127.0.0.1:7700", "ftp://h:1", "http://", "http://h:1/v1", "http://h:x",
                     "http://h:0", "http://h:70000", "http://::1:80"}) {
      INFO(bad);
      auto r = net::parse_base_url(bad);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
    }
  }
}

TEST_CASE("API error replies become errors with their code and details", "[net][http_client]") {
  auto parsed = net::json_response{
      422,
      value{object{
          {"error", value{object{
                        {"code", "validation_failed"},
                        {"message", "bad doc"},
                        {"details",
                         value{array{value{object{{"field", "title"}, {"message", "required"}}}}}},
                    }}},
      }}};
  auto err = net::error_of(parsed);
  CHECK(code_of(err) == errc::validation_failed);
  CHECK(message_of(err) == "bad doc");
  CHECK(details_of(err) == std::vector<error_detail>{{"title", "required"}});
  SECTION("a body of another shape gives the status's code") {
    auto e = net::error_of(net::http_response{502, "<html>bad gateway</html>", {}});
    CHECK(code_of(e) == errc::internal);
    CHECK_THAT(message_of(e), Catch::Contains("502") && Catch::Contains("bad gateway"));
    CHECK(code_of(net::error_of(net::http_response{501, "", {}})) == errc::unimplemented);
    CHECK(net::errc_from_name("no_such_code") == errc::internal);
  }
}

TEST_CASE("the client keeps one connection alive across requests", "[net][http_client]") {
  scripted_server server{100};
  auto client = make_client(server.url());
  client.set_default_header("Authorization", "Bearer one");
  client.set_default_header("authorization", "Bearer two");
  for (int i = 0; i < 5; ++i) {
    auto r = client.request("POST", "/v1/x", "hi");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == R"({"target":"/v1/x","size":2})");
    CHECK(r->headers.get("x-debros-test") == "yes");
    CHECK(r->headers.find("Content-Length") != nullptr);
  }
  CHECK(server.connections() == 1);
  auto sent = server.requests();
  REQUIRE(sent.size() == 5);
  CHECK_THAT(sent[0], Catch::Contains("authorization: Bearer two"));
  CHECK_THAT(sent[0], !Catch::Contains("Bearer one"));
  SECTION("json sends JSON and parses the reply") {
    auto r = client.json("PUT", "/v1/y", value{object{{"a", 1}}});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find("size")->as_int() == 7);
    CHECK_THAT(server.requests().back(),
               Catch::Contains("Content-Type: application/json") && Catch::EndsWith(R"({"a":1})"));
  }
  SECTION("error replies are replies; error_of reads them") {
    auto r = client.json("GET", "/status/422");
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(code_of(net::error_of(*r)) == errc::validation_failed);
  }
  SECTION("a successful reply that is not JSON is an error of json") {
    auto r = client.json("GET", "/text");
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::internal);
  }
  SECTION("bad methods and targets are refused before sending") {
    CHECK(code_of(client.request("FETCH", "/").error()) == errc::invalid_argument);
    CHECK(code_of(client.request("GET", "v1/health").error()) == errc::invalid_argument);
  }
}

TEST_CASE("a connection the server closed while idle is reopened once, transparently",
          "[net][http_client]") {
  scripted_server server{1};
  auto client = make_client(server.url());
  for (int i = 0; i < 4; ++i) {
    // Give the server's close time to arrive, as an idle timeout's would.
    std::this_thread::sleep_for(20ms);
    auto r = client.request("GET", "/v1/health");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(server.connections() == 4);
}

TEST_CASE("a connection refused names the address", "[net][http_client]") {
  auto port = closed_port();
  auto client = make_client("http://127.0.0.1:" + std::to_string(port));
  auto r = client.request("GET", "/v1/health");
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::unavailable);
  CHECK_THAT(message_of(r.error()), Catch::Contains("127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("a reply slower than the request timeout is a timeout error", "[net][http_client]") {
  scripted_server server{100, 1000ms};
  net::http_client_options o;
  o.request_timeout = 100ms;
  auto client = make_client(server.url(), o);
  auto start = std::chrono::steady_clock::now();
  auto r = client.request("GET", "/slow");
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::timeout);
  CHECK_THAT(message_of(r.error()), Catch::Contains("timed out after 100 ms"));
  CHECK(std::chrono::steady_clock::now() - start < 900ms);
}

TEST_CASE("a reply larger than the body limit is too_large", "[net][http_client]") {
  scripted_server server{100};
  net::http_client_options o;
  o.max_body_bytes = 10;
  auto client = make_client(server.url(), o);
  auto r = client.request("GET", "/a-target-long-enough");
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::too_large);
}
