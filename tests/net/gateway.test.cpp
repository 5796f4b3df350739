// The gateway's own behaviour, in process: stopping while responses are written.
#include <optional>
#include <thread>

#include "tests/net/gateway_fixture.hpp"
#include "tests/support/raw_socket.hpp"

using namespace debros;
using namespace debros::test;

TEST_CASE("stopping the gateway lets a response that is being written finish", "[net][gateway]") {
  gateway_fixture f;
  f.start_gateway(false);
  // The largest value, and a client with a small receive buffer: far more than the kernel
  // buffers, so the write is still going on when the client has read the headers and pauses.
  std::string big(size_t{16} << 20, 'x');
  auto put = f.client().request("PUT", "/v1/kv/ns/big", big);
  REQUIRE(put);
  REQUIRE(put->status == 201);
  raw_socket s{f.address(), 64 << 10};
  s.send_all("GET /v1/kv/ns/big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply;
  REQUIRE(s.read_until(reply, "\r\n\r\n"));
  REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
  std::thread stopper{[&] { f.gw->stop(std::chrono::seconds{20}); }};
  // Give a stop that does not wait for the write the time to cut it off.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  auto head = reply.find("\r\n\r\n") + 4;
  bool whole = s.read_at_least(reply, head + big.size());
  stopper.join();
  CHECK(whole);
  CHECK(reply.size() - head == big.size());
}

namespace {

// The number of HTTP responses in `bytes` (status lines).
size_t responses_in(const std::string& bytes) {
  size_t n = 0;
  for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos;
       at = bytes.find("HTTP/1.1 ", at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("stopping the gateway answers a request whose headers are still arriving",
          "[net][gateway]") {
  gateway_fixture f;
  f.start_gateway(false);
  std::optional<raw_socket> s{std::in_place, f.address()};
  s->send_all("GET /v1/health HTTP/1.1\r\nHost: x\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds{100}); // the gateway has read them
  net::gateway::stop_report report;
  std::thread stopper{[&] { report = f.gw->stop(std::chrono::seconds{10}); }};
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  s->send_all("\r\n");
  std::string reply;
  auto end = s->read_to_end(reply);
  s.reset(); // the client closes too: the gateway's linger ends
  stopper.join();
  CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(reply.find("Connection: close\r\n") != std::string::npos);
  CHECK(end == raw_socket::ending::end_of_stream);
  CHECK(report.http_connections_cut == 0);
  CHECK(report.requests_cut == 0);
}

TEST_CASE("stopping the gateway answers the pipelined requests it has received", "[net][gateway]") {
  gateway_fixture f;
  f.start_gateway(false);
  std::string big(size_t{4} << 20, 'x');
  auto put = f.client().request("PUT", "/v1/kv/ns/big", big);
  REQUIRE(put);
  REQUIRE(put->status == 201);
  // The first response is still being written (a small receive buffer) when the stop begins;
  // two more requests wait behind it in the gateway's buffer.
  std::optional<raw_socket> s{std::in_place, f.address(), 64 << 10};
  s->send_all("GET /v1/kv/ns/big HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply;
  REQUIRE(s->read_until(reply, "\r\n\r\n"));
  REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
  net::gateway::stop_report report;
  std::thread stopper{[&] { report = f.gw->stop(std::chrono::seconds{20}); }};
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  auto end = s->read_to_end(reply);
  s.reset(); // the client closes too: the gateway's linger ends
  stopper.join();
  CHECK(responses_in(reply.substr(reply.find("\r\n\r\n") + 4 + big.size())) == 2);
  CHECK(reply.size() > big.size());
  // Only the last answer closes the connection.
  auto last = reply.rfind("HTTP/1.1 200");
  CHECK(reply.find("Connection: close\r\n", last) != std::string::npos);
  CHECK(reply.find("Connection: close\r\n") > last);
  CHECK(end == raw_socket::ending::end_of_stream);
  CHECK(report.requests_cut == 0);
}

TEST_CASE("stopping the gateway closes an idle kept-alive connection in order, at once",
          "[net][gateway]") {
  gateway_fixture f;
  f.start_gateway(false);
  std::optional<raw_socket> s{std::in_place, f.address()};
  s->send_all("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply;
  REQUIRE(s->read_until(reply, "\r\n\r\n"));
  REQUIRE(reply.find("Connection: close") == std::string::npos); // kept alive
  reply.clear();
  auto t0 = std::chrono::steady_clock::now();
  net::gateway::stop_report report;
  std::thread stopper{[&] { report = f.gw->stop(std::chrono::seconds{10}); }};
  auto end = s->read_to_end(reply);
  s.reset(); // the client closes too: the gateway's linger ends
  stopper.join();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(end == raw_socket::ending::end_of_stream);
  CHECK(reply.empty());
  CHECK(report.http_connections_cut == 0);
  // The client's close ended the linger: the stop did not wait for a deadline.
  CHECK(took < std::chrono::seconds{2});
}
