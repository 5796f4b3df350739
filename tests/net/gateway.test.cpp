// The gateway's own behaviour, in process: stopping while responses are written.
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
