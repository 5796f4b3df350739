// The HTTP request path: bytes from a client through a Boost.Beast request_parser with the
// gateway's limits (net/gateway_session.hpp: header and body limits), the conversion to an
// api_request (net/gateway.cpp), authentication (net/auth.hpp) and the API's routing and
// handlers (net/api*.cpp) over a real runtime on a temporary data directory with auth on. Up to
// four pipelined requests per input. Every request gets exactly one answer within 10 s; a
// response must be a valid HTTP status. The admin token is fixed (see fuzz/corpus/http) so
// the fuzzer reaches the handlers behind the token check.
//
// Leak checks: every kLeakCheckEvery inputs (and at exit) rather than after each input. The
// runtime's threads allocate during an input and free after it returns (CAF's clock and
// mailboxes), so libFuzzer's per-input heuristic (more mallocs than frees) fired on most inputs,
// each time re-running the input and then making LeakSanitizer walk every chunk the allocator
// holds (about 0.25 s a pass once ASan's quarantine was full, about 3 passes a second): 80% of
// the time went to LSan, and on the same corpus and seed 1,682 exec/s against 10,361 without
// the per-input check (perf and uprobes, 2026-12-04). LLVMFuzzerInitialize therefore puts
// -detect_leaks=0 first on the command line (an explicit -detect_leaks=1 later still wins) and
// the target runs the same LSan check itself: a leak aborts within kLeakCheckEvery inputs of the
// input that caused it (the saved input is the one at hand, the report's stacks name the
// allocation; a planted leak is caught so). libFuzzer itself stops its per-input check after
// 1,000 such passes. ASAN_OPTIONS=detect_leaks=0 turns both off.
//
// Bounded state: every kResetEvery inputs the node is stopped (its stop must leave no actor
// running), its data directory removed and a fresh one started; the leak check runs right
// after. Without it the models the inputs define pile up and slow every later input: after
// about 1.2 million inputs GET /v1/models (it lists every model) took a quarter of the time and
// exec/s was below 1,500 (perf, 2026-12-04). Sequences longer than kResetEvery inputs are not
// explored.
#include <sanitizer/lsan_interface.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "actors/runtime.hpp"
#include "fuzz/fuzz_support.hpp"
#include "net/api.hpp"
#include "net/auth.hpp"
#include "net/gateway.hpp"
#include "net/gateway_session.hpp"
#include "net/metrics.hpp"

namespace {

using namespace debros;
namespace http = net::detail::http;

/// The admin token of the fuzzed node (seeds use it as "Authorization: Bearer ...").
constexpr const char* admin_token = "fz0123456789abcdefghijklmnopqrstuv";

struct node {
  std::string dir;
  std::unique_ptr<runtime> rt;
  std::unique_ptr<net::auth> auth;
  net::metrics metrics;
  std::unique_ptr<net::api> api;
  net::gateway_options limits; // the gateway's defaults

  node() {
    char tmpl[] = "/tmp/debros-fuzz-http-XXXXXX";
    fuzz::check(::mkdtemp(tmpl) != nullptr, "cannot create a temporary directory");
    dir = tmpl;
    std::ofstream{dir + "/admin.token"} << admin_token << "\n";
    std::filesystem::permissions(dir + "/admin.token", std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write);
    runtime_options o;
    o.data_dir = dir;
    o.sync = storage::durability::process;
    o.scheduler_threads = 2;
    o.initial_map_bytes = size_t{64} << 20;
    auto r = runtime::start(o);
    fuzz::check(static_cast<bool>(r), "the runtime does not start");
    rt = std::move(*r);
    auto a = net::auth::open(*rt, dir, true);
    fuzz::check(static_cast<bool>(a), "auth does not open",
                a ? std::string{} : caf::to_string(a.error()));
    auth = std::move(*a);
    api = std::make_unique<net::api>(*rt, *auth, metrics,
                                     net::api_limits{limits.body_bytes_max, limits.json_depth_max});
  }

  /// Stops the runtime and removes the data directory; the stop must leave no actor running.
  ~node() {
    api.reset();
    auth.reset();
    auto report = rt->stop();
    fuzz::check(report.actors_left == 0, "the runtime's stop left actors running",
                std::to_string(report.actors_left));
    rt.reset();
    std::filesystem::remove_all(dir);
  }
};

/// Inputs served by one node before a fresh one replaces it, and between two leak checks (see
/// the header comment).
constexpr uint64_t kResetEvery = 25000;
constexpr uint64_t kLeakCheckEvery = 50000;

// The live node. Never destroyed at exit (libFuzzer exits without unwinding); its directory is
// removed then.
node* live = nullptr;
std::string live_dir;

node& the_node() {
  static uint64_t inputs = 0;
  if (live == nullptr)
    std::atexit([] { std::filesystem::remove_all(live_dir); });
  if (live != nullptr && ++inputs % kResetEvery == 0) {
    delete live;
    live = nullptr;
  }
  if (live == nullptr) {
    live = new node;
    live_dir = live->dir;
  }
  // Right after a reset: what the old node left unreachable is reported here.
  if (inputs > 0 && inputs % kLeakCheckEvery == 0)
    fuzz::check(__lsan_do_recoverable_leak_check() == 0,
                "LeakSanitizer found a leak (report above) within the last inputs");
  return *live;
}

void answer(node& n, http::request<http::string_body>& req) {
  auto ar = net::detail::to_api_request(req);
  (void)n.api->authenticate(ar);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto done = std::make_shared<std::promise<net::api_response>>();
  auto fut = done->get_future();
  n.api->handle(std::move(ar), [calls, done](net::api_response r) {
    if (calls->fetch_add(1) == 0)
      done->set_value(std::move(r));
  });
  fuzz::check(fut.wait_for(std::chrono::seconds{10}) == std::future_status::ready,
              "a request got no answer within 10 s");
  auto r = fut.get();
  fuzz::check(r.status >= 100 && r.status <= 599, "a response has an invalid status");
  fuzz::check(calls->load() == 1, "a request was answered twice");
  auto res = net::detail::to_response(std::move(r), req.version(), req.keep_alive(),
                                      req.method() == http::verb::head);
  res.prepare_payload();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // libFuzzer parses the flags after this call, the last value of a flag winning.
  static std::vector<char*> args;
  static char no_per_input_leak_check[] = "-detect_leaks=0";
  args.assign(*argv, *argv + *argc);
  args.insert(args.begin() + 1, no_per_input_leak_check);
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size()) - 1;
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& n = the_node();
  auto rest = boost::asio::const_buffer{data, size};
  for (int i = 0; i < 4 && rest.size() > 0; ++i) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(n.limits.body_bytes_max);
    parser.header_limit(static_cast<uint32_t>(n.limits.header_bytes_max));
    boost::system::error_code ec;
    while (rest.size() > 0 && !parser.is_done()) {
      auto used = parser.put(rest, ec);
      rest += used;
      if (ec == http::error::need_more && used == 0)
        return 0; // truncated: the gateway would wait for more bytes
      if (ec && ec != http::error::need_more)
        return 0; // the gateway answers 400/413 and closes
    }
    if (!parser.is_done())
      return 0;
    auto req = parser.release();
    answer(n, req);
    if (!req.keep_alive())
      return 0;
  }
  return 0;
}
