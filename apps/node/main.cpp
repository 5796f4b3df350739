// debros-node: one Debros node (see ../shared/API.md "The node" and README.md).
#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <string>

#include <CLI/CLI.hpp>

#include "actors/runtime.hpp"
#include "messages/errc.hpp"
#include "net/endpoint.hpp"

using namespace debros;

namespace {

struct node_options {
  std::string data_dir = "./data";
  std::string http = "127.0.0.1:7700";
  std::string cluster = "127.0.0.1:7701";
  std::string seeds;
  std::string node_id;
  bool no_auth = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
};

int fail(const std::string& msg) {
  std::cerr << "debros-node: " << msg << std::endl;
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  node_options o;
  CLI::App app{"debros-node: a Debros node (data, HTTP gateway, cluster member)"};
  app.set_config("--config", "", "Read options from FILE (lines `option = value`)");
  app.add_option("--data-dir", o.data_dir, "Data directory")->capture_default_str();
  app.add_option("--http", o.http, "HTTP listen address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--cluster", o.cluster, "Cluster listen address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--seeds", o.seeds, "Other nodes to join: HOST:PORT,...");
  app.add_option("--node-id", o.node_id, "Node id (default: kept in the data directory)");
  app.add_flag("--no-auth", o.no_auth, "Disable authentication");
  app.add_option("--tls-cert", o.tls_cert, "TLS certificate (PEM)");
  app.add_option("--tls-key", o.tls_key, "TLS private key (PEM)");
  app.add_option("--tls-ca", o.tls_ca, "TLS CA certificate (PEM)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto http = net::parse_endpoint(o.http);
  if (!http)
    return fail(message_of(http.error()));
  auto cluster = net::parse_endpoint(o.cluster);
  if (!cluster)
    return fail(message_of(cluster.error()));
  auto seeds = net::parse_endpoints(o.seeds);
  if (!seeds)
    return fail(message_of(seeds.error()));

  // Signals are taken by sigwait below: block them before any thread starts so that every
  // thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  runtime_options ro;
  ro.data_dir = o.data_dir;
  ro.node_id = o.node_id;
  auto rt = runtime::start(ro);
  if (!rt)
    return fail(message_of(rt.error()));
  std::cout << "debros-node ready http=" << net::to_string(*http)
            << " cluster=" << net::to_string(*cluster) << " node=" << (*rt)->node_id() << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "debros-node: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping"
            << std::endl;
  (*rt)->stop();
  return 0;
}
