// Upgrading a store written in layout 1 to layout 2 (actors/doc_keys.hpp), once, when it opens.
//
// Layout 1 kept node-wide tables whose keys did not name a partition:
//
//   index       model | field (key string) | value | createdAt | shard (2) | id  -> ""
//   unique      model | field (key string) | value (or 0xfe + SHA-256)          -> id
//   owners      model | id bytes                                                -> owner
//   tombstones  model | id bytes                                                -> deletedAt
//   docs        model | user (key string) | id bytes  (user-scoped models)      -> record
//   users       user id bytes                                                   -> record
//
// Layout 2 puts every key in the range of its partition: index entries move to "shard_index"
// with the shard after the model; unique claims move to "claims" and owners to "directory", each
// with its partition after the model; tombstones, user-scoped documents and users entries get
// their partition in place. Values do not change.
//
// The upgrade runs through the writer before the engine accepts requests, in batches of at most
// `batch_entries` entries, each batch one transaction that removes the old keys it converts and
// stores their new ones. A crash between batches leaves a store that is part old and part new;
// the next start goes on from there: an old key is told from a new one by its bytes alone
// (a key string tag 0x30 where the new layout has a partition number below 256; ids and user
// ids, which hold no control characters, where it has a zero byte), and keys that moved to
// another table are whatever is left in the old one. The meta entry "layout.version" = "2" is
// written after the last batch; until then the engine does not start. Document counts are then
// recounted once (doc_counts.hpp version 2: one entry per user range).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "actors/doc_counts.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros::layout_upgrade {

constexpr std::string_view version_key = "layout.version";
constexpr std::string_view version = "2";

struct options {
  /// Entries converted per transaction.
  size_t batch_entries = 10000;
  /// Stop after this many batches, leaving the upgrade unfinished (tests of a crash between
  /// batches).
  size_t max_batches = std::numeric_limits<size_t>::max();
};

struct report {
  /// Whether the store was in layout 1 (or part upgraded) and was converted.
  bool upgraded = false;
  /// Whether the store is in layout 2 now (false only when max_batches stopped it).
  bool finished = false;
  /// Entries converted.
  uint64_t entries = 0;
};

/// Brings the store to layout 2 unless its version entry says it is. `models` tells which
/// models are user-scoped (their documents are converted). Call from a plain thread before the
/// engine accepts writes (engine::load does). Errors: corruption for a key that is neither old
/// nor new, or a version entry of a layout this Debros does not know; storage errors.
caf::expected<report> ensure(storage::environment& env, storage::writer& w,
                             const std::vector<doc_counts::model_ref>& models,
                             const options& opt = {});

} // namespace debros::layout_upgrade
