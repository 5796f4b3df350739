// The engine: the catalog of models and the routing of operations to the actors that own the
// documents. Thread-safe: the embedded API, the HTTP gateway and the front actor all route
// through it. Callbacks (reply_fn) are called once, either at once on the calling thread (for
// errors found while routing) or later on the thread of the actor that completes the operation.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/fwd.hpp"

#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/interfaces.hpp"
#include "actors/result_cache.hpp"
#include "actors/shard.hpp"
#include "actors/userdb_host.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros {

class engine {
public:
  engine(caf::actor_system& sys, storage::environment& env, storage::writer& writer);
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Loads the stored models and spawns their actors. Call once, before anything else.
  caf::error load();

  /// Defines a model: stores it and spawns its shards. An identical definition is accepted
  /// (created = false); a different one under the same name is a conflict (change it with a
  /// migration). Errors: invalid_argument for a definition that does not compile or has field
  /// names longer than 64 bytes, conflict, storage errors.
  caf::expected<define_outcome> define(model_def def);

  /// The current catalog.
  std::shared_ptr<const catalog_snapshot> snapshot() const;

  /// The model named `name`, or not_found.
  caf::expected<std::shared_ptr<const model_entry>> find(std::string_view name) const;

  /// Attaches C++ extensions to a model (see catalog.hpp). Errors: not_found.
  caf::error add_before_hook(std::string_view model, hook_point at, before_hook fn);
  caf::error add_after_hook(std::string_view model, hook_point at, after_hook fn);
  caf::error add_validator(std::string_view model, std::string field, field_validator fn);

  // -- operations (asynchronous; see the header comment for where `done` runs) ----------------

  // `as_user`: empty for a trusted write; otherwise the user a write is made for, whose
  // ownership of the document the owning actor checks (messages/requests.hpp, doc_create).
  void create(std::string model, value doc, reply_fn<value> done, std::string as_user = {});
  void update(std::string model, std::string id, value fields, bool replace, reply_fn<value> done,
              std::string as_user = {});
  void remove(std::string model, std::string id, reply_fn<bool> done, std::string as_user = {});
  void increment(std::string model, std::string id, std::string field, value by,
                 reply_fn<value> done, std::string as_user = {});
  void run_query(query q, reply_fn<query_result> done);

  /// Creates all documents or none, in one transaction. Hooks and validators run for each
  /// document (in the batch's actor) before anything is written. Reply: the ids, in order.
  void create_batch(std::string model, std::vector<value> docs,
                    reply_fn<std::vector<std::string>> done);

  /// Reads a document from the last committed state, on the calling thread (a snapshot read:
  /// no actor involved). `user_hint` routes a user-scoped document without the owners lookup.
  /// Errors: not_found, corruption.
  caf::expected<value> get(std::string_view model, std::string_view id,
                           std::string_view user_hint = {}) const;

  /// Where document `id` of `entry` is, or std::nullopt. Global models sharded by id: computed;
  /// other global models: the shards are looked up; user-scoped models: the owners table (or
  /// `user_hint`).
  caf::expected<std::optional<doc_place>> locate(const model_entry& entry, std::string_view id,
                                                 std::string_view user_hint = {}) const;

  /// Assigns an id to `doc` when it has none (a new time-sortable id) and returns where it
  /// belongs. Errors: invalid_argument when `doc` is not an object, validation_failed when a
  /// user-scoped document has no userId.
  caf::expected<doc_place> place(const model_entry& entry, value& doc) const;

  /// Starts the hosts of user databases (runtime::start calls it before load()).
  void start_hosts(size_t hosts, size_t live_max, std::chrono::milliseconds idle);

  /// The host of `user`'s databases.
  const caf::actor& host_of(std::string_view user) const;
  /// The placement directory: the actor that owns partition `p` (a shard, a global index
  /// partition, or the user-database host of a user range). Today every partition is local and
  /// placed by the catalog (its entry's lists) and the hosts; the cluster's placement table
  /// goes here. Errors: not_found for an unknown model; unavailable naming a partition with no
  /// actor (claim, directory and users partitions are written in the owning document's
  /// transaction).
  caf::expected<caf::actor> resolve(const doc_keys::partition_id& p) const;
  size_t host_count() const noexcept { return hosts_.size(); }
  const userdb_stats& user_databases() const noexcept { return *userdb_stats_; }

  // -- caches (result_cache.hpp): writers bump their model's generation after the commit and
  // before the reply, so no cached result survives a write it does not contain.
  generations& model_generations() noexcept { return gens_; }
  const generations& model_generations() const noexcept { return gens_; }
  result_cache<value>& relation_cache() noexcept { return *relation_cache_; }
  result_cache<query_result>& query_cache() noexcept { return *query_cache_; }
  std::chrono::milliseconds relation_cache_ttl() const noexcept { return relation_ttl_; }
  /// The deadline of every request between the engine's actors (a coordinator asking its
  /// partitions, the front asking a user database's host, relation loads): past it the
  /// request fails with `timeout`. runtime_options::call_timeout.
  std::chrono::milliseconds request_timeout() const noexcept { return request_timeout_; }
  void set_request_timeout(std::chrono::milliseconds t) noexcept { request_timeout_ = t; }

  /// The memory one query's candidates may take over all its partitions (0: no bound); see
  /// runtime_options::query_memory_bytes.
  uint64_t query_memory_bytes() const noexcept { return query_memory_bytes_; }
  void set_query_memory_bytes(uint64_t n) noexcept { query_memory_bytes_ = n; }

  /// Entries a partition's scan reads per slice (see runtime_options::scan_slice_entries).
  uint64_t scan_slice_entries() const noexcept { return scan_slice_entries_; }
  void set_scan_slice_entries(uint64_t n) noexcept { scan_slice_entries_ = n; }

