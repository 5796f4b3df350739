// Hostile clients against a real debros-node on loopback (issue 8: tokenless denial of service,
// request smuggling, weak TLS suites). Each test reproduces one attack.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/net/e2e_fixture.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/tls_cert.hpp"

using namespace debros;
using namespace debros::test;
using namespace std::chrono_literals;

namespace {

std::string status_line(const std::string& reply) {
  return reply.substr(0, reply.find("\r\n"));
}

std::string health_request() {
  return "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
}

// Whether a fresh connection from `source` gets 200 for /v1/health.
bool served(const std::string& hostport, const std::string& source = {}) {
  raw_socket s{hostport, 0, source};
  s.send_all("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto reply = s.read_all();
  INFO(reply.substr(0, 120));
  return reply.rfind("HTTP/1.1 200", 0) == 0;
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{in}, {}};
  std::istringstream rest{stat.substr(stat.rfind(')') + 2)};
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stol(field);
    if (i == 15)
      stime = std::stol(field);
  }
  return utime + stime;
}

} // namespace

TEST_CASE("a request without a valid token is refused on its headers, before its body",
          "[net][e2e][hostile]") {
  e2e_fixture f;
  SECTION("a 16 MiB body announced, a few bytes sent: 401 at once and the connection closed") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/big HTTP/1.1\r\nHost: x\r\nContent-Length: 16777215\r\n\r\nabc");
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 401 Unauthorized");
    CHECK_THAT(reply, Catch::Contains("unauthenticated"));
  }
  SECTION("a forged token is refused the same way") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer forged\r\n"
               "Content-Length: 16777215\r\n\r\nabc");
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 401 Unauthorized");
  }
  SECTION("a valid token still gets its body read and answered") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/small HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
               f.node.admin_token() + "\r\nContent-Length: 3\r\n\r\nabc");
    std::string reply;
    CHECK(s.read_until(reply, "\r\n\r\n"));
    CHECK(reply.rfind("HTTP/1.1 20", 0) == 0);
  }
  CHECK(f.call(f.client(), "GET", "/v1/health").status == 200);
}

TEST_CASE("bodies held by all connections together stay within --max-inflight-body-bytes",
          "[net][e2e][hostile]") {
  e2e_fixture f{{"--max-inflight-body-bytes", "1000000"}};
  auto put = [&](const std::string& key, size_t length) {
    return "PUT /v1/kv/ns/" + key + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           f.node.admin_token() + "\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
  };
  std::string body(600000, 'b');
  raw_socket holder{f.node.http()};
  holder.send_all(put("a", body.size()) + body.substr(0, 1000));
  // The holder's reservation is taken when its headers are read; wait until it surely was.
  std::this_thread::sleep_for(300ms);
  SECTION("a second body past the budget gets 503 unavailable and the connection closes") {
    raw_socket s{f.node.http()};
    s.send_all(put("b", body.size()));
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
    CHECK_THAT(reply, Catch::Contains("unavailable"));
  }
  SECTION("a chunked body past the budget gets 503 when its chunk is announced") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/chunked HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
               f.node.admin_token() + "\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" +
               std::string(16, 'c') + "\r\n927c0\r\n" + std::string(1000, 'c'));
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
  }
  SECTION("a body that fits beside it is served") {
    raw_socket s{f.node.http()};
    s.send_all(put("c", 1000) + std::string(1000, 'c'));
    std::string reply;
    CHECK(s.read_until(reply, "\r\n\r\n"));
    CHECK(reply.rfind("HTTP/1.1 20", 0) == 0);
  }
  SECTION("the budget is released when the request is done") {
    holder.send_all(std::string_view{body}.substr(1000));
    std::string first;
    REQUIRE(holder.read_until(first, "\r\n\r\n"));
    CHECK(first.rfind("HTTP/1.1 20", 0) == 0);
    raw_socket s{f.node.http()};
    s.send_all(put("b", body.size()) + body);
    std::string reply;
    CHECK(s.read_until(reply, "\r\n\r\n"));
    CHECK(reply.rfind("HTTP/1.1 20", 0) == 0);
  }
}

TEST_CASE("a slowloris client is closed after the header timeout", "[net][e2e][hostile]") {
  // The default --header-timeout-ms (5000): one header byte per second never completes a request.
  e2e_fixture f{{"--no-auth"}};
  raw_socket s{f.node.http()};
  std::string request = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 'z');
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (size_t i = 0; i < 20 && !closed; ++i) {
    s.send_all(std::string_view{request}.substr(i, 1));
    std::this_thread::sleep_for(1s);
    closed = s.closed_by_peer();
  }
  auto held = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("held for " << held << " s");
  REQUIRE(closed);
  CHECK(held < 9.0);
  CHECK(served(f.node.http()));
}

