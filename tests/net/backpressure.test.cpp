// Backpressure from the gateway into the engine (issue 9 item 8): a client that keeps sending
// while its earlier operations still run (each answered 504 after a 10 ms request timeout, the
// operation going on) is refused with 503 once its connection, or the node, holds its bound of
// work in the engine, so the node's memory stays bounded and other clients are still served.
//
// Each batch of 10,000 documents takes the engine well over 10 ms (validation, 10,000 write
// plans, one commit), so without the bounds every request of the flood would be handed to the
// engine and pile up there while the client sends the next one.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/net/e2e_fixture.hpp"

using namespace debros;
using namespace debros::test;
using namespace std::chrono_literals;

namespace {

// How much the node's peak RSS may pass its RSS before the flood. Without the bounds the floods
// below took it 280 to 440 MiB up (every batch of the flood in the engine at once); with them
// 25 to 75 MiB. Sanitizers multiply the memory of everything.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t growth_kib_max = 3 * 160 * 1024;
#else
constexpr size_t growth_kib_max = 160 * 1024;
#endif

// A field of /proc/PID/status in KiB ("VmRSS:", "VmHWM:").
size_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0)
      return std::stoul(line.substr(field.size()));
  return 0;
}

std::string batch_of(const std::string& prefix, int docs = 10000) {
  array out;
  for (int i = 0; i < docs; ++i)
    out.push_back(value{object{{"id", prefix + std::to_string(i)}, {"title", "flood"}}});
  return to_json(value{object{{"docs", std::move(out)}}});
}

// What one flooding client was answered.
struct flood_result {
  int created = 0;
  int timed_out = 0;
  int shed = 0;
  int other = 0;
  int without_retry_after = 0;
  std::string shed_message;
};

// Sends `bodies` as batch creates, one after the other on one keep-alive connection: the next
// as soon as the previous one is answered (201, 504 or 503).
flood_result flood(net::http_client& c, const std::vector<std::string>& bodies) {
  flood_result out;
  for (auto& body : bodies) {
    auto r = c.request("POST", "/v1/models/Post/docs:batch", body,
                       {{"Content-Type", "application/json"}});
    if (!r) {
      ++out.other;
      continue;
    }
    if (r->status == 201) {
      ++out.created;
    } else if (r->status == 504) {
      ++out.timed_out;
    } else if (r->status == 503) {
      ++out.shed;
      if (r->headers.get("Retry-After") != "1")
        ++out.without_retry_after;
      out.shed_message = r->body;
    } else {
      ++out.other;
    }
  }
  return out;
}

std::vector<std::string> bodies(const std::string& stem, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(batch_of(stem + std::to_string(i) + "-"));
  return out;
}

// GET `target` until it is answered in time: with a 10 ms request timeout even a request the
// node answers at once may get 504 on a busy machine. Returns the last reply.
net::http_response answered(net::http_client& c, const std::string& target) {
  caf::expected<net::http_response> r{net::http_response{}};
  for (int i = 0; i < 100; ++i) {
    r = c.request("GET", target);
    REQUIRE(r);
    if (r->status != 504)
      break;
  }
  return std::move(*r);
}

// A series of the node's /v1/metrics ("name" or "name{label=\"x\"}"), 0 when absent.
double series(e2e_fixture& f, const std::string& name) {
  auto m = answered(f.admin, "/v1/metrics");
  REQUIRE(m.status == 200);
  auto at = m.body.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(m.body.substr(at + name.size() + 2));
}

// Defines Post and stores ns/k; with a 10 ms request timeout either may need a few tries, and
// the tries that got 504 may still run: past 4 of them on the connection the node answers 503,
// and a well-behaved client waits a little (Retry-After) before it tries again.
void prepare(e2e_fixture& f) {
  auto until_done = [](auto attempt) {
    int status = 0;
    for (int i = 0; i < 200 && status != 200 && status != 201; ++i) {
      status = attempt();
      if (status == 503)
        std::this_thread::sleep_for(50ms);
    }
    return status;
  };
  auto defined = until_done([&] { return f.call("PUT", "/v1/models/Post", post_model).status; });
  REQUIRE((defined == 200 || defined == 201));
  auto stored = until_done([&] {
    auto r = f.admin.request("PUT", "/v1/kv/ns/k", "value");
    REQUIRE(r);
    return r->status;
  });
  REQUIRE(stored == 201);
}

// Waits (at most 60 s) until the engine has answered every request the gateway handed it.
bool engine_drained(e2e_fixture& f) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    // Health and metrics are not counted: they do no engine work.
    if (series(f, "debros_http_engine_bytes") == 0 && series(f, "debros_http_engine_requests") == 0)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

} // namespace

