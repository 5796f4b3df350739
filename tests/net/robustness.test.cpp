#include <fstream>
#include <random>
#include <thread>

#include "tests/net/e2e_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/raw_socket.hpp"

using namespace debros;
using namespace debros::test;

TEST_CASE("garbage on a raw socket gets 4xx or a closed connection, and the node stays up",
          "[net][e2e][robustness]") {
  e2e_fixture f;
  std::mt19937_64 rng{11};
  for (int i = 0; i < 30; ++i) {
    raw_socket s{f.node.http()};
    std::string junk(64 + rng() % 2000, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    if (i % 3 == 0)
      junk = "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n" + junk;
    if (i % 3 == 1)
      junk =
          "POST /v1/models/X/docs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n" + junk;
    s.send_all(junk);
    auto reply = s.read_all();
    INFO("reply: " << reply.substr(0, 80));
    CHECK((reply.empty() || reply.rfind("HTTP/1.1 4", 0) == 0));
  }
  auto health = f.call(f.client(), "GET", "/v1/health");
  CHECK(health.status == 200);
}

TEST_CASE("limits: body size, JSON depth and header size answer 413", "[net][e2e][robustness]") {
  e2e_fixture f{
      {"--max-body-bytes", "4096", "--max-json-depth", "8", "--max-header-bytes", "2048"}};
  REQUIRE(f.call("PUT", "/v1/models/Post", post_model).status == 201);
  SECTION("a body over the limit") {
    auto big = R"({"title": ")" + std::string(5000, 'x') + "\"}";
    auto r = f.admin.request("POST", "/v1/models/Post/docs", big);
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(parse_json(r->body)->find_path("error.code")->as_string() == "too_large");
  }
  SECTION("JSON nested past the limit") {
    auto deep =
        R"({"title": "ok", "views": )" + std::string(20, '[') + "1" + std::string(20, ']') + "}";
    auto r = f.call("POST", "/v1/models/Post/docs", deep);
    CHECK(r.status == 413);
  }
  SECTION("headers over the limit") {
    auto r = f.admin.request("GET", "/v1/health", {}, {{"X-Padding", std::string(4000, 'p')}});
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  CHECK(f.call(f.client(), "GET", "/v1/health").status == 200);
}

TEST_CASE("connections past the maximum are refused with 503", "[net][e2e][robustness]") {
  e2e_fixture f{{"--max-connections", "2", "--no-auth"}};
  // Both connections are in the middle of a request (not idle, so none is shed to make room):
  // the next connection is over the limit. An idle one would be closed instead
  // (hostile.test.cpp, "at --max-connections the oldest idle keep-alive connection makes room").
  raw_socket a{f.node.http()};
  raw_socket b{f.node.http()};
  a.send_all("GET /v1/health HTTP/1.1\r\n");
  b.send_all("GET /v1/health HTTP/1.1\r\n");
  std::string reply;
  // The gateway must have read a first byte of each before they count as busy.
  for (int attempt = 0; attempt < 50 && reply.rfind("HTTP/1.1 503", 0) != 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    raw_socket c{f.node.http()};
    reply = c.read_all();
  }
  CHECK(reply.rfind("HTTP/1.1 503", 0) == 0);
  CHECK_THAT(reply, Catch::Contains("too many connections"));
}

TEST_CASE("SIGTERM stops the node with exit 0 and acknowledged data survives a restart",
          "[net][e2e][robustness]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Post", post_model).status == 201);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r =
        f.call("POST", "/v1/models/Post/docs", R"({"title": "keep)" + std::to_string(i) + "\"}");
    REQUIRE(r.status == 201);
    ids.push_back(r.body.find("id")->as_string());
  }
  REQUIRE(f.admin.request("PUT", "/v1/kv/ns/k", "kept")->status == 201);
  int status = f.node.stop(SIGTERM);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  f.node.restart();
  auto admin = f.client(f.node.admin_token());
  for (auto& id : ids)
    CHECK(f.call(admin, "GET", "/v1/models/Post/docs/" + id).status == 200);
  CHECK(admin.request("GET", "/v1/kv/ns/k")->body == "kept");
  SECTION("SIGINT too") {
    int st = f.node.stop(SIGINT);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
  }
}