TEST_CASE("a new connection that sends nothing is closed after the header timeout",
          "[net][e2e][hostile]") {
  e2e_fixture f{{"--no-auth", "--header-timeout-ms", "1000"}};
  raw_socket s{f.node.http()};
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = s.closed_by_peer();
  }
  CHECK(closed);
  SECTION("while a kept-alive connection may wait longer (--idle-timeout-ms)") {
    raw_socket k{f.node.http()};
    k.send_all(health_request());
    std::string reply;
    REQUIRE(k.read_until(reply, "\r\n\r\n"));
    std::this_thread::sleep_for(2s);
    CHECK_FALSE(k.closed_by_peer());
  }
}

TEST_CASE("a body that does not arrive within --body-timeout-ms closes the connection",
          "[net][e2e][hostile]") {
  e2e_fixture f{{"--no-auth", "--body-timeout-ms", "1000", "--header-timeout-ms", "1000"}};
  raw_socket s{f.node.http()};
  s.send_all("PUT /v1/kv/ns/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = s.closed_by_peer();
  }
  auto held = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("held for " << held << " s");
  CHECK(closed);
  CHECK(f.call(f.client(), "GET", "/v1/kv/ns/slow").status == 404);
}

TEST_CASE("one client address holds at most --max-connections-per-ip connections",
          "[net][e2e][hostile]") {
  // The default cap (64): 64 idle connections from 127.0.0.1 fill it.
  e2e_fixture f{{"--no-auth"}};
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 64; ++i) {
    held.push_back(std::make_unique<raw_socket>(f.node.http()));
    held.back()->send_all(health_request());
    std::string reply;
    REQUIRE(held.back()->read_until(reply, "\r\n\r\n"));
  }
  SECTION("the next connection from the same address gets 503 and is closed") {
    raw_socket s{f.node.http()};
    s.send_all(health_request());
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
  }
  SECTION("a client from another address is served") {
    CHECK(served(f.node.http(), "127.0.0.2"));
  }
  SECTION("closing some makes room again") {
    held.resize(60);
    std::this_thread::sleep_for(500ms);
    CHECK(served(f.node.http()));
  }
}

TEST_CASE("at --max-connections the oldest idle keep-alive connection makes room",
          "[net][e2e][hostile]") {
  e2e_fixture f{{"--no-auth", "--max-connections", "4"}};
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<raw_socket>(f.node.http()));
    idle.back()->send_all(health_request());
    std::string reply;
    REQUIRE(idle.back()->read_until(reply, "\r\n\r\n"));
    std::this_thread::sleep_for(20ms); // an order of age
  }
  SECTION("a new client is served and the oldest idle connection is closed") {
    CHECK(served(f.node.http()));
    std::this_thread::sleep_for(200ms);
    CHECK(idle[0]->closed_by_peer());
    CHECK_FALSE(idle[3]->closed_by_peer());
  }
  SECTION("with no idle connection (all half way through a request), it gets 503") {
    for (auto& s : idle)
      s->send_all("GET /v1/health HTTP/1.1\r\nHo");
    std::this_thread::sleep_for(200ms);
    raw_socket s{f.node.http()};
    s.send_all(health_request());
    std::string reply;
    CHECK(s.read_until_closed(reply));
    CHECK(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
  }
}

TEST_CASE("with few file descriptors the node lowers its connection limit and does not spin",
          "[net][e2e][hostile]") {
  temp_dir dir;
  node_process node{dir.sub("data"), {"--no-auth"}, {"/usr/bin/prlimit", "--nofile=128:128", "--"}};
  CHECK_THAT(node.log(), Catch::Contains("--max-connections"));
  std::vector<std::unique_ptr<raw_socket>> flood;
  for (int i = 0; i < 200; ++i) {
    flood.push_back(std::make_unique<raw_socket>(node.http()));
    flood.back()->send_all("GET /v1/health HTTP/1.1\r\nHo");
  }
  // Held for 2 s: a spinning accept loop burns a core all along.
  auto before = cpu_ticks(node.pid());
  std::this_thread::sleep_for(2s);
  auto spent = cpu_ticks(node.pid()) - before;
  INFO("CPU ticks in 2 s: " << spent << " (of " << sysconf(_SC_CLK_TCK) << " per second)");
  CHECK(spent < sysconf(_SC_CLK_TCK) / 2);
  flood.clear();
  std::this_thread::sleep_for(500ms);
  CHECK(served(node.http()));
}

