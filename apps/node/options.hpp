// Options of debros-node: API.md "The node", plus the gateway's limits (README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "cluster/endpoint.hpp"

namespace debros {
struct runtime_options;
} // namespace debros

namespace debros::node {

struct options {
  std::string data_dir = "./data";
  net::endpoint http{"127.0.0.1", 7700};
  net::endpoint cluster{"127.0.0.1", 7701};
  std::vector<net::endpoint> seeds;
  std::string node_id;
  bool no_auth = false;
  bool rotate_token_key = false;
  // HTTPS only.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca; // refused: the cluster port has its own CA (--cluster-ca)
  // The cluster port's credential (all three, or none: DATA_DIR/cluster.pem).
  std::string cluster_cert;
  std::string cluster_key;
  std::string cluster_ca;
  int64_t peer_forget_ms = 600000;
  // Limits and threads.
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = size_t{16} << 10;
  uint32_t max_json_depth = 64;
  int64_t idle_timeout_ms = 60000;
  int64_t header_timeout_ms = 5000;
  int64_t body_timeout_ms = 30000;
  int64_t request_timeout_ms = 30000;
  size_t max_connections = 1024;
  size_t max_connections_per_ip = 64;
  size_t max_inflight_body_bytes = size_t{256} << 20;
  size_t max_inflight_per_connection = 16;
  size_t max_inflight_engine_bytes = size_t{128} << 20;
  size_t http_threads = 0;
  size_t scheduler_threads = 0;
  // User databases and caches (README.md "User databases").
  size_t user_db_live_max = 10000;
  int64_t user_db_idle_ms = 30000;
  size_t query_cache_entries = 10000;
  size_t query_cache_bytes = size_t{64} << 20;
  uint64_t query_memory_bytes = uint64_t{64} << 20;
  uint64_t scan_slice_entries = 10000;
  size_t relation_cache_entries = 10000;
  size_t relation_cache_bytes = size_t{64} << 20;
  int64_t relation_cache_ttl_ms = 60000;
};

/// Parses the command line (and the --config file it names). Returns the options, or the exit
/// code to leave with (0 after --help, 1 or 2 after an error already printed to stderr).
caf::expected<options> parse(int argc, char** argv, int& exit_code);

/// The runtime the node starts for `o` (data directory, caches, threads; the cluster
/// credential is added by the caller). Durability is the runtime's default, full: debros-node
/// has no option to weaken it (tests/net/node_defaults.test.cpp checks both).
runtime_options runtime_options_of(const options& o);

} // namespace debros::node
