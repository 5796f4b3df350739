// debros-bench-hostile: legitimate clients' throughput while hostile clients hit the same node.
//
// Goal (issue 8): legitimate clients keep >= 90 % of their throughput while 1,000 hostile
// connections (slowloris, idle, oversized bodies without tokens) hit the same node.
//
// Method: the benchmark starts build/bin/debros-node (authentication on, a fresh data directory,
// default limits) and drives it with 8 closed-loop keep-alive clients from 127.0.0.1, each
// alternating PUT and GET of /v1/kv/bench/{key} with the admin token. It measures them alone
// (the baseline, `hostile_baseline`), then opens the hostile connections from 127.0.0.2,
// 127.0.0.3, ... (50 per address, under the per-address cap) and measures the same clients again
// (`hostile_under_attack`, with `ratio` = its throughput over the baseline's). Hostile kinds, in
// turn: slowloris (one header byte a second), idle (connects, sends nothing), oversized (headers
// announcing a 16 MiB body without a token, then 64 KiB every 100 ms). A hostile connection the
// node closes opens again after 100 ms. The hostile clients run on their own thread; client and
// node share the machine.
// The two phases run in rounds: a warm-up round, then 5 (3 with --quick), alone first in even
// rounds, under attack first in odd ones; a line reports the medians and every run's
// throughput, ratio is of the medians, and "met" (ratio >= 0.90) is judged on the medians only.
// errors and hostile_reopened are summed over every run (warm-up included).
// --quick: 100 hostile connections, 1 s per run; default: 1,000 hostile, 5 s per run.
#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bench/bench_node.hpp"
#include "bench/bench_util.hpp"

using namespace debros;
using namespace debros::bench;

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint endpoint_of(const std::string& hostport) {
  auto colon = hostport.rfind(':');
  return {asio::ip::make_address(hostport.substr(0, colon)),
          static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)))};
}

// One legitimate closed-loop keep-alive client: PUT then GET of its own keys. A connection the
// node closes counts as an error and is opened again.
class client : public std::enable_shared_from_this<client> {
public:
  client(asio::io_context& ioc, tcp::endpoint ep, std::string token, int id,
         std::atomic<bool>& stop, std::atomic<uint64_t>& done, std::atomic<uint64_t>& failed,
         samples& lat)
      : ioc_(ioc), stream_(ioc), ep_(ep), token_(std::move(token)), id_(id), stop_(stop),
        done_(done), failed_(failed), lat_(lat) {}

  void start() {
    stream_.close(); // a fresh socket on reconnect
    buf_.clear();
    stream_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->again();
      self->send();
    });
  }

private:
  void again() {
    ++failed_;
    if (!stop_)
      start();
  }

  void send() {
    if (stop_)
      return;
    auto key = "/v1/kv/bench/c" + std::to_string(id_) + "-" + std::to_string(n_ / 2 % 1000);
    req_ = {n_ % 2 == 0 ? http::verb::put : http::verb::get, key, 11};
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::authorization, "Bearer " + token_);
    if (n_ % 2 == 0)
      req_.body() = std::string(100, 'v');
    req_.keep_alive(true);
    req_.prepare_payload();
    t0_ = clock::now();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        return self->again();
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec2, size_t) { self->on_read(ec2); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return again();
    lat_.add(clock::now() - t0_);
    ++done_;
    if (res_.result_int() >= 300)
      ++failed_;
    ++n_;
    send();
  }

  asio::io_context& ioc_;
  beast::tcp_stream stream_;
  tcp::endpoint ep_;
  std::string token_;
  int id_;
  std::atomic<bool>& stop_;
  std::atomic<uint64_t>& done_;
  std::atomic<uint64_t>& failed_;
  samples& lat_;
  uint64_t n_ = 0;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buf_;
  clock::time_point t0_;
};

enum class hostile_kind { slowloris, idle, oversized };

// One hostile connection from `source`, reopened after 100 ms whenever the node closes it.
class hostile : public std::enable_shared_from_this<hostile> {
public:
  hostile(asio::io_context& ioc, tcp::endpoint ep, asio::ip::address source, hostile_kind kind,
          std::atomic<bool>& stop, std::atomic<uint64_t>& reopened)
      : ioc_(ioc), socket_(ioc), timer_(ioc), ep_(ep), source_(source), kind_(kind), stop_(stop),
        reopened_(reopened) {}