TEST_CASE("out of file descriptors, the accept loop backs off and says so", "[net][e2e][hostile]") {
  // 26 descriptors: the node itself uses about 16, so the ninth or so connection fails with
  // EMFILE even below the lowered --max-connections (16).
  temp_dir dir;
  node_process node{dir.sub("data"), {"--no-auth"}, {"/usr/bin/prlimit", "--nofile=26:26", "--"}};
  std::vector<std::unique_ptr<raw_socket>> flood;
  for (int i = 0; i < 40; ++i) {
    flood.push_back(std::make_unique<raw_socket>(node.http()));
    flood.back()->send_all("GET /v1/health HTTP/1.1\r\nHo");
  }
  auto before = cpu_ticks(node.pid());
  std::this_thread::sleep_for(2s);
  auto spent = cpu_ticks(node.pid()) - before;
  INFO("CPU ticks in 2 s: " << spent << " (of " << sysconf(_SC_CLK_TCK) << " per second)");
  CHECK(spent < sysconf(_SC_CLK_TCK) / 2);
  auto log = node.log();
  CHECK_THAT(log, Catch::Contains("cannot accept connections: Too many open files"));
  // At most one line a second (and one at the first failure).
  size_t lines = 0;
  for (auto at = log.find("cannot accept"); at != std::string::npos;
       at = log.find("cannot accept", at + 1))
    ++lines;
  CHECK(lines <= 4);
  flood.clear();
  std::this_thread::sleep_for(500ms);
  CHECK(served(node.http()));
}

TEST_CASE("transfer codings other than exactly chunked are refused and never smuggle a request",
          "[net][e2e][hostile]") {
  e2e_fixture f;
  auto token = f.node.admin_token();
  auto smuggled = "PUT /v1/kv/ns/smuggled HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                  "\r\nContent-Length: 1\r\n\r\nv";
  auto attack = [&](const std::string& headers, const std::string& version = "1.1") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/outer HTTP/" + version + "\r\nHost: x\r\nAuthorization: Bearer " +
               token + "\r\n" + headers + "\r\n" + smuggled);
    std::string reply;
    CHECK(s.read_until_closed(reply));
    INFO(reply);
    auto status = status_line(reply);
    CHECK((status.rfind("HTTP/1.1 400", 0) == 0 || status.rfind("HTTP/1.1 501", 0) == 0));
    // One answer only: the smuggled request was never parsed.
    auto server = reply.find("Server: debros/");
    CHECK(server != std::string::npos);
    CHECK(reply.find("Server: debros/", server + 1) == std::string::npos);
    CHECK(f.call("GET", "/v1/kv/ns/smuggled").status == 404);
  };
  SECTION("gzip") {
    attack("Transfer-Encoding: gzip\r\n");
  }
  SECTION("identity") {
    attack("Transfer-Encoding: identity\r\n");
  }
  SECTION("xchunked") {
    attack("Transfer-Encoding: xchunked\r\n");
  }
  SECTION("chunked, identity") {
    attack("Transfer-Encoding: chunked, identity\r\n");
  }
  SECTION("chunked twice in two fields") {
    attack("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n");
  }
  SECTION("chunked with Content-Length") {
    attack("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n");
  }
  SECTION("chunked on HTTP/1.0") {
    attack("Transfer-Encoding: chunked\r\n", "1.0");
  }
  SECTION("exactly chunked, in any case and with spaces, is still served") {
    raw_socket s{f.node.http()};
    s.send_all("PUT /v1/kv/ns/chunked HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
               "\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    std::string reply;
    CHECK(s.read_until(reply, "\r\n\r\n"));
    CHECK(reply.rfind("HTTP/1.1 20", 0) == 0);
  }
}

TEST_CASE("HTTPS over TLS 1.2 offers only ECDHE suites with AEAD ciphers", "[net][e2e][tls]") {
  temp_dir dir;
  auto cert = dir.sub("rsa.pem");
  auto key = dir.sub("rsa.key");
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                       cert + " -subj /CN=localhost -days 1 >/dev/null 2>&1")
                          .c_str()) == 0);
  node_process node{dir.sub("data"), {"--no-auth", "--tls-cert", cert, "--tls-key", key}};
  auto handshake = [&](const std::string& args) {
    auto cmd = "openssl s_client -connect " + node.http() + " " + args + " </dev/null >" +
               dir.sub("s_client.log") + " 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  CHECK_FALSE(handshake("-tls1_2 -cipher AES128-SHA"));
  CHECK_FALSE(handshake("-tls1_2 -cipher AES256-SHA"));
  CHECK_FALSE(handshake("-tls1_2 -cipher AES128-GCM-SHA256"));
  CHECK_FALSE(handshake("-tls1_2 -cipher ECDHE-RSA-AES128-SHA"));
  CHECK(handshake("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"));
  CHECK(handshake("-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305"));
  CHECK(handshake("-tls1_3"));
}
