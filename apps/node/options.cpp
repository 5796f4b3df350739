#include "apps/node/options.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "actors/runtime.hpp"
#include "messages/errc.hpp"

namespace debros::node {

namespace {

// Unsigned options would otherwise read "-5" as a huge number.
const CLI::Validator non_negative{[](std::string& text) -> std::string {
                                    auto first = text.find_first_not_of(" \t");
                                    if (first != std::string::npos && text[first] == '-')
                                      return "must not be negative";
                                    return {};
                                  },
                                  ""};

} // namespace

caf::expected<options> parse(int argc, char** argv, int& exit_code) {
  options o;
  std::string http = "127.0.0.1:7700";
  std::string cluster = "127.0.0.1:7701";
  std::string seeds;
  CLI::App app{"debros-node: a Debros node (data, HTTP gateway, cluster member).\n"
               "Every option can also be set in a file given with --config, one\n"
               "`name = value` per line (e.g. `data-dir = \"/var/lib/debros\"`)."};
  app.set_config("--config", "", "Read options from FILE");
  // A misspelled or unknown name in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--data-dir", o.data_dir, "Data directory")->capture_default_str();
  app.add_option("--http", http, "HTTP listen address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--cluster", cluster, "Cluster listen address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--seeds", seeds, "Other nodes to join: HOST:PORT,...");
  app.add_option("--node-id", o.node_id, "Node id (default: kept in the data directory)");
  app.add_flag("--no-auth", o.no_auth, "Disable authentication");
  app.add_flag("--rotate-token-key", o.rotate_token_key,
               "Replace DATA_DIR/token.key with a new key at start: every user token issued "
               "before stops working");
  app.add_option("--tls-cert", o.tls_cert,
                 "TLS certificate (PEM) for HTTPS (not the cluster port)");
  app.add_option("--tls-key", o.tls_key, "TLS private key (PEM) for HTTPS");
  app.add_option("--tls-ca", o.tls_ca, "No longer used (refused): see --cluster-ca");
  app.add_option("--cluster-cert", o.cluster_cert,
                 "Cluster port (mutual TLS): this node's certificate (PEM), signed by the "
                 "cluster CA; with --cluster-key and --cluster-ca. Default: DATA_DIR/cluster.pem, "
                 "generated on first start; copy it to every node of the cluster");
  app.add_option("--cluster-key", o.cluster_key,
                 "Cluster port: the certificate's private key (PEM, mode 0600 or stricter)");
  app.add_option("--cluster-ca", o.cluster_ca,
                 "Cluster port: CA (PEM) every peer's certificate must verify against");
  app.add_option("--peer-forget-ms", o.peer_forget_ms, "Forget a peer that has been down this long")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body (413 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-header-bytes", o.max_header_bytes, "Largest request headers (413 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-json-depth", o.max_json_depth, "Deepest JSON nesting (413 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms,
                 "Close a kept-alive connection with no new request this long")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--header-timeout-ms", o.header_timeout_ms,
                 "Close a connection whose request line and headers (or TLS handshake) take longer")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--body-timeout-ms", o.body_timeout_ms,
                 "Close a connection whose request body takes longer than this to arrive")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--request-timeout-ms", o.request_timeout_ms,
                 "Answer 504 to a request not done in this time")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-connections", o.max_connections,
                 "Connections at once (the oldest idle one is closed beyond, else 503)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-connections-per-ip", o.max_connections_per_ip,
                 "Connections at once from one client address (503 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-inflight-body-bytes", o.max_inflight_body_bytes,
                 "Request body bytes held by all connections together (503 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-inflight-per-connection", o.max_inflight_per_connection,
                 "Operations of one connection in the engine at once, those answered 504 and "
                 "still running included (503 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--max-inflight-engine-bytes", o.max_inflight_engine_bytes,
                 "Bytes of requests in the engine, all connections together: each counts its "
                 "body plus 1 KiB until the engine answers it (503 beyond)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--http-threads", o.http_threads, "Gateway threads (0: one per core)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--scheduler-threads", o.scheduler_threads, "Actor threads (0: one per core)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--user-db-live-max", o.user_db_live_max,
                 "User databases kept active at once (idle ones beyond it are passivated)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--user-db-idle-ms", o.user_db_idle_ms, "Passivate a user database idle this long")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--query-cache-entries", o.query_cache_entries,
                 "Query results cached at most (queries that ask \"cache\"; 0: no caching)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--query-cache-bytes", o.query_cache_bytes, "Bytes of cached query results")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--query-memory-bytes", o.query_memory_bytes,
                 "Memory one query may hold for its candidates over all partitions; past it, "
                 "413 (0: no bound)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--scan-slice-entries", o.scan_slice_entries,
                 "Entries a partition's scan reads before it lets its actor and the writer go "
                 "on; longer scans continue in slices (0: never)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--relation-cache-entries", o.relation_cache_entries,
                 "Loaded relations cached at most (0: no caching)")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--relation-cache-bytes", o.relation_cache_bytes, "Bytes of cached relations")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--relation-cache-ttl-ms", o.relation_cache_ttl_ms,
                 "Longest a cached relation is served (writes invalidate it at once)")
      ->check(non_negative)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e) == 0 ? 0 : 2; // --help, or a wrong command line or config file
    return make_error(errc::invalid_argument, e.what());
  }
  auto fail = [&](const caf::error& err) {
    std::cerr << "debros-node: " << message_of(err) << std::endl;
    exit_code = 2;
    return err;
  };
  auto h = net::parse_endpoint(http);
  if (!h)
    return fail(h.error());
  auto c = net::parse_endpoint(cluster);
  if (!c)
    return fail(c.error());
  auto s = net::parse_endpoints(seeds);
  if (!s)
    return fail(s.error());
  o.http = *h;
  o.cluster = *c;
  o.seeds = *s;
  if (o.tls_cert.empty() != o.tls_key.empty())
    return fail(make_error(errc::invalid_argument, "--tls-cert and --tls-key go together"));
  if (o.rotate_token_key && o.no_auth)
    return fail(make_error(errc::invalid_argument, "--rotate-token-key needs authentication on"));
  if (!o.tls_ca.empty())
    return fail(
        make_error(errc::invalid_argument,
                   "--tls-ca is no longer used: the cluster port has its own credential "
                   "(--cluster-cert, --cluster-key, --cluster-ca or DATA_DIR/cluster.pem)"));
  if (o.cluster_cert.empty() != o.cluster_key.empty() ||
      o.cluster_cert.empty() != o.cluster_ca.empty())
    return fail(make_error(errc::invalid_argument,
                           "--cluster-cert, --cluster-key and --cluster-ca go together"));
  if (o.idle_timeout_ms <= 0 || o.request_timeout_ms <= 0 || o.header_timeout_ms <= 0 ||
      o.body_timeout_ms <= 0 || o.max_connections == 0 || o.max_connections_per_ip == 0 ||
      o.max_inflight_body_bytes == 0 || o.max_inflight_per_connection == 0 ||
      o.max_inflight_engine_bytes == 0 || o.max_json_depth == 0 || o.max_body_bytes == 0 ||
      o.max_header_bytes < 512 || o.user_db_live_max == 0 || o.user_db_idle_ms <= 0 ||
      o.relation_cache_ttl_ms <= 0 || o.peer_forget_ms <= 0)
    return fail(make_error(errc::invalid_argument,
                           "limits must be positive (and --max-header-bytes at least 512)"));
  return o;
}

runtime_options runtime_options_of(const options& o) {
  runtime_options ro;
  ro.data_dir = o.data_dir;
  ro.node_id = o.node_id;
  ro.scheduler_threads = o.scheduler_threads;
  ro.user_db_live_max = o.user_db_live_max;
  ro.user_db_idle = std::chrono::milliseconds{o.user_db_idle_ms};
  ro.query_cache.entries_max = o.query_cache_entries;
  ro.query_cache.bytes_max = o.query_cache_bytes;
  ro.query_memory_bytes = o.query_memory_bytes;
  ro.scan_slice_entries = o.scan_slice_entries;
  ro.relation_cache.entries_max = o.relation_cache_entries;
  ro.relation_cache.bytes_max = o.relation_cache_bytes;
  ro.relation_cache_ttl = std::chrono::milliseconds{o.relation_cache_ttl_ms};
  ro.network = true;
  return ro;
}

} // namespace debros::node