  void start() {
    beast::error_code ec;
    socket_ = tcp::socket{ioc_};
    socket_.open(tcp::v4(), ec);
    socket_.set_option(asio::socket_base::reuse_address(true), ec);
    socket_.bind({source_, 0}, ec);
    if (ec)
      die("bind " + source_.to_string() + ": " + ec.message());
    sent_ = 0;
    socket_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec2) {
      if (ec2)
        return self->later();
      self->watch();
      self->step();
    });
  }

  void stop() {
    beast::error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

private:
  // Reads (and drops) what the node answers; its close ends this connection.
  void watch() {
    socket_.async_read_some(asio::buffer(in_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec)
                                return self->closed();
                              self->watch();
                            });
  }

  void closed() {
    beast::error_code ec;
    timer_.cancel();
    socket_.close(ec);
    ++reopened_;
    later();
  }

  void later() {
    if (stop_)
      return;
    timer_.expires_after(std::chrono::milliseconds{100});
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->stop_)
        self->start();
    });
  }

  void step() {
    if (stop_ || !socket_.is_open())
      return;
    switch (kind_) {
    case hostile_kind::idle:
      return;
    case hostile_kind::slowloris:
      if (sent_ < slow_request.size())
        write(std::string_view{slow_request}.substr(sent_++, 1), std::chrono::seconds{1});
      return;
    case hostile_kind::oversized:
      if (sent_++ == 0)
        write(oversized_headers, std::chrono::milliseconds{100});
      else
        write(chunk_, std::chrono::milliseconds{100});
      return;
    }
  }

  void write(std::string_view bytes, std::chrono::milliseconds then) {
    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                      [self = shared_from_this(), then](beast::error_code ec, size_t) {
                        if (ec)
                          return; // watch() sees the close
                        self->timer_.expires_after(then);
                        self->timer_.async_wait([self](beast::error_code ec2) {
                          if (!ec2)
                            self->step();
                        });
                      });
  }

  static inline const std::string slow_request =
      "GET /v1/kv/bench/x HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'z') + "\r\n\r\n";
  static inline const std::string oversized_headers =
      "PUT /v1/kv/bench/big HTTP/1.1\r\nHost: x\r\nContent-Length: 16777215\r\n\r\n";
  static inline const std::string chunk_ = std::string(65536, 'x');

  asio::io_context& ioc_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  tcp::endpoint ep_;
  asio::ip::address source_;
  hostile_kind kind_;
  std::atomic<bool>& stop_;
  std::atomic<uint64_t>& reopened_;
  size_t sent_ = 0;
  char in_[4096];
};

struct result {
  double ops_per_s;
  double p50_us;
  double p99_us;
  uint64_t failed;
};

// The legitimate clients for `seconds` after a warm-up.
result drive(const tcp::endpoint& ep, const std::string& token, int clients, double seconds) {
  asio::io_context ioc;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::vector<samples> lat(static_cast<size_t>(clients));
  for (int i = 0; i < clients; ++i)
    std::make_shared<client>(ioc, ep, token, i, stop, done, failed, lat[static_cast<size_t>(i)])
        ->start();
  std::thread runner{[&] { ioc.run(); }};
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& s : lat)
    s.us.clear();
  auto start_count = done.load();
  auto start_failed = failed.load();
  auto t0 = clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto n = done.load() - start_count;
  auto secs = seconds_since(t0);
  auto bad = failed.load() - start_failed;
  stop = true;
  runner.join();
  samples all;
  for (auto& s : lat)
    all.us.insert(all.us.end(), s.us.begin(), s.us.end());
  return {static_cast<double>(n) / secs, all.percentile(50), all.percentile(99), bad};
}

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

} // namespace

int main(int argc, char** argv) {
  program = "debros-bench-hostile";
  options opt{argc, argv};
  double seconds = opt.quick ? 1.0 : 5.0;
  int hostiles = opt.quick ? 100 : 1000;
  constexpr int clients = 8;
  constexpr int per_address = 50;
  raise_fd_limit();
  node n{std::string{DEBROS_NODE_BIN}, opt.fresh("node")};
  auto ep = endpoint_of(n.http);
  // One run under attack: the hostile connections open, settle, the clients are measured, the
  // attackers stop.
  uint64_t reopened_during = 0;
  uint64_t errors[2] = {};
  auto alone = [&] {
    auto r = drive(ep, n.token, clients, seconds);
    errors[0] += r.failed;
    return run_figures{r.ops_per_s, r.p50_us, r.p99_us};
  };
  auto under_attack = [&] {
    asio::io_context hioc;
    std::atomic<bool> hstop{false};
    std::atomic<uint64_t> reopened{0};
    std::vector<std::shared_ptr<hostile>> attackers;
    for (int i = 0; i < hostiles; ++i) {
      auto source =
          asio::ip::address_v4{(127u << 24) + 2u + static_cast<unsigned>(i / per_address)};
      auto kind = static_cast<hostile_kind>(i % 3);
      attackers.push_back(std::make_shared<hostile>(hioc, ep, source, kind, hstop, reopened));
      attackers.back()->start();
    }
    std::thread hrunner{[&] { hioc.run(); }};
    // Let every hostile connection open and start its attack.
    std::this_thread::sleep_for(std::chrono::seconds{opt.quick ? 1 : 3});
    auto reopened_before = reopened.load();
    auto r = drive(ep, n.token, clients, seconds);
    reopened_during += reopened.load() - reopened_before;
    errors[1] += r.failed;
    hstop = true;
    asio::post(hioc, [&] {
      for (auto& a : attackers)
        a->stop();
    });
    hrunner.join();
    return run_figures{r.ops_per_s, r.p50_us, r.p99_us};
  };
  auto series = rounds(measured_runs(opt.quick), {alone, under_attack});
  auto& baseline = series[0];
  auto report = [&](const char* name, const run_series& r, int hostile_connections,
                    uint64_t hostile_reopened, uint64_t errs) {
    json_line out;
    out.str("bench", name)
        .num("clients", clients)
        .num("hostile_connections", hostile_connections)
        .num("seconds", seconds)
        .num("errors", static_cast<double>(errs));
    add_runs(out, r, "hostile_baseline", baseline)
        .num("hostile_reopened", static_cast<double>(hostile_reopened));
    if (hostile_connections > 0)
      out.str("goal", "ratio >= 0.90")
          .boolean("met", r.ops_median() >= 0.9 * baseline.ops_median());
    out.print();
  };
  report("hostile_baseline", baseline, 0, 0, errors[0]);
  report("hostile_under_attack", series[1], hostiles, reopened_during, errors[1]);
  return 0;
}
