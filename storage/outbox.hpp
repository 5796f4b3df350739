// The transactional outbox: work one actor owes another, written in the same transaction as the
// write that caused it, delivered at least once afterwards, deleted once delivered.
//
// Entries live in one table, grouped by channel (a string naming the destination, such as
// "index/Post/isPublic") and ordered by a per-channel sequence number that starts at 1 and only
// grows. Key: the channel encoded as an order-preserving string, then the sequence number as 8
// big-endian bytes. The bare channel key is the channel's marker: the last sequence number used.
// The payload is opaque to the outbox (callers store records).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "storage/environment.hpp"

namespace debros::storage {

struct outbox_entry {
  uint64_t seq = 0;
  std::string payload;
};

class outbox {
public:
  explicit outbox(table t) noexcept : table_(t) {}

  /// Appends `payload` to `channel` inside `txn` and returns its sequence number. The entry
  /// exists exactly when `txn` commits. Sequence numbers are never reused, also after the
  /// channel drained (a marker entry keeps the last one).
  caf::expected<uint64_t> append(write_txn& txn, std::string_view channel,
                                 std::string_view payload) const;

  /// Up to `max` entries of `channel` with seq > `after`, in order.
  caf::expected<std::vector<outbox_entry>> read(const read_txn& txn, std::string_view channel,
                                                uint64_t after, size_t max) const;

  /// Removes every entry of `channel` with seq <= `through`. Idempotent: removing what is gone
  /// already is not an error. Returns how many were removed.
  caf::expected<size_t> remove_through(write_txn& txn, std::string_view channel,
                                       uint64_t through) const;

  /// The channels that hold entries, in order.
  caf::expected<std::vector<std::string>> channels(const read_txn& txn) const;

  /// The sequence number of the last entry ever appended to `channel` as of `txn`'s snapshot
  /// (0 when none was), whether or not it was removed since: every entry appended by a
  /// transaction that committed before `txn` began has a number <= it. Cost: one lookup (the
  /// channel's marker). Fails with `corruption` when the marker is malformed.
  caf::expected<uint64_t> last_seq(const read_txn& txn, std::string_view channel) const;

  /// Number of entries in `channel`.
  caf::expected<size_t> depth(const read_txn& txn, std::string_view channel) const;

  /// Entries waiting in every channel (markers not counted), and those of them in channels whose
  /// name starts with `dead_prefix` (dead letters: work quarantined by its consumer). Cost: one
  /// seek per channel plus a walk of the dead-letter entries, not a walk of all pending work.
  struct counts {
    size_t pending = 0;
    size_t dead = 0;
  };
  caf::expected<counts> count(const read_txn& txn, std::string_view dead_prefix) const;

private:
  table table_;
};

} // namespace debros::storage
