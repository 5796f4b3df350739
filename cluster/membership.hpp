// Cluster membership: every node publishes a member actor on its cluster port (CAF's
// middleman over mutual TLS through caf_openssl, always: the runtime must have been given a
// cluster credential), greets the nodes it is seeded with, and keeps the list of peers it
// knows with whether each is up. Nodes that greet this one become peers too. A lost seed is
// retried every few seconds; a peer down for `peer_forget` is forgotten.
//
// This version shares membership only: documents, shards and indexes stay on the node that
// holds them (no placement or replication across nodes yet).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "caf/expected.hpp"

#include "cluster/endpoint.hpp"
#include "messages/requests.hpp"
#include "messages/value.hpp"

namespace debros {
class runtime;
} // namespace debros

namespace debros::net {

struct cluster_options {
  endpoint listen{"127.0.0.1", 7701};
  std::vector<endpoint> seeds;
  /// This node's id and HTTP address (the cluster address is filled in once bound).
  node_info self;
  std::chrono::milliseconds retry{2000};
  /// A peer down this long is removed from the table (a seed is still greeted again).
  std::chrono::milliseconds peer_forget{600000};
};

class cluster {
public:
  /// Publishes this node's member actor and starts greeting the seeds. The runtime must have
  /// been started with `network` and a cluster credential. Errors: invalid_argument without a
  /// credential (there is no plaintext cluster port); io_error when the port cannot be opened.
  static caf::expected<std::unique_ptr<cluster>> start(runtime& rt, cluster_options opts);

  ~cluster();

  /// The address actually bound.
  endpoint local() const;

  /// [{"node": ID, "address": "HOST:PORT", "up": bool}, ...] in node id order.
  value peers() const;

  /// Stops greeting and unpublishes. Idempotent.
  void stop();

  struct impl;

private:
  explicit cluster(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace debros::net
