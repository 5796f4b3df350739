// debros-bench-http: the HTTP gateway of a debros-node under load, on loopback.
//
// Goal (node issue): >= 30,000 GET document requests/s with keep-alive, p99 <= 10 ms, with the
// client and the node sharing this 2-core machine.
//
// Method: the benchmark starts build/bin/debros-node (authentication on, a fresh data
// directory), defines a model, loads documents, then drives it with its own client: C
// keep-alive connections on one client thread (Boost.Beast, asynchronous), each connection
// sending its next request as soon as the previous answer arrived (closed loop). Each case runs
// for a fixed time after a 300 ms warm-up of its connections; latency is per request,
// client-side. The four cases run in rounds: a warm-up round, then 5 (3 with --quick), the order
// reversed every round; a line reports the medians and every run's throughput, ratio is of
// medians, and the goal's "met" is judged on the medians only.
// non_2xx counts the answers >= 300 over every run of a case. Cases:
//   http_health     GET /v1/health (the baseline: the gateway's own cost)
//   http_get_doc    GET /v1/models/Post/docs/{random id}
//   http_create     POST /v1/models/Post/docs (durable: fsync'd before the 201)
//   http_query      POST /v1/models/Post/query, an indexed equality, createdAt desc, limit 20
// --quick: 0.5 s per run, 2,000 documents; default: 4 s per run, 100,000 documents.
#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bench/bench_node.hpp"
#include "bench/bench_util.hpp"
#include "messages/json.hpp"
#include "net/http_client.hpp"

using namespace debros;
using namespace debros::bench;

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One closed-loop keep-alive connection issuing requests made by `next`.
class connection : public std::enable_shared_from_this<connection> {
public:
  using make_fn = std::function<http::request<http::string_body>(std::mt19937_64&)>;

  connection(asio::io_context& ioc, const tcp::endpoint& ep, make_fn make, std::atomic<bool>& stop,
             samples& lat, std::atomic<uint64_t>& done, std::atomic<uint64_t>& failed,
             uint64_t seed)
      : stream_(ioc), ep_(ep), make_(std::move(make)), stop_(stop), lat_(lat), done_(done),
        failed_(failed), rng_(seed) {}

  void start() {
    stream_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        die("connect: " + ec.message());
      self->send();
    });
  }

private:
  void send() {
    if (stop_)
      return;
    req_ = make_(rng_);
    t0_ = clock::now();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        die("write: " + ec.message());
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec2, size_t) { self->on_read(ec2); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      die("read: " + ec.message());
    lat_.add(clock::now() - t0_);
    ++done_;
    if (res_.result_int() >= 300)
      ++failed_;
    send();
  }

  beast::tcp_stream stream_;
  tcp::endpoint ep_;
  make_fn make_;
  std::atomic<bool>& stop_;
  samples& lat_;
  std::atomic<uint64_t>& done_;
  std::atomic<uint64_t>& failed_;
  std::mt19937_64 rng_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buf_;
  clock::time_point t0_;
};

struct result {
  double ops_per_s;
  double p50_us;
  double p99_us;
  uint64_t failed;
};

result drive(const std::string& hostport, int connections, double seconds,
             connection::make_fn make) {
  asio::io_context ioc;
  auto colon = hostport.rfind(':');
  tcp::endpoint ep{asio::ip::make_address(hostport.substr(0, colon)),
                   static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)))};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::vector<samples> lat(static_cast<size_t>(connections));
  for (int i = 0; i < connections; ++i)
    std::make_shared<connection>(ioc, ep, make, stop, lat[static_cast<size_t>(i)], done, failed,
                                 static_cast<uint64_t>(i) + 1)
        ->start();
  std::thread runner{[&] { ioc.run(); }};
  // Warm-up, then measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& s : lat)
    s.us.clear();
  auto start_count = done.load();
  auto t0 = clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto n = done.load() - start_count;
  auto secs = seconds_since(t0);
  stop = true;
  runner.join();
  samples all;
  for (auto& s : lat)
    all.us.insert(all.us.end(), s.us.begin(), s.us.end());
  return {static_cast<double>(n) / secs, all.percentile(50), all.percentile(99), failed.load()};
}