  /// The bounds of what each partition holds for later (shard.hpp). Call before start_hosts()
  /// and load() (runtime::start does); partitions spawned before keep the defaults.
  void set_partition_limits(partition_limits l) noexcept { limits_ = l; }

  /// Replaces the caches with new bounds. Call before the first query (runtime::start does).
  void configure_caches(cache_options queries, cache_options relations,
                        std::chrono::milliseconds relation_ttl);

  /// A document with its relations loaded (`with` paths). Errors: those of get, and
  /// invalid_argument for unknown relations.
  void get_with(std::string model, std::string id, std::string user_hint,
                std::vector<std::string> with, reply_fn<value> done);

  /// The documents of a model on this node, from the counts the writes keep
  /// (actors/doc_counts.hpp): exact as of the last commit, one short read, no document read.
  /// Errors: corruption, unavailable (no reader slot).
  caf::expected<uint64_t> document_count(const model_entry& entry) const;
  /// The same for every model of `models`, in one read transaction.
  caf::expected<std::map<std::string, uint64_t, std::less<>>>
  document_counts(const catalog_snapshot& models) const;

  /// Documents that query partitions examined since start (every scan and every index
  /// candidate read): a figure for metrics, and how tests tell that a route reads no document.
  uint64_t documents_examined() const noexcept { return examined_.load(std::memory_order_relaxed); }
  void note_examined(uint64_t n) noexcept { examined_.fetch_add(n, std::memory_order_relaxed); }

  /// Registers a user (API.md "Users"); `done` gets whether it is new, on a CAF worker. Writing a
  /// user-scoped document for an unknown user registers it too, in the document's transaction.
  void ensure_user(std::string user, reply_fn<bool> done);

  /// A user's directory entry with its databases: {"id", "createdAt", "models": {M: {...}}}.
  /// Counts each database's documents on the calling thread, in one snapshot: for embedders;
  /// event loops and actors use get_user_async. Errors: not_found, invalid_argument.
  caf::expected<value> get_user(std::string_view user) const;

  /// The same without blocking: the databases are counted by an actor of their own in slices
  /// of scan_slice_entries() documents (actors/user_directory.cpp), each in its own snapshot;
  /// `done` gets the entry once, on a CAF worker. Errors: those of get_user.
  void get_user_async(std::string user, reply_fn<value> done);

  static caf::error check_user_id(std::string_view user);

  /// Tells every actor to stop after the work already in its mailbox.
  void stop_actors();

  /// Supervision: replaces a shard or global index partition that failed (`dead`, with
  /// `reason`) by a new actor over the same LMDB state and publishes it; its mailbox died with
  /// it (operations there were answered unavailable). Nothing when `dead` is not a partition
  /// or the engine is stopping. Called by the engine's supervisor, which monitors them all.
  void respawn(const caf::actor_addr& dead, const caf::error& reason);
  /// Partitions respawned since the start.
  uint64_t respawns() const noexcept { return respawns_.load(); }

  caf::actor_system& system() noexcept { return sys_; }
  /// Whether stop() was called.
  bool stopping() const noexcept { return stopping_.load(); }
  storage::environment& env() noexcept { return env_; }
  storage::environment& env() const noexcept { return env_; }
  storage::writer& writer() noexcept { return writer_; }
  const doc_tables& tables() const noexcept { return tables_; }

private:
  caf::expected<std::shared_ptr<model_entry>> make_entry(uint32_t id, model_def def);
  void spawn_partitions(const std::shared_ptr<model_entry>& entry);
  template <class Op, class R>
  void send_to(const std::shared_ptr<const model_entry>& entry, const doc_place& where, Op op,
               reply_fn<R> done) const;
  template <class Op, class R>
  void send_to_owner(const std::string& model, const std::string& id, Op op,
                     reply_fn<R> done) const;
  /// Hands `op` for `target` and its callback to an edge actor (actors/edge.hpp), which asks
  /// `target` with `deadline` and calls `done` once.
  template <class Op, class R>
  void call(const caf::actor& target, Op op, reply_fn<R> done,
            std::chrono::milliseconds deadline) const;
  void publish(std::shared_ptr<const model_entry> entry);
  caf::expected<std::optional<std::string>> directory_entry(const model_entry& entry,
                                                            std::string_view id) const;
  caf::error update_extensions(std::string_view model,
                               const std::function<void(model_extensions&)>& change);

  caf::actor_system& sys_;
  storage::environment& env_;
  storage::writer& writer_;
  partition_limits limits_;
  doc_tables tables_;
  mutable std::mutex mtx_; // guards snapshot_ and serializes define()
  std::shared_ptr<const catalog_snapshot> snapshot_;
  std::mutex define_mtx_;
  std::vector<caf::actor> hosts_;
  std::shared_ptr<userdb_stats> userdb_stats_;
  generations gens_;
  std::unique_ptr<result_cache<value>> relation_cache_;
  std::unique_ptr<result_cache<query_result>> query_cache_;
  std::chrono::milliseconds relation_ttl_{60000};
  std::chrono::milliseconds request_timeout_{30000};
  uint64_t query_memory_bytes_ = uint64_t{64} << 20;
  uint64_t scan_slice_entries_ = 10000;
  /// Monitors every shard and global index partition (respawn).
  caf::actor supervisor_;
  /// The edge actors (actors/edge.hpp), one per scheduler thread.
  std::vector<caf::actor> edges_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> respawns_{0};
  void watch(const caf::actor& partition);
  std::atomic<uint64_t> examined_{0};
};

} // namespace debros