TEST_CASE("a client flooding one connection gets 503 past --max-inflight-per-connection "
          "while memory stays bounded and another client is served",
          "[net][e2e][backpressure]") {
  e2e_fixture f{{"--request-timeout-ms", "10", "--max-inflight-per-connection", "4"}};
  prepare(f);
  auto flood_bodies = bodies("c", 60);
  auto rss_before = status_kib(f.node.pid(), "VmRSS:");
  auto flooder = f.client(f.node.admin_token());
  flood_result got;
  std::atomic<bool> flooding{true};
  std::thread t{[&] {
    got = flood(flooder, flood_bodies);
    flooding = false;
  }};
  // Another client, on its own connection, while the flood runs: reads the node answers at once
  // (a stored key-value value, the status) and health. Under the 10 ms request timeout some may
  // get 504 on a busy machine; none may be refused (503).
  int served = 0;
  int refused = 0;
  int late = 0;
  auto other = f.client(f.node.admin_token());
  do {
    for (auto* target : {"/v1/kv/ns/k", "/v1/status", "/v1/health"}) {
      auto r = other.request("GET", target);
      REQUIRE(r);
      (r->status == 200 ? served : r->status == 504 ? late : refused) += 1;
    }
  } while (flooding.load());
  t.join();
  auto peak_kib = status_kib(f.node.pid(), "VmHWM:");
  std::fprintf(stderr,
               "backpressure per connection: created %d, 504 %d, 503 %d, other %d; RSS before "
               "%zu KiB, peak %zu KiB (+%zu KiB); other client: %d served, %d refused, %d late\n",
               got.created, got.timed_out, got.shed, got.other, rss_before, peak_kib,
               peak_kib - std::min(peak_kib, rss_before), served, refused, late);
  SECTION("past the bound the flood is refused with 503 unavailable and Retry-After") {
    CHECK(got.timed_out > 0); // the flood did outrun the engine
    CHECK(got.shed > 0);
    CHECK(got.without_retry_after == 0);
    CHECK(got.other == 0);
    CHECK_THAT(got.shed_message, Catch::Contains("unavailable") &&
                                     Catch::Contains("this connection has 4 operations"));
    CHECK(series(f, "debros_http_shed_total{reason=\"connection_operations\"}") == got.shed);
    // At most 4 batches of the flood (plus the parse of one more) were in the engine at once.
    CHECK(peak_kib - std::min(peak_kib, rss_before) < growth_kib_max);
  }
  SECTION("another client's requests are served meanwhile, never refused") {
    CHECK(served > 0);
    CHECK(refused == 0);
  }
  SECTION("once the engine has answered, the connection is taken again") {
    REQUIRE(engine_drained(f));
    CHECK(answered(flooder, "/v1/kv/ns/k").status == 200);
  }
}

TEST_CASE("requests past --max-inflight-engine-bytes are refused with 503 on every connection",
          "[net][e2e][backpressure]") {
  // About 4 batches of 10,000 documents (some 400 KB each) fit.
  e2e_fixture f{{"--request-timeout-ms", "10", "--max-inflight-engine-bytes", "2000000"}};
  prepare(f);
  constexpr int clients = 4;
  std::vector<std::vector<std::string>> per_client;
  for (int c = 0; c < clients; ++c)
    per_client.push_back(bodies("n" + std::to_string(c) + "-", 15));
  auto rss_before = status_kib(f.node.pid(), "VmRSS:");
  std::vector<flood_result> got(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto client = f.client(f.node.admin_token());
      got[c] = flood(client, per_client[c]);
    });
  for (auto& t : threads)
    t.join();
  auto peak_kib = status_kib(f.node.pid(), "VmHWM:");
  flood_result all;
  for (auto& g : got) {
    all.created += g.created;
    all.timed_out += g.timed_out;
    all.shed += g.shed;
    all.other += g.other;
    all.without_retry_after += g.without_retry_after;
    if (!g.shed_message.empty())
      all.shed_message = g.shed_message;
  }
  std::fprintf(stderr,
               "backpressure node-wide: created %d, 504 %d, 503 %d, other %d; RSS before %zu KiB, "
               "peak %zu KiB (+%zu KiB)\n",
               all.created, all.timed_out, all.shed, all.other, rss_before, peak_kib,
               peak_kib - std::min(peak_kib, rss_before));
  SECTION("past the budget requests are refused with 503 unavailable and Retry-After") {
    CHECK(all.shed > 0);
    CHECK(all.without_retry_after == 0);
    CHECK(all.other == 0);
    CHECK_THAT(all.shed_message, Catch::Contains("2000000 bytes of requests in the engine"));
    CHECK(series(f, "debros_http_shed_total{reason=\"engine_bytes\"}") == all.shed);
    CHECK(peak_kib - std::min(peak_kib, rss_before) < growth_kib_max);
  }
  SECTION("once the engine has answered, the budget is free again") {
    REQUIRE(engine_drained(f));
    CHECK(answered(f.admin, "/v1/kv/ns/k").status == 200);
  }
}
