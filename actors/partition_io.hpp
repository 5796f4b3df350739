// Moving a partition's data: export as a stream of bounded chunks, import into another runtime,
// drop. Each works on the partition's own key ranges (actors/doc_keys.hpp, store layout 2) and
// reads or locks no other partition's keys.
//
// What a partition holds, table by table (each a range `model | number`, the users directory's a
// range `number`):
//
//   shard        docs, shard_index, counts
//   user_range   docs, counts
//   gindex       gindex, and its pending work: outbox channel gidx/<model>/<number>
//   claims       claims
//   directory    directory, tombstones
//   users        users
//
// and its write sequence (seqs), carried in every chunk. Each chunk is read in a snapshot of its
// own, so a partition written while it is exported may give chunks of different sequences: an
// export is a consistent copy when its first and last chunks carry the same sequence
// (export_all reports it). Moving a live partition needs the writes made after the copy, which
// the replication log of a later issue provides; until then, export a partition that is not
// being written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "actors/doc_keys.hpp"

namespace debros {

class engine;

/// One entry of a partition: which of its tables (see above, in that order), key, value.
struct partition_entry {
  uint8_t table = 0;
  std::string key;
  std::string val;
};

/// A bounded piece of a partition.
struct partition_chunk {
  doc_keys::partition_id part;
  /// The model's name, checked on import (empty for the users directory).
  std::string model;
  /// The partition's write sequence in this chunk's snapshot.
  uint64_t seq = 0;
  std::vector<partition_entry> entries;
  /// Where the next chunk starts (export_chunk's `resume`); empty in the last chunk.
  std::string next;
  bool last = false;
};

/// Default bound on one chunk's keys and values.
constexpr size_t partition_chunk_bytes = size_t{1} << 20;

/// The chunk of `part` that starts at `resume` (empty: the first), holding at most `bytes_max`
/// bytes of keys and values (at least one entry). Errors: not_found for a model the engine does
/// not have; invalid_argument for a partition number out of range or a malformed `resume`;
/// storage errors.
caf::expected<partition_chunk> export_chunk(const engine& eng, const doc_keys::partition_id& part,
                                            const std::string& resume,
                                            size_t bytes_max = partition_chunk_bytes);

/// Exports the whole partition, handing each chunk to `sink` (which may fail the export).
/// Returns whether the copy is consistent (every chunk of the same sequence).
caf::expected<bool> export_all(const engine& eng, const doc_keys::partition_id& part,
                               const std::function<caf::error(partition_chunk&)>& sink,
                               size_t bytes_max = partition_chunk_bytes);

/// Stores one chunk of an export into `eng`'s store, in one transaction. The first chunk
/// (`first`) requires the partition to be empty here (conflict otherwise); the chunk's model
/// must have the same id and name here (invalid_argument otherwise: define the models in the
/// same order, as a cluster's nodes share one catalog). The last chunk sets the partition's
/// sequence. Query caches of the model are invalidated. Errors: those, storage errors.
caf::error import_chunk(engine& eng, const partition_chunk& chunk, bool first);

/// Removes every entry of `part` and its sequence, in transactions of at most `batch` entries.
/// Returns the number of entries removed. Errors: as export_chunk.
caf::expected<uint64_t> drop_partition(engine& eng, const doc_keys::partition_id& part,
                                       size_t batch = 10000);

} // namespace debros
