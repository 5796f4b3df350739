// The models a runtime knows: definitions (persisted in the "models" table), their numeric ids,
// C++ hooks and validators, and the actors that hold their data. Read through immutable
// snapshots, so any thread routes without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "messages/model.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros {

/// Where an embedder's C++ hook runs.
enum class hook_point : uint8_t {
  before_create,
  after_create,
  before_update,
  after_update,
  before_delete,
  after_delete,
};

/// A before-hook sees the document about to be written and may change it (create, update) or
/// refuse the write by returning an error (then nothing is written and the caller gets that
/// error). For deletes it sees the current document; changes are ignored.
using before_hook = std::function<caf::error(value& doc)>;

/// An after-hook sees the document once its write is durable (for deletes: the deleted one),
/// before the caller gets the reply.
using after_hook = std::function<void(const value& doc)>;

/// Hooks and custom validators of one model, attached from C++ (not persisted: an embedder
/// attaches them at every start). Hooks run in the actor that owns the document, in order of
/// attachment; they must not block.
struct model_extensions {
  std::vector<before_hook> before_create;
  std::vector<before_hook> before_update;
  std::vector<before_hook> before_delete;
  std::vector<after_hook> after_create;
  std::vector<after_hook> after_update;
  std::vector<after_hook> after_delete;
  std::vector<std::pair<std::string, field_validator>> validators;
};

/// The outcome of defining a model.
struct define_outcome {
  model_def def;
  /// False when an identical definition existed already.
  bool created = false;
};

/// One model as the engine uses it. Immutable once published.
struct model_entry {
  uint32_t id = 0;
  std::shared_ptr<const compiled_model> model;
  std::shared_ptr<const model_extensions> ext;
  /// Global models: the shards.
  std::vector<shard_actor> shards;
  /// User-scoped models with fields indexed "global": the index partitions.
  std::vector<gindex_actor> gindex;
  /// local_index_fields(def()), computed once.
  std::vector<std::string> indexed;
  /// The fields with a global index (user-scoped models).
  std::vector<std::string> global_indexed;

  const model_def& def() const noexcept { return model->def(); }
};

/// An immutable view of all models.
struct catalog_snapshot {
  std::map<std::string, std::shared_ptr<const model_entry>, std::less<>> models;
  /// The same entries by model id.
  std::map<uint32_t, std::shared_ptr<const model_entry>> by_id;

  std::shared_ptr<const model_entry> find(std::string_view name) const;
  std::shared_ptr<const model_entry> find(uint32_t id) const;
};

/// Fields that get a local index in every shard: the model's indexed fields plus createdAt.
std::vector<std::string> local_index_fields(const model_def& def);

/// Validates `doc` against the entry's model and its embedder validators, as a write in `mode`;
/// an exception from a validator is an `internal` error ("a custom validator threw: ..."), never
/// an escape from the actor or thread that validates.
caf::error validate(const model_entry& entry, value& doc, write_mode mode);

/// The persistent part of the catalog: definitions and ids in the "models" table.
namespace catalog_store {

/// Every stored definition with its id, in name order. Errors: corruption.
caf::expected<std::vector<std::pair<uint32_t, model_def>>> load(storage::environment& env);

/// Stores `def` under a new id (or the given one) through the writer; returns the id.
caf::expected<uint32_t> save(storage::writer& w, storage::environment& env, const model_def& def);

} // namespace catalog_store

} // namespace debros
