// The shard actor: owns the documents of one partition of a global model and their local
// indexes, or (the same code) one user's database of a user-scoped model. All writes to its
// documents go through it.
//
// Concurrency: operations on one document are serialized. While a write of document X waits for
// its commit, later operations on X wait in a queue and run, in order, once it is durable; they
// read the committed document, so no update is lost. Queued increments of one document are
// coalesced into a single write. Reads never wait: they see the last committed state.
// Uniqueness is checked inside the writer's transaction, which serializes every write of the
// node, so `unique` holds across all shards of a model, also under concurrent creates.
#pragma once

#include <cstdint>
#include <memory>

#include "caf/fwd.hpp"

#include "caf/actor.hpp"

#include "actors/doc_writes.hpp"
#include "actors/interfaces.hpp"
#include "actors/result_cache.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros {

struct model_entry;

/// Bounds of the work partitions hold for later, so that a flood of operations on a few
/// documents, or of queries while an index catches up, fails fast instead of growing memory
/// (docs/node.md section 3).
struct partition_limits {
  /// Operations one shard or user database holds waiting for an earlier write of their document
  /// to commit, all its documents together (coalesced increments each count one). One more
  /// fails at once with `unavailable`; operations on documents with no write in flight never
  /// wait and are not refused.
  size_t queued_ops_max = 16384;
  /// Queries one global index partition holds until the work committed before them is applied
  /// (gindex.hpp). One more fails at once with `unavailable`.
  size_t held_queries_max = 16384;
};

struct shard_config {
  std::shared_ptr<const model_entry> entry;
  /// A shard of a global model, or one user's database of a user-scoped model.
  doc_place place;
  storage::environment* env = nullptr;
  storage::writer* writer = nullptr;
  /// User databases: the host that activated this actor, told `done` after every operation (so
  /// that it passivates only actors with nothing in flight), under `host_key`.
  caf::actor host;
  std::string host_key;
  /// Bumped for the model after each commit, before the reply (the caches' invalidation).
  generations* gens = nullptr;
  /// partition_limits::queued_ops_max.
  size_t queued_ops_max = partition_limits{}.queued_ops_max;
};

/// Spawns a partition actor (a shard, or a user's database). It lives until it receives
/// stop_atom.
shard_actor spawn_shard(caf::actor_system& sys, shard_config cfg);

} // namespace debros
