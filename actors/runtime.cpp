#include "actors/runtime.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/send.hpp"

#include "actors/engine.hpp"
#include "actors/front.hpp"
#include "messages/errc.hpp"
#include "messages/init.hpp"
#include "messages/json.hpp"

namespace debros {

// "index", "unique" and "owners" hold layout 1 (actors/layout_upgrade.hpp): opened so that an
// older store can be upgraded, empty afterwards.
const char* const runtime_tables[] = {
    "meta",  "models", "docs",   "shard_index", "claims", "directory", "tombstones", "outbox", "kv",
    "users", "gindex", "counts", "seqs",        "index",  "unique",    "owners",     nullptr};

namespace {

// Reads the node id kept in the meta table, creating one on first start.
caf::expected<std::string> stored_node_id(storage::environment& env, storage::writer& w,
                                          const std::string& wanted) {
  auto meta = env.get_table("meta");
  {
    auto r = env.read();
    if (!r)
      return r.error();
    auto v = r->get(meta, "node.id");
    if (!v)
      return v.error();
    if (*v && (wanted.empty() || **v == wanted))
      return std::string{**v};
  }
  std::string id = wanted;
  if (id.empty()) {
    std::random_device rd;
    char buf[24];
    std::snprintf(buf, sizeof buf, "node-%08x", rd());
    id = buf;
  }
  if (auto err = w.write([&](storage::write_txn& txn) { return txn.put(meta, "node.id", id); }))
    return err;
  return id;
}

} // namespace

// The thread on which define_async runs defines (each an fsync), one after the other; joined by
// stop() before the writer stops. A plain thread, not a detached CAF actor: CAF 0.17 can leave
// a detached actor's thread objects behind when the system goes right after it answered.
struct define_thread {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool closing = false;
  std::thread thread;

  // False once closing.
  bool post(std::function<void()> job) {
    std::lock_guard<std::mutex> guard{mtx};
    if (closing)
      return false;
    jobs.push_back(std::move(job));
    if (!thread.joinable())
      thread = std::thread{[this] { run(); }};
    cv.notify_one();
    return true;
  }