http::request<http::string_body> make_request(http::verb verb, std::string target, std::string body,
                                              const std::string& token) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

} // namespace

int main(int argc, char** argv) {
  program = "debros-bench-http";
  options opt{argc, argv};
  double seconds = opt.quick ? 0.5 : 4.0;
  uint64_t non_2xx[4] = {};
  int docs = opt.quick ? 2000 : 100000;
  constexpr int connections = 32;
  auto bin = std::string{DEBROS_NODE_BIN};
  node n{bin, opt.fresh("node")};
  auto client = net::http_client::make("http://" + n.http);
  if (!client)
    die("client");
  client->set_default_header("Authorization", "Bearer " + n.token);
  auto def =
      client->json("PUT", "/v1/models/Post", *parse_json(R"({"fields": {"title": {"type": "string"},
                              "body": {"type": "string"}, "category": {"type": "string",
                              "index": true}}, "sharding": {"count": 4}})"));
  if (!def || def->status != 201)
    die("define");
  std::vector<std::string> ids;
  std::string body(200, 'b');
  for (int i = 0; i < docs; i += 500) {
    array batch;
    for (int j = i; j < i + 500 && j < docs; ++j)
      batch.emplace_back(object{{"title", "title " + std::to_string(j)},
                                {"body", body},
                                {"category", "c" + std::to_string(j % 16)}});
    auto r = client->json("POST", "/v1/models/Post/docs:batch",
                          value{object{{"docs", std::move(batch)}}});
    if (!r || r->status != 201)
      die("load");
    for (auto& id : r->body.find("ids")->as_array())
      ids.push_back(id.as_string());
  }
  auto token = n.token;
  auto run = [&](size_t which, connection::make_fn make) {
    return [&, which, make = std::move(make)] {
      auto r = drive(n.http, connections, seconds, make);
      non_2xx[which] += r.failed;
      return run_figures{r.ops_per_s, r.p50_us, r.p99_us};
    };
  };
  const char* names[] = {"http_health", "http_get_doc", "http_create", "http_query"};
  auto series = rounds(
      measured_runs(opt.quick),
      {run(0,
           [&](std::mt19937_64&) {
             return make_request(http::verb::get, "/v1/health", {}, token);
           }),
       run(1,
           [&](std::mt19937_64& rng) {
             return make_request(http::verb::get, "/v1/models/Post/docs/" + ids[rng() % ids.size()],
                                 {}, token);
           }),
       run(2,
           [&](std::mt19937_64& rng) {
             return make_request(http::verb::post, "/v1/models/Post/docs",
                                 R"({"title": "new", "body": ")" + body + R"(", "category": "c)" +
                                     std::to_string(rng() % 16) + "\"}",
                                 token);
           }),
       run(3, [&](std::mt19937_64& rng) {
         return make_request(http::verb::post, "/v1/models/Post/query",
                             R"({"where": [["category", "=", "c)" + std::to_string(rng() % 16) +
                                 R"("]], "orderBy": [["createdAt", "desc"]], "limit": 20})",
                             token);
       })});
  for (size_t i = 0; i < series.size(); ++i) {
    json_line out;
    out.str("bench", names[i])
        .num("connections", connections)
        .num("seconds", seconds)
        .num("docs", docs)
        .num("non_2xx", static_cast<double>(non_2xx[i]));
    add_runs(out, series[i], "http_health", series[0]);
    if (i == 1)
      out.str("goal", "ops_per_s >= 30000 and p99_us <= 10000")
          .boolean("met", series[i].ops_median() >= 30000 && series[i].p99_median() <= 10000);
    out.num("rss_mb", peak_rss_mb()).num("node_rss_mb", n.peak_rss_mb()).print();
  }
  return 0;
}
