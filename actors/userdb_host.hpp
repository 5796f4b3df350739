// Hosts of user databases. A user-scoped model keeps each user's documents in that user's own
// database: a partition actor per (model, user), activated by its host on the first message
// for it and passivated when idle. Users are spread over the hosts by user range (doc_keys.hpp),
// so every host manages a bounded share of live actors. Millions of users may exist; memory follows
// the live ones.
//
// A host counts, per live actor, the operations it forwarded and not yet saw answered; it
// passivates only actors with none (after `idle`, or least recently used first when it holds
// more than its bound), so no operation is ever lost or run by two actors of one database.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "actors/interfaces.hpp"
#include "actors/result_cache.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros {

struct model_entry;

/// Counters shared by all hosts (metrics).
struct userdb_stats {
  std::atomic<uint64_t> live{0};
  std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> passivations{0};
  std::atomic<uint64_t> peak_live{0};
  /// User databases that failed (and reactivate on next use).
  std::atomic<uint64_t> failures{0};
};

struct userdb_host_config {
  storage::environment* env = nullptr;
  storage::writer* writer = nullptr;
  /// Live actors this host may keep (idle ones beyond it are passivated).
  size_t live_max = 2500;
  /// An actor with nothing in flight for this long is passivated.
  std::chrono::milliseconds idle{30000};
  std::shared_ptr<userdb_stats> stats;
  generations* gens = nullptr;
  /// Each user database's partition_limits::queued_ops_max (shard.hpp).
  size_t queued_ops_max = 16384;
  /// The catalog's current entry of a model, by name (null when there is none).
  std::function<std::shared_ptr<const model_entry>(const std::string&)> find_model;
};

/// Spawns a host. Messages: for_user<Op> (typed requests: the document operations and
/// partition_query), stop_atom.
caf::actor spawn_userdb_host(caf::actor_system& sys, userdb_host_config cfg);

} // namespace debros
