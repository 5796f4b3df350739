// A global index partition of a user-scoped model (DESIGN.md "index partition"): one hash
// range of the values of the model's fields indexed "global", mapping value -> (owner, id).
//
// Maintenance goes through the transactional outbox: a document's write appends the index
// changes to this partition's channel in the same transaction; this actor applies them (puts
// and deletes are idempotent) and removes them from the outbox in one later transaction. It
// drains when a writer nudges it and once at start, so after a crash at any point the index
// agrees with the documents once the outbox is empty. A query waits until the work committed
// before it arrived is applied (through the channel's last sequence number at that moment,
// apply_gate.hpp), so it sees every write acknowledged before it was asked; work appended while
// it waits does not hold it up, so sustained writes cannot starve it.
#pragma once

#include <memory>

#include "caf/fwd.hpp"

#include "actors/interfaces.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros {

struct model_entry;

struct gindex_config {
  std::shared_ptr<const model_entry> entry;
  uint32_t partition = 0;
  storage::environment* env = nullptr;
  storage::writer* writer = nullptr;
  /// Queries held at most (partition_limits::held_queries_max in shard.hpp); one more fails at
  /// once with `unavailable`.
  size_t held_queries_max = 16384;
};

gindex_actor spawn_gindex(caf::actor_system& sys, gindex_config cfg);

} // namespace debros
