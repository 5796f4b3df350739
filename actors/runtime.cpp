#include "actors/runtime.hpp"

#include <random>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include "messages/errc.hpp"
#include "messages/init.hpp"

namespace debros {

const char* const runtime_tables[] = {"meta", nullptr};

namespace {

// Reads the node id kept in the meta table, creating one on first start.
caf::expected<std::string> stored_node_id(storage::environment& env, storage::writer& w,
                                          const std::string& wanted) {
  auto meta = env.get_table("meta");
  {
    auto r = env.read();
    if (!r) return r.error();
    auto v = r->get(meta, "node.id");
    if (!v) return v.error();
    if (*v && wanted.empty()) return std::string{**v};
    if (*v && **v == wanted) return wanted;
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

struct runtime::impl {
  runtime_options opts;
  std::unique_ptr<storage::environment> env;
  std::unique_ptr<storage::writer> writer;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::string node_id;
  bool stopped = false;
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
  if (!env) return env.error();
  p->env = std::move(*env);
  p->writer = std::make_unique<storage::writer>(*p->env, p->opts.writer);
  auto id = stored_node_id(*p->env, *p->writer, p->opts.node_id);
  if (!id) return id.error();
  p->node_id = std::move(*id);
  auto threads = p->opts.scheduler_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  p->cfg.set("scheduler.max-threads", threads);
  p->cfg.set("logger.verbosity", caf::atom("quiet"));
  register_types(p->cfg);
  p->sys = std::make_unique<caf::actor_system>(p->cfg);
  return std::unique_ptr<runtime>{new runtime(std::move(p))};
}

runtime::runtime(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

runtime::~runtime() {
  stop();
}

void runtime::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Actors first (they may still submit writes), then the writer commits what is queued.
  impl_->sys.reset();
  impl_->writer->stop();
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

} // namespace debros
