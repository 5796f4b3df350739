// debros-node: one Debros node (see docs/API.md "The node" and README.md).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <pthread.h>
#include <sys/resource.h>

#include "actors/runtime.hpp"
#include "apps/node/options.hpp"
#include "messages/errc.hpp"
#include "net/api.hpp"
#include "net/auth.hpp"
#include "cluster/membership.hpp"
#include "cluster/credential.hpp"
#include "net/gateway.hpp"
#include "net/metrics.hpp"

using namespace debros;

namespace {

int fail(const std::string& what, const caf::error& err) {
  std::cerr << "debros-node: " << what << ": " << message_of(err) << std::endl;
  return 1;
}

sigset_t block_stop_signals() {
  // Taken by sigwait in main: blocked before any thread starts, so every thread inherits it.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// File descriptors the node needs besides its HTTP connections: LMDB, listeners, cluster
// connections, the actor system's and the gateway's own.
constexpr rlim_t fd_reserve = 64;

// Raises the soft limit on open files to the hard limit, and lowers --max-connections (with a
// warning) when the limit cannot serve that many connections plus the reserve.
void fit_connections_to_fd_limit(node::options& o) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  if (lim.rlim_cur < lim.rlim_max) {
    auto raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || o.max_connections + fd_reserve <= lim.rlim_cur)
    return;
  size_t fit = lim.rlim_cur > fd_reserve + 16 ? lim.rlim_cur - fd_reserve : 16;
  std::cerr << "debros-node: warning: the open file limit is " << lim.rlim_cur
            << "; --max-connections lowered from " << o.max_connections << " to " << fit << " ("
            << fd_reserve << " descriptors are kept for the node itself)" << std::endl;
  o.max_connections = fit;
}

net::gateway_options gateway_options_of(const node::options& o) {
  net::gateway_options g;
  g.listen = o.http;
  g.threads = o.http_threads;
  g.body_bytes_max = o.max_body_bytes;
  g.header_bytes_max = o.max_header_bytes;
  g.json_depth_max = o.max_json_depth;
  g.idle_timeout = std::chrono::milliseconds{o.idle_timeout_ms};
  g.header_timeout = std::chrono::milliseconds{o.header_timeout_ms};
  g.body_timeout = std::chrono::milliseconds{o.body_timeout_ms};
  g.inflight_body_bytes_max = o.max_inflight_body_bytes;
  g.connection_operations_max = o.max_inflight_per_connection;
  g.engine_bytes_max = o.max_inflight_engine_bytes;
  g.connections_per_address_max = o.max_connections_per_ip;
  g.request_timeout = std::chrono::milliseconds{o.request_timeout_ms};
  g.connections_max = o.max_connections;
  g.tls_cert = o.tls_cert;
  g.tls_key = o.tls_key;
  return g;
}

} // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto opts = node::parse(argc, argv, exit_code);
  if (!opts)
    return exit_code;
  // A secret that others can read, or a guessable admin token, stops the start before anything
  // is opened.
  if (auto err = net::auth::check_secret_files(opts->data_dir, opts->tls_key, !opts->no_auth)) {
    fail("refusing to start", err);
    return 2;
  }
  fit_connections_to_fd_limit(*opts);
  // The cluster credential is checked before anything starts: a bad file is a wrong command
  // line (exit 2), and caf_openssl reads the files again for every connection.
  net::cluster_credential cred{opts->cluster_cert, opts->cluster_key, opts->cluster_ca};
  if (cred.certificate.empty()) {
    auto own = net::own_cluster_credential(opts->data_dir);
    if (!own) {
      std::cerr << "debros-node: cluster credential: " << message_of(own.error()) << std::endl;
      return 2;
    }
    cred = std::move(*own);
  } else if (auto err = net::check_cluster_credential(cred)) {
    std::cerr << "debros-node: cluster credential: " << message_of(err) << std::endl;
    return 2;
  }
  auto signals = block_stop_signals();
  auto ro = node::runtime_options_of(*opts);
  ro.cluster_cert = cred.certificate;
  ro.cluster_key = cred.key;
  ro.cluster_ca = cred.ca;
  auto rt = runtime::start(std::move(ro));
  if (!rt)
    return fail("cannot open " + opts->data_dir, rt.error());
  auto auth = net::auth::open(**rt, opts->data_dir, !opts->no_auth, opts->rotate_token_key);
  if (!auth) {
    fail("authentication", auth.error());
    return code_of(auth.error()) == errc::invalid_argument ? 2 : 1;
  }
  if (opts->rotate_token_key)
    std::cerr << "debros-node: new token-signing key in " << opts->data_dir << "/"
              << net::auth::key_file_name << ": user tokens issued before no longer work"
              << std::endl;
  net::metrics metrics;
  net::api_limits limits{opts->max_body_bytes, opts->max_json_depth};
  net::api api{**rt, **auth, metrics, limits};
  auto gw = net::gateway::start(api, metrics, gateway_options_of(*opts));
  if (!gw)
    return fail("gateway", gw.error());
  net::cluster_options co;
  co.listen = opts->cluster;
  co.seeds = opts->seeds;
  co.self = node_info{(*rt)->node_id(), net::to_string((*gw)->local()), {}};
  co.peer_forget = std::chrono::milliseconds{opts->peer_forget_ms};
  auto cl = net::cluster::start(**rt, co);
  if (!cl)
    return fail("cluster", cl.error());
  api.set_addresses(net::to_string((*gw)->local()), net::to_string((*cl)->local()));
  api.set_peers([c = cl->get()] { return c->peers(); });
  if ((*auth)->enabled())
    std::cerr << "debros-node: admin token in " << (*auth)->admin_token_path() << std::endl;
  std::cout << "debros-node ready http=" << net::to_string((*gw)->local())
            << " cluster=" << net::to_string((*cl)->local()) << " node=" << (*rt)->node_id()
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "debros-node: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << ": finishing requests in flight" << std::endl;
  // Stop taking requests and answer those in flight; then leave the cluster; then commit every
  // acknowledged write and close the store.
  auto cut = (*gw)->stop(std::chrono::milliseconds{10000});
  if (cut.http_connections_cut + cut.websockets_cut > 0)
    std::cerr << "debros-node: after 10 s, cut " << cut.http_connections_cut
              << " HTTP connection(s) (" << cut.requests_cut << " request(s) unanswered) and "
              << cut.websockets_cut << " WebSocket(s)" << std::endl;
  (*cl)->stop();
  auto stopped = (*rt)->stop(std::chrono::milliseconds{10000});
  if (stopped.actors_left > 0)
    std::cerr << "debros-node: after 10 s, " << stopped.actors_left
              << " actor(s) still running; exiting without them" << std::endl;
  std::cerr << "debros-node: stopped" << std::endl;
  if (stopped.actors_left > 0)
    std::_Exit(0); // every write is committed; do not tear down under running actors
  return 0;
}