TEST_CASE("on SIGTERM every request already received on a kept-alive connection is answered",
          "[net][e2e][robustness]") {
  e2e_fixture f;
  REQUIRE(f.admin.request("PUT", "/v1/kv/ns/k", "v")->status == 201);
  auto get = "GET /v1/kv/ns/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
             f.node.admin_token() + "\r\n\r\n";
  std::vector<std::unique_ptr<raw_socket>> conns;
  for (int i = 0; i < 32; ++i) {
    conns.push_back(std::make_unique<raw_socket>(f.node.http()));
    conns.back()->send_all(get);
    std::string first;
    REQUIRE(conns.back()->read_until(first, "\r\n\r\nv"));
  }
  // Each connection is idle and kept alive; its next request is on the wire before the signal,
  // whole on even connections, all but its last two bytes on odd ones (they follow the signal).
  for (size_t i = 0; i < conns.size(); ++i)
    conns[i]->send_all(i % 2 == 0 ? get : get.substr(0, get.size() - 2));
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  REQUIRE(kill(f.node.pid(), SIGTERM) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  for (size_t i = 1; i < conns.size(); i += 2)
    conns[i]->send_all("\r\n");
  int answered = 0;
  for (auto& c : conns) {
    std::string reply;
    auto end = c->read_to_end(reply);
    INFO("reply: " << reply.substr(0, 120));
    CHECK(end == raw_socket::ending::end_of_stream);
    if (reply.rfind("HTTP/1.1 200", 0) == 0 && reply.size() >= 1 &&
        reply.compare(reply.size() - 1, 1, "v") == 0)
      ++answered;
    c.reset();
  }
  CHECK(answered == 32);
  int status = f.node.stop(SIGTERM);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("bad node options are refused with a message", "[net][e2e][robustness]") {
  temp_dir dir;
  CHECK_THROWS(node_process{dir.sub("d1"), {"--seeds", "nonsense"}});
  CHECK_THROWS(node_process{dir.sub("d2"), {"--tls-cert", "/nonexistent.pem"}});
  std::string log;
  if (FILE* fp = std::fopen((dir.sub("d1") + ".log").c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, fp))
      log += buf;
    std::fclose(fp);
  }
  CHECK_THAT(log, Catch::Contains("invalid address"));
}

TEST_CASE("wrong options and config files stop the node before it starts, with exit 2",
          "[net][robustness]") {
  temp_dir dir;
  auto exit_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {DEBROS_NODE_BIN, "--data-dir", dir.sub("data"), "--http",
                               "127.0.0.1:0", "--cluster", "127.0.0.1:0"});
    child_process node{args};
    int status = node.wait();
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  };
  CHECK(exit_of({"--max-body-bytes", "-5"}) == 2);
  CHECK(exit_of({"--user-db-live-max", "0"}) == 2);
  CHECK(exit_of({"--max-inflight-per-connection", "0"}) == 2);
  CHECK(exit_of({"--max-inflight-engine-bytes", "0"}) == 2);
  CHECK(exit_of({"--max-inflight-engine-bytes", "-1"}) == 2);
  CHECK(exit_of({"--query-memory-bytes", "-1"}) == 2);
  CHECK(exit_of({"--query-memory-bytes", "64MiB"}) == 2);
  CHECK(exit_of({"--scan-slice-entries", "-1"}) == 2);
  CHECK(exit_of({"--scan-slice-entries", "ten"}) == 2);
  CHECK(exit_of({"--no-such-option"}) == 2);
  {
    std::ofstream conf{dir.sub("misspelled.conf")};
    conf << "max-body-bytz = 5\n";
  }
  CHECK(exit_of({"--config", dir.sub("misspelled.conf")}) == 2);
  {
    std::ofstream conf{dir.sub("good.conf")};
    conf << "max-body-bytes = 1000\n";
  }
  // A good file: the node starts (and is stopped by the child's destructor).
  child_process ok{{DEBROS_NODE_BIN, "--config", dir.sub("good.conf"), "--data-dir",
                    dir.sub("data"), "--http", "127.0.0.1:0", "--cluster", "127.0.0.1:0"}};
  std::string line;
  REQUIRE(ok.read_line(line));
  CHECK_THAT(line, Catch::Contains("127.0.0.1"));
}

TEST_CASE("a reply that comes after its 504 never answers the next request on the connection",
          "[net][e2e][robustness]") {
  e2e_fixture f{{"--request-timeout-ms", "10"}};
  // Even this may take longer than the timeout on a busy machine; defining it again is harmless.
  int defined = 0;
  for (int i = 0; i < 50 && defined != 200 && defined != 201; ++i)
    defined = f.call("PUT", "/v1/models/Post", post_model).status;
  REQUIRE((defined == 200 || defined == 201));
  // Batches of 10,000 documents, one after the other on one connection, each taking longer than
  // 10 ms: while later ones wait, the late replies of earlier ones come back. Each request must
  // get its own answer (its ids) or its own 504, never an earlier request's reply.
  auto batch = [](const std::string& prefix) {
    array docs;
    for (int i = 0; i < 10000; ++i)
      docs.push_back(value{object{{"id", prefix + std::to_string(i)}, {"title", "slow"}}});
    return to_json(value{object{{"docs", std::move(docs)}}});
  };
  int timed_out = 0;
  for (int round = 0; round < 8; ++round) {
    auto prefix = "r" + std::to_string(round) + "-";
    auto r = f.call("POST", "/v1/models/Post/docs:batch", batch(prefix));
    INFO("round " << round << " answered " << r.status);
    CHECK((r.status == 201 || r.status == 504));
    if (r.status == 504)
      ++timed_out;
    if (auto* ids = r.body.find("ids"))
      CHECK(ids->as_array().at(0).as_string() == prefix + "0");
  }
  CHECK(timed_out > 0);
}

TEST_CASE("a second node on the same data directory exits 1 naming the holder",
          "[net][e2e][robustness]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Post", post_model).status == 201);
  std::string cmd = std::string{DEBROS_NODE_BIN} + " --data-dir '" + f.node.data_dir() +
                    "' --http 127.0.0.1:0 --cluster 127.0.0.1:0 2>&1";
  std::string out;
  FILE* fp = ::popen(cmd.c_str(), "r");
  REQUIRE(fp != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, fp))
    out += buf;
  int status = ::pclose(fp);
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK_THAT(
      out, Catch::Contains("in use by another process (pid " + std::to_string(f.node.pid()) + ","));
  // The first node never noticed.
  CHECK(f.call("POST", "/v1/models/Post/docs", R"({"title": "still here"})").status == 201);
}
