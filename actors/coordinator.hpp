// The query coordinator: one actor per query. It scatters the query to the partitions that can
// hold matches, gathers their best k = offset + limit + 1 hits, k-way merges them in order,
// applies the offset once, decodes only the page it returns and computes the next cursor. When
// k over all partitions is large (a deep offset or a large page), the first round gathers sort
// tuples only and a second round asks the partitions holding the page for exactly its
// documents, so memory follows the page, not the offset; each partition's candidates are held
// within its share of the query's memory bound (engine::query_memory_bytes). Partial failure is
// an error: a query never answers with some partitions missing.
#pragma once

#include <memory>

#include "caf/fwd.hpp"

#include "actors/interfaces.hpp"

namespace debros {

struct model_entry;

/// Largest offset a query may use; deeper pages are reached with cursors (`after`).
constexpr int64_t query_offset_max = 100000;

using coordinator_actor = caf::typed_actor<caf::replies_to<query>::with<query_result>,
                                           caf::replies_to<grouped_query>::with<query_result>>;

class engine;

/// Spawns a coordinator for one query on `entry`'s model. It answers one query (a request) and
/// quits. Targets: global models, the shards (or those holding the shard key's
/// values); user-scoped models, the databases of userIn's users, else the global index
/// partitions when a top-level condition or the first sort key uses a global index, else every
/// user's database (scanned by one actor per host, each taking the users of that host; the
/// result's stats say all_users).
coordinator_actor spawn_coordinator(engine& eng, std::shared_ptr<const model_entry> entry);

} // namespace debros
