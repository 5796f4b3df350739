// debros::runtime: everything a node runs, in-process: the LMDB environment of one data
// directory, its group-commit writer, the CAF actor system whose actors own the data, and the
// embedded C++ API.
//
//   auto rt = debros::runtime::start({.data_dir = "./data"});        // caf::expected<...>
//   (*rt)->define_json("Post", R"({"fields": {"title": {"type": "string", "required": true}}})");
//   auto posts = (*rt)->model("Post");
//   auto doc = posts.create(debros::object{{"title", "hello"}});   // caf::expected<value>
//   auto page = posts.query().where("title", "like", "hel").order_by("createdAt", true)
//                 .limit(10).exec();                                // caf::expected<query_result>
//
// Blocking calls (model_handle, query_builder) are for plain threads: never call them from an
// actor. Actors use `actor()`, the typed handle, and get replies as messages.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "actors/catalog.hpp"
#include "actors/interfaces.hpp"
#include "actors/mapping.hpp"
#include "actors/result_cache.hpp"
#include "actors/shard.hpp"
#include "messages/model.hpp"
#include "messages/query.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace debros {

class engine;
class runtime;

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
  /// How long a blocking call waits before it fails with `timeout`.
  std::chrono::milliseconds call_timeout{30000};
  /// User databases (user-scoped models): hosts that activate them, the most live at once
  /// (idle ones beyond it are passivated, least recently used first), and the idle time after
  /// which one is passivated.
  size_t user_db_hosts = 4;
  size_t user_db_live_max = 10000;
  std::chrono::milliseconds user_db_idle{30000};
  /// Bounds of the query-result cache (queries that ask `cache`) and of the relationship
  /// cache, and how long a cached relation may be served (writes invalidate it earlier).
  cache_options query_cache;
  cache_options relation_cache;
  std::chrono::milliseconds relation_cache_ttl{60000};
  /// The memory one query may hold for its candidates, over all the partitions it asks (each
  /// gets an equal share, at least 64 KiB): past it the query fails with `too_large` (413) and
  /// a message saying to page with the cursor. Candidates are sort tuples only when a query
  /// skips or returns many (offset + limit + 1 times the partitions above 1,024), so the bound
  /// is met by deep offsets (offset 100,000 over 16 shards takes ~16 MiB per shard). 0: none.
  uint64_t query_memory_bytes = uint64_t{64} << 20;
  /// Entries (index entries, documents) a partition's scan reads before it lets its actor and
  /// the store go on (actors/partition_scan.hpp "partition_scan"): a longer scan continues in
  /// slices, each in a read snapshot of its own. 0: every scan in one piece.
  uint64_t scan_slice_entries = 10000;
  /// Load CAF's middleman so that this runtime can talk to other nodes (debros-node does).
  bool network = false;
  /// Mutual TLS between nodes (caf_openssl): this node's certificate, its key and the cluster
  /// CA (PEM files, checked beforehand: cluster/credential.hpp). With `network` but no
  /// certificate, the runtime cannot open a cluster port (net::cluster refuses plaintext).
  std::string cluster_cert;
  std::string cluster_key;
  std::string cluster_ca;
  storage::writer_options writer;
  /// What each shard, user database and global index partition holds for later, at most.
  partition_limits partitions;
};

/// The tables every runtime opens. Keys inside each table are prefixed by model, so the count is
/// fixed whatever the number of models, users or shards.
extern const char* const runtime_tables[];

/// A query under construction (see runtime.hpp's header comment). Conditions added with
/// `where` are ANDed; `or_where` makes everything so far one alternative and its condition the
/// other; `where_any` adds a group of alternatives to the AND list.
class query_builder {
public:
  query_builder(runtime& rt, std::string model);

  query_builder& where(std::string path, std::string_view op, value operand = {});
  query_builder& where(std::string path, query_op op, value operand = {});
  query_builder& or_where(std::string path, std::string_view op, value operand = {});
  query_builder& where_any(std::vector<query_expr> alternatives);
  query_builder& where_in(std::string path, array values);
  query_builder& user_in(std::vector<std::string> users);
  query_builder& order_by(std::string path, bool descending = false);
  query_builder& limit(int64_t n);
  query_builder& offset(int64_t n);
  query_builder& after(std::string cursor);
  query_builder& with(std::string relation);
  query_builder& with_total(bool on = true);
  /// Report each partition's plan (query_result::plan).
  query_builder& explain(bool on = true);
  query_builder& cache(int64_t seconds);

