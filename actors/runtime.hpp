// debros::runtime: everything a node runs, in-process: the LMDB environment of one data
// directory, its group-commit writer and the CAF actor system whose actors own the data.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace debros {

struct runtime_options {
  /// The data directory (created if missing).
  std::string data_dir = "./data";
  /// This node's id; empty means the one kept in the data directory (generated on first start).
  std::string node_id;
  /// Commit durability; `full` (fsync before acknowledging) unless a test says otherwise.
  storage::durability sync = storage::durability::full;
  /// CAF scheduler threads; 0 means one per hardware thread (CAF's own default is 4).
  size_t scheduler_threads = 0;
  /// Initial LMDB map size; it grows on demand.
  size_t initial_map_bytes = size_t{256} << 20;
  storage::writer_options writer;
};

/// The tables every runtime opens. Keys inside each table are prefixed by model, so the count is
/// fixed whatever the number of models, users or shards.
extern const char* const runtime_tables[];

class runtime {
public:
  /// Opens the data directory and starts the actor system. Errors: those of
  /// storage::environment::open.
  static caf::expected<std::unique_ptr<runtime>> start(runtime_options opts);

  /// Stops actors, commits every acknowledged write and closes the store.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Stops accepting work, finishes in-flight writes and stops the actor system. Idempotent.
  void stop();

  /// This node's id: given in the options of the node, or generated on first start and kept in
  /// the data directory.
  const std::string& node_id() const noexcept;

  storage::environment& env() noexcept;
  storage::writer& writer() noexcept;
  caf::actor_system& system() noexcept;
  const runtime_options& options() const noexcept;

private:
  struct impl;
  explicit runtime(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace debros