  void run() {
    std::unique_lock<std::mutex> lock{mtx};
    for (;;) {
      cv.wait(lock, [this] { return closing || !jobs.empty(); });
      if (jobs.empty())
        return; // closing, and nothing left
      auto job = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  // Runs what was posted, then ends the thread.
  void close() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      closing = true;
      cv.notify_one();
    }
    if (thread.joinable())
      thread.join();
  }
};

struct runtime::impl {
  runtime_options opts;
  define_thread definer;
  std::unique_ptr<storage::environment> env;
  std::unique_ptr<storage::writer> writer;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<class engine> eng;
  runtime_actor front;
  std::string node_id;
  std::atomic<bool> stopping{false};
};

caf::expected<std::unique_ptr<runtime>> runtime::start(runtime_options opts) {
  auto p = std::make_unique<impl>();
  p->opts = std::move(opts);
  storage::env_options eo;
  eo.path = p->opts.data_dir;
  for (auto t = runtime_tables; *t != nullptr; ++t)
    eo.tables.emplace_back(*t);
  eo.initial_map_bytes = p->opts.initial_map_bytes;
  eo.sync = p->opts.sync;
  auto env = storage::environment::open(std::move(eo));
  if (!env)
    return env.error();
  p->env = std::move(*env);
  p->writer = std::make_unique<storage::writer>(*p->env, p->opts.writer);
  auto id = stored_node_id(*p->env, *p->writer, p->opts.node_id);
  if (!id)
    return id.error();
  p->node_id = std::move(*id);
  auto threads = p->opts.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  p->cfg.set("scheduler.max-threads", threads);
  p->cfg.set("logger.verbosity", caf::atom("quiet"));
  register_types(p->cfg);
  if (p->opts.network) {
    p->cfg.load<caf::io::middleman>();
    // With any of these set, caf_openssl requires and verifies a peer certificate on both
    // ends (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, ciphers HIGH:!aNULL:!MD5); with
    // none it would fall back to anonymous ECDH, which is why all three are always set.
    if (!p->opts.cluster_cert.empty()) {
      p->cfg.load<caf::openssl::manager>();
      p->cfg.set("openssl.certificate", p->opts.cluster_cert);
      p->cfg.set("openssl.key", p->opts.cluster_key);
      p->cfg.set("openssl.cafile", p->opts.cluster_ca);
    }
  }
  p->sys = std::make_unique<caf::actor_system>(p->cfg);
  p->eng = std::make_unique<class engine>(*p->sys, *p->env, *p->writer);
  p->eng->set_partition_limits(p->opts.partitions);
  p->eng->start_hosts(p->opts.user_db_hosts, p->opts.user_db_live_max, p->opts.user_db_idle);
  p->eng->configure_caches(p->opts.query_cache, p->opts.relation_cache, p->opts.relation_cache_ttl);
  p->eng->set_request_timeout(p->opts.call_timeout);
  p->eng->set_query_memory_bytes(p->opts.query_memory_bytes);
  p->eng->set_scan_slice_entries(p->opts.scan_slice_entries);
  std::unique_ptr<runtime> rt{new runtime(std::move(p))};
  if (auto err = rt->impl_->eng->load())
    return err;
  rt->impl_->front = spawn_front(*rt->impl_->eng);
  return rt;
}

runtime::runtime(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

runtime::~runtime() {
  stop();
  auto& p = *impl_;
  if (!p.sys)
    return;
  if (p.sys->registry().running() > 0) {
    // Actors that outlived stop() still use the system, the engine and the store: leave them
    // to the process's exit rather than destroy them underneath.
    std::fprintf(stderr,
                 "debros: the runtime is destroyed while %zu actor(s) still run; its actor "
                 "system and store are left in place\n",
                 p.sys->registry().running());
    static_cast<void>(impl_.release());
    return;
  }
  p.eng.reset();
  p.sys.reset();
}

runtime::stop_report runtime::stop(std::chrono::milliseconds bound) {
  auto& p = *impl_;
  if (p.stopping.exchange(true))
    return {};
  auto t0 = std::chrono::steady_clock::now();
  // 0. Defines posted by define_async finish (their writes need the writer).
  p.definer.close();
  // 1. The writer commits everything submitted; each completion reaches its actor as a message.
  // 2. Stop messages queue behind those, so every in-flight operation is answered first; what
  //    arrives later dies with its actor's mailbox and is answered unavailable (answered_once).
  // 3. The actor system's actors finish, within the bound.
  p.writer->stop();
  if (p.eng)
    p.eng->stop_actors();
  if (p.front)
    caf::anon_send(p.front, stop_atom::value);
  p.front = nullptr;
  auto deadline = t0 + bound;
  while (p.sys->registry().running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  stop_report report;
  report.stopped_now = true;
  report.actors_left = p.sys->registry().running();
  // The actor system and the engine go with the runtime (its destructor), not here: stop() may
  // run on any thread, and CAF 0.17's actor system can only be destroyed without waiting on
  // the thread that started it (see runtime.hpp).
  if (report.actors_left > 0)
    p.sys->await_actors_before_shutdown(false);
  report.took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return report;
}

bool runtime::stopping() const noexcept {
  return impl_->stopping.load();
}

caf::expected<model_def> runtime::define(model_def def, bool* created) {
  if (stopping())
    return make_error(errc::shutting_down, "the runtime is stopping");
  auto out = impl_->eng->define(std::move(def));
  if (!out)
    return out.error();
  if (created != nullptr)
    *created = out->created;
  return std::move(out->def);
}

void runtime::define_async(model_def def, reply_fn<define_outcome> done) {
  auto once = answered_once(std::move(done));
  if (stopping())
    return once(make_error(errc::shutting_down, "the runtime is stopping"));
  // The define's fsync blocks the definer thread, never a CAF worker or the caller. Defines are
  // rare (an admin's) and serialized by the engine anyway.
  auto* eng = impl_->eng.get();
  auto job = [eng, once, d = std::make_shared<model_def>(std::move(def))] {
    once(eng->define(std::move(*d)));
  };
  if (!impl_->definer.post(job))
    once(make_error(errc::shutting_down, "the runtime is stopping"));
}

caf::expected<model_def> runtime::define_json(std::string_view name, std::string_view json_text,
                                              bool* created) {
  auto parsed = parse_json(json_text);
  if (!parsed)
    return parsed.error();
  auto def = parse_model(name, *parsed);
  if (!def)
    return def.error();
  return define(std::move(*def), created);
}

std::vector<model_def> runtime::models() const {
  std::vector<model_def> out;
  for (auto& [name, entry] : impl_->eng->snapshot()->models)
    out.push_back(entry->def());
  return out;
}

caf::expected<model_def> runtime::find_model(std::string_view name) const {
  auto entry = impl_->eng->find(name);
  if (!entry)
    return entry.error();
  return (*entry)->def();
}

caf::error runtime::add_hook(std::string_view model, hook_point at, before_hook fn) {
  return impl_->eng->add_before_hook(model, at, std::move(fn));
}

caf::error runtime::add_hook(std::string_view model, hook_point at, after_hook fn) {
  return impl_->eng->add_after_hook(model, at, std::move(fn));
}

caf::error runtime::add_validator(std::string_view model, std::string field, field_validator fn) {
  return impl_->eng->add_validator(model, std::move(field), std::move(fn));
}

runtime_actor runtime::actor() const {
  return impl_->front;
}

class engine& runtime::engine() noexcept {
  return *impl_->eng;
}

const std::string& runtime::node_id() const noexcept {
  return impl_->node_id;
}

storage::environment& runtime::env() noexcept {
  return *impl_->env;
}

storage::writer& runtime::writer() noexcept {
  return *impl_->writer;
}

caf::actor_system& runtime::system() noexcept {
  return *impl_->sys;
}

const runtime_options& runtime::options() const noexcept {
  return impl_->opts;
}

// -- model_handle ------------------------------------------------------------------------------

caf::expected<value> model_handle::create(value doc) const {
  return rt_->await<value>(
      [&](reply_fn<value> done) { rt_->engine().create(name_, std::move(doc), std::move(done)); });
}

caf::expected<std::vector<std::string>> model_handle::create_batch(std::vector<value> docs) const {
  return rt_->await<std::vector<std::string>>([&](reply_fn<std::vector<std::string>> done) {
    rt_->engine().create_batch(name_, std::move(docs), std::move(done));
  });
}

caf::expected<value> model_handle::get(std::string_view id) const {
  if (rt_->stopping())
    return make_error(errc::shutting_down, "the runtime is stopping");
  return rt_->engine().get(name_, id);
}

caf::expected<uint64_t> model_handle::document_count() const {
  auto entry = rt_->engine().find(name_);
  if (!entry)
    return entry.error();
  return rt_->engine().document_count(**entry);
}

caf::expected<value> model_handle::update(std::string id, value fields) const {
  return rt_->await<value>([&](reply_fn<value> done) {
    rt_->engine().update(name_, std::move(id), std::move(fields), false, std::move(done));
  });
}

caf::expected<value> model_handle::replace(std::string id, value fields) const {
  return rt_->await<value>([&](reply_fn<value> done) {
    rt_->engine().update(name_, std::move(id), std::move(fields), true, std::move(done));
  });
}

caf::error model_handle::remove(std::string id) const {
  auto r = rt_->await<bool>(
      [&](reply_fn<bool> done) { rt_->engine().remove(name_, std::move(id), std::move(done)); });
  return r ? caf::none : r.error();
}

caf::expected<value> model_handle::get_with(std::string id, std::vector<std::string> with) const {
  return rt_->await<value>([&](reply_fn<value> done) {
    rt_->engine().get_with(name_, std::move(id), {}, std::move(with), std::move(done));
  });
}

caf::expected<value> model_handle::related(const value& doc, const std::string& relation) const {
  auto* id = doc.find("id");
  if (id == nullptr || !id->is_string())
    return make_error(errc::invalid_argument, "the document has no id");
  auto loaded = get_with(id->as_string(), {relation});
  if (!loaded)
    return loaded.error();
  auto* v = loaded->find(relation);
  return v != nullptr ? *v : value{};
}

caf::expected<value> model_handle::increment(std::string id, std::string field, value by) const {
  return rt_->await<value>([&](reply_fn<value> done) {
    rt_->engine().increment(name_, std::move(id), std::move(field), std::move(by), std::move(done));
  });
}

// -- query_builder -----------------------------------------------------------------------------

query_builder::query_builder(runtime& rt, std::string model) : rt_(&rt) {
  q_.model = std::move(model);
  q_.where.type = query_expr::kind::all;
}

query_expr query_builder::cond(std::string path, query_op op, value operand) {
  query_expr c;
  c.type = query_expr::kind::cond;
  c.path = std::move(path);
  c.op = op;
  c.operand = std::move(operand);
  return c;
}

query_builder& query_builder::where(std::string path, query_op op, value operand) {
  q_.where.children.push_back(cond(std::move(path), op, std::move(operand)));
  return *this;
}

query_builder& query_builder::where(std::string path, std::string_view op, value operand) {
  auto parsed = parse_op(op);
  if (!parsed) {
    if (!pending_)
      pending_ = parsed.error();
    return *this;
  }
  return where(std::move(path), *parsed, std::move(operand));
}

query_builder& query_builder::or_where(std::string path, std::string_view op, value operand) {
  auto parsed = parse_op(op);
  if (!parsed) {
    if (!pending_)
      pending_ = parsed.error();
    return *this;
  }
  // (everything so far) OR (this condition); with nothing so far, just this condition (an
  // empty conjunction matches every document, which would make the alternative pointless).
  if (q_.where.children.empty())
    return where(std::move(path), *parsed, std::move(operand));
  query_expr any;
  any.type = query_expr::kind::any;
  any.children.push_back(std::move(q_.where));
  any.children.push_back(cond(std::move(path), *parsed, std::move(operand)));
  q_.where = query_expr{};
  q_.where.type = query_expr::kind::all;
  q_.where.children.push_back(std::move(any));
  return *this;
}

query_builder& query_builder::where_any(std::vector<query_expr> alternatives) {
  query_expr any;
  any.type = query_expr::kind::any;
  any.children = std::move(alternatives);
  q_.where.children.push_back(std::move(any));
  return *this;
}

query_builder& query_builder::where_in(std::string path, array values) {
  return where(std::move(path), query_op::in, value{std::move(values)});
}

query_builder& query_builder::user_in(std::vector<std::string> users) {
  q_.user_in = std::move(users);
  return *this;
}

query_builder& query_builder::order_by(std::string path, bool descending) {
  q_.order_by.push_back(sort_key{std::move(path), descending});
  return *this;
}

query_builder& query_builder::limit(int64_t n) {
  q_.limit = n;
  return *this;
}

query_builder& query_builder::offset(int64_t n) {
  q_.offset = n;
  return *this;
}

query_builder& query_builder::after(std::string cursor) {
  q_.after = std::move(cursor);
  return *this;
}

query_builder& query_builder::with(std::string relation) {
  q_.with.push_back(std::move(relation));
  return *this;
}

query_builder& query_builder::with_total(bool on) {
  q_.with_total = on;
  return *this;
}

query_builder& query_builder::explain(bool on) {
  q_.explain = on;
  return *this;
}

query_builder& query_builder::cache(int64_t seconds) {
  q_.cache_s = seconds;
  return *this;
}

caf::expected<query_result> query_builder::exec() const {
  if (pending_)
    return pending_;
  auto q = q_;
  return rt_->await<query_result>(
      [&](reply_fn<query_result> done) { rt_->engine().run_query(std::move(q), std::move(done)); });
}

caf::expected<std::optional<value>> query_builder::first() const {
  auto copy = *this;
  copy.q_.limit = 1;
  auto r = copy.exec();
  if (!r)
    return r.error();
  if (r->docs.empty())
    return std::optional<value>{};
  return std::optional<value>{std::move(r->docs.front())};
}

caf::expected<value> query_builder::aggregate(aggregate_fn fn, std::string field) const {
  auto copy = *this;
  copy.q_.aggregate = fn;
  copy.q_.aggregate_field = std::move(field);
  auto r = copy.exec();
  if (!r)
    return r.error();
  return std::move(r->aggregate);
}

caf::expected<uint64_t> query_builder::count() const {
  auto v = aggregate(aggregate_fn::count, {});
  if (!v)
    return v.error();
  return static_cast<uint64_t>(v->as_int());
}

caf::expected<value> query_builder::sum(std::string field) const {
  return aggregate(aggregate_fn::sum, std::move(field));
}

caf::expected<value> query_builder::avg(std::string field) const {
  return aggregate(aggregate_fn::avg, std::move(field));
}

caf::expected<value> query_builder::min(std::string field) const {
  return aggregate(aggregate_fn::min, std::move(field));
}

caf::expected<value> query_builder::max(std::string field) const {
  return aggregate(aggregate_fn::max, std::move(field));
}

} // namespace debros