  /// The query as built. An operator text that does not parse makes exec() fail.
  const query& get() const noexcept { return q_; }

  caf::expected<query_result> exec() const;
  /// The first document, or std::nullopt.
  caf::expected<std::optional<value>> first() const;
  caf::expected<uint64_t> count() const;
  caf::expected<value> sum(std::string field) const;
  caf::expected<value> avg(std::string field) const;
  caf::expected<value> min(std::string field) const;
  caf::expected<value> max(std::string field) const;

  template <class T>
  caf::expected<std::vector<T>> exec_as(const mapping<T>& m) const {
    auto r = exec();
    if (!r)
      return r.error();
    std::vector<T> out;
    for (auto& d : r->docs) {
      auto x = m.from(d);
      if (!x)
        return x.error();
      out.push_back(std::move(*x));
    }
    return out;
  }

private:
  static query_expr cond(std::string path, query_op op, value operand);
  caf::expected<value> aggregate(aggregate_fn fn, std::string field) const;

  runtime* rt_;
  query q_;
  caf::error pending_; // an operator that did not parse
};

/// The operations on one model. Cheap to copy; valid while its runtime lives. Every call
/// blocks the calling thread until the operation is durable (writes) or answered (reads).
class model_handle {
public:
  model_handle(runtime& rt, std::string name) : rt_(&rt), name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }

  /// Creates a document (an `id` may be given). Returns the stored document.
  caf::expected<value> create(value doc) const;
  /// Creates all documents or none. Returns their ids.
  caf::expected<std::vector<std::string>> create_batch(std::vector<value> docs) const;
  /// The document, from the last committed state. Errors: not_found.
  caf::expected<value> get(std::string_view id) const;
  /// Merges `fields` (a null member removes a field). Returns the stored document.
  caf::expected<value> update(std::string id, value fields) const;
  /// Replaces the fields. Returns the stored document.
  caf::expected<value> replace(std::string id, value fields) const;
  /// Deletes the document. Errors: not_found.
  caf::error remove(std::string id) const;
  /// Adds `by` to a number field; concurrent increments are never lost. Returns the new value.
  caf::expected<value> increment(std::string id, std::string field, value by = value{1}) const;
  /// The document with the relations `with` loaded (eager; dotted paths for nested ones).
  caf::expected<value> get_with(std::string id, std::vector<std::string> with) const;
  /// One relation of a document (lazy loading): an object, null or an array.
  caf::expected<value> related(const value& doc, const std::string& relation) const;
  query_builder query() const { return query_builder{*rt_, name_}; }
  /// The documents matching no condition, counted by a query (it reads every document).
  caf::expected<uint64_t> count() const { return query().count(); }
  /// The documents of the model on this node, from the counts the writes keep
  /// (actors/doc_counts.hpp): exact, and no document is read. Errors: not_found, corruption.
  caf::expected<uint64_t> document_count() const;

  template <class T>
  caf::expected<T> get_as(std::string_view id, const mapping<T>& m) const {
    auto d = get(id);
    if (!d)
      return d.error();
    return m.from(*d);
  }

  /// Creates a document from a struct; an empty mapped `id` means "assign one".
  template <class T>
  caf::expected<T> create_as(const T& x, const mapping<T>& m) const {
    auto fields = m.to(x);
    if (auto* id = fields.find("id"); id != nullptr && id->is_string() && id->as_string().empty())
      fields.as_object().erase("id");
    auto d = create(std::move(fields));
    if (!d)
      return d.error();
    return m.from(*d);
  }

private:
  runtime* rt_;
  std::string name_;
};

class runtime {
public:
  /// Opens the data directory, loads the models and starts their actors. Errors: those of
  /// storage::environment::open, corruption of stored definitions.
  static caf::expected<std::unique_ptr<runtime>> start(runtime_options opts);

  /// Stops (see stop()).
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// What stop() did.
  struct stop_report {
    /// Actors still running when the bound passed: application actors, `scoped_actor`s, or
    /// engine actors busy in embedder code (a hook or validator that does not return). 0 when
    /// everything stopped in time.
    size_t actors_left = 0;
    /// How long the stop took.
    std::chrono::milliseconds took{0};
    /// False when this call found the runtime stopped already (and did nothing).
    bool stopped_now = false;
  };

  /// Commits every write already submitted, stops the engine's actors, which answer what they
  /// hold (a partition fails the queries it holds with shutting_down; an operation whose actor
  /// is gone fails with unavailable), and waits at most `bound` for every actor of the system
  /// to finish (stop_report::actors_left says how many did not: application actors,
  /// `scoped_actor`s, or engine actors stuck in embedder code). Later calls of every operation
  /// fail with shutting_down. Idempotent; callable from any thread. The actor system, the
  /// engine and the store go with the runtime: its destructor (on the thread that started it,
  /// because CAF 0.17's actor system waits for its logger, which that thread references)
  /// releases them when no actor runs, and otherwise leaves them to the process's exit (never
  /// destroyed under a running actor, never waited for without bound).
  stop_report stop(std::chrono::milliseconds bound = std::chrono::milliseconds{10000});

  // -- models -----------------------------------------------------------------------------------

  /// Defines a model (see engine::define). `created` tells whether it is new.
  caf::expected<model_def> define(model_def def, bool* created = nullptr);
  /// Defines a model without blocking the calling thread: the checks and the durable write of
  /// the definition (an fsync) run on the runtime's define thread, one define after the other,
  /// and `done` gets the stored definition and whether it is new, once (on that thread; it must
  /// not block). stop() lets the posted defines finish first. For event
  /// loops and actors (the HTTP gateway's PUT /v1/models/{M}). Errors: those of define,
  /// shutting_down.
  void define_async(model_def def, reply_fn<define_outcome> done);
  /// Defines a model from the JSON form of API.md "Models".
  caf::expected<model_def> define_json(std::string_view name, std::string_view json_text,
                                       bool* created = nullptr);
  std::vector<model_def> models() const;
  caf::expected<model_def> find_model(std::string_view name) const;
  model_handle model(std::string name) { return model_handle{*this, std::move(name)}; }

  /// C++ hooks and validators (not persisted; attach them at every start).
  caf::error add_hook(std::string_view model, hook_point at, before_hook fn);
  caf::error add_hook(std::string_view model, hook_point at, after_hook fn);
  caf::error add_validator(std::string_view model, std::string field, field_validator fn);

  // -- for actors and the gateway -----------------------------------------------------------------

  /// The typed handle for application actors.
  runtime_actor actor() const;
  /// Routing and asynchronous operations (used by the HTTP gateway).
  class engine& engine() noexcept;

  /// Runs `start` with a callback and waits for its result (at most options().call_timeout,
  /// then `timeout`). After stop(): shutting_down.
  template <class R>
  caf::expected<R> await(const std::function<void(reply_fn<R>)>& start);

  /// True once stop() began.
  bool stopping() const noexcept;

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

namespace detail {

// A one-shot result slot shared between a waiting thread and the callback that fills it.
template <class R>
class sync_slot {
public:
  void set(caf::expected<R> x) {
    std::lock_guard<std::mutex> guard{mtx_};
    result_.emplace(std::move(x));
    cv_.notify_one();
  }

  caf::expected<R> wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, timeout, [&] { return result_.has_value(); }))
      return make_error(errc::timeout, "no answer within " + std::to_string(timeout.count()) +
                                           " ms; the operation may or may not have taken effect");
    return std::move(*result_);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<caf::expected<R>> result_;
};

} // namespace detail

template <class R>
caf::expected<R> runtime::await(const std::function<void(reply_fn<R>)>& start) {
  if (stopping())
    return make_error(errc::shutting_down, "the runtime is stopping");
  auto slot = std::make_shared<detail::sync_slot<R>>();
  start([slot](caf::expected<R> x) { slot->set(std::move(x)); });
  return slot->wait(options().call_timeout);
}

} // namespace debros
