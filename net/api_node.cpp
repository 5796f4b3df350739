// Node routes (health, status, peers, metrics), key-value storage, tokens, and the routes of
// capabilities this version does not build yet (501).
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"

#include "actors/doc_writes.hpp"
#include "actors/engine.hpp"
#include "actors/kv_store.hpp"
#include "actors/runtime.hpp"
#include "messages/json.hpp"
#include "net/api_context.hpp"
#include "storage/outbox.hpp"

namespace debros::net {

namespace {

using ctx_ptr = std::shared_ptr<api::context>;

api_response unimplemented(const std::string& what) {
  return api::error(errc::unimplemented, what + " is not available in this version of Debros");
}

api_response no_content() {
  api_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

std::string version() {
  return DEBROS_VERSION;
}

} // namespace

void api::node_routes(ctx_ptr ctx) {
  auto& s = ctx->segs;
  auto& group = s[1];
  bool get = ctx->is("GET");
  if (group == "health" && s.size() == 2 && get) {
    ctx->answered_by = route::health;
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
    return ctx->reply(json(200, value{object{{"status", "ok"},
                                             {"node", rt_.node_id()},
                                             {"version", version()},
                                             {"uptime_s", static_cast<int64_t>(uptime)}}}));
  }
  if (group == "peers" && s.size() == 2 && get) {
    ctx->answered_by = route::peers;
    return ctx->reply(json(200, value{object{{"peers", peers()}}}));
  }
  if (group == "status" && s.size() == 2 && get) {
    ctx->answered_by = route::status;
    return status(ctx);
  }
  if (group == "metrics" && s.size() == 2 && get) {
    ctx->answered_by = route::metrics;
    api_response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render([this](std::string& out) { node_metrics(out); });
    return ctx->reply(std::move(r));
  }
  if (group == "users") {
    ctx->answered_by = s.size() == 2 ? route::users_create : route::users_get;
    return users(ctx);
  }
  if (group == "topics") {
    ctx->answered_by = route::topics;
    return ctx->reply(unimplemented("pub/sub (topics)"));
  }
  if (group == "migrations") {
    ctx->answered_by = route::migrations;
    return ctx->reply(unimplemented("migrations"));
  }
  ctx->reply(not_found_route(*ctx));
}

void api::status(ctx_ptr ctx) {
  auto snap = rt_.engine().snapshot();
  auto env = rt_.env().stats();
  object partitions;
  for (auto& [name, entry] : snap->models)
    partitions.set(name, static_cast<int64_t>(entry->shards.size()));
  object out{{"node", rt_.node_id()},
             {"version", version()},
             {"http", view().http},
             {"cluster", view().cluster},
             {"peers", peers()},
             {"partitions", std::move(partitions)},
             {"dataDir", rt_.options().data_dir},
             {"dataBytes", static_cast<int64_t>(env.used_bytes)},
             {"mapBytes", static_cast<int64_t>(env.map_bytes)}};
  // Document counts: the counts the writes keep, one short read for every model (no
  // document is read, so the answer costs the same at any size and waits for no shard).
  object documents;
  auto counts = rt_.engine().document_counts(*snap);
  for (auto& [name, entry] : snap->models) {
    if (!counts) {
      documents.set(name, value{});
      continue;
    }
    auto it = counts->find(name);
    documents.set(name, it != counts->end() ? value{static_cast<int64_t>(it->second)} : value{});
  }
  if (!counts)
    std::fprintf(stderr, "debros: status: document counts unreadable: %s\n",
                 message_of(counts.error()).c_str());
  out.set("documents", std::move(documents));
  ctx->reply(json(200, value{std::move(out)}));
}

void api::node_metrics(std::string& out) {
  auto w = rt_.writer().stats();
  auto env = rt_.env().stats();
  auto line = [&out](const char* name, const char* type, const char* help, double v) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    out += buf;
    // The shortest text that reads back as the same double (0.006493, not 0.0064929999...).
    char num[32];
    auto end = std::to_chars(num, num + sizeof num, v).ptr;
    out.append(num, end);
    out += '\n';
  };
  line("debros_commits_total", "counter", "Write transactions committed.",
       static_cast<double>(w.commits));
  line("debros_commit_requests_total", "counter", "Write requests acknowledged or refused.",
       static_cast<double>(w.requests));
  line("debros_commit_failed_requests_total", "counter", "Write requests that failed.",
       static_cast<double>(w.failed_requests));
  line("debros_commit_seconds_total", "counter", "Time spent committing (fsync included).",
       static_cast<double>(w.commit_us_total) / 1e6);
  line("debros_commit_batch_size_avg", "gauge", "Average requests per commit.",
       w.commits ? static_cast<double>(w.requests) / static_cast<double>(w.commits) : 0);
  line("debros_commit_batch_size_max", "gauge", "Largest batch committed.",
       static_cast<double>(w.largest_batch));
  line("debros_write_queue_depth", "gauge", "Write requests waiting for the writer.",
       static_cast<double>(w.queued));
  line("debros_write_queue_bytes", "gauge", "Bytes held by the write requests waiting.",
       static_cast<double>(w.queued_bytes));
  line("debros_write_queue_refused_total", "counter",
       "Write requests refused at once because the queue was full (requests or bytes).",
       static_cast<double>(w.refused));
  line("debros_actors_running", "gauge", "Live actors of the node.",
       static_cast<double>(rt_.system().registry().running()));
  line("debros_store_used_bytes", "gauge", "Bytes of the store in use.",
       static_cast<double>(env.used_bytes));
  line("debros_store_map_bytes", "gauge", "Size of the store's memory map.",
       static_cast<double>(env.map_bytes));
  // Pending items only: channel markers are not work, and dead letters are counted apart.
  storage::outbox::counts box;
  if (auto txn = rt_.env().read())
    if (auto n = storage::outbox{rt_.env().get_table("outbox")}.count(*txn, dead_letter_prefix))
      box = *n;
  line("debros_outbox_depth", "gauge", "Work items waiting in the outbox.",
       static_cast<double>(box.pending - box.dead));
  line("debros_outbox_dead_letters", "gauge",
       "Work items their consumer could never apply, kept in dead/ channels.",
       static_cast<double>(box.dead));
  line("debros_query_documents_examined_total", "counter",
       "Documents query partitions examined (scanned or read as index candidates).",
       static_cast<double>(rt_.engine().documents_examined()));
  auto& users = rt_.engine().user_databases();
  line("debros_user_databases_live", "gauge", "User databases active now.",
       static_cast<double>(users.live.load()));
  line("debros_user_databases_activations_total", "counter", "User databases activated.",
       static_cast<double>(users.activations.load()));
  line("debros_user_databases_passivations_total", "counter", "User databases passivated.",
       static_cast<double>(users.passivations.load()));
  line("debros_user_databases_failures_total", "counter",
       "User databases that failed (they reactivate on next use).",
       static_cast<double>(users.failures.load()));
  line("debros_partition_respawns_total", "counter",
       "Shards and global index partitions respawned after they failed.",
       static_cast<double>(rt_.engine().respawns()));
  auto cache_lines = [&](const char* which, const cache_stats& c) {
    auto name = [&](const char* what) { return std::string{"debros_"} + which + "_cache_" + what; };
    auto total = static_cast<double>(c.hits + c.misses);
    line(name("hits_total").c_str(), "counter", "Lookups answered from the cache.",
         static_cast<double>(c.hits));
    line(name("misses_total").c_str(), "counter", "Lookups not answered (absent, expired, stale).",
         static_cast<double>(c.misses));
    line(name("hit_ratio").c_str(), "gauge", "hits / lookups since start.",
         total > 0 ? static_cast<double>(c.hits) / total : 0);
    line(name("entries").c_str(), "gauge", "Entries held.", static_cast<double>(c.entries));
    line(name("bytes").c_str(), "gauge", "Bytes held (estimated).", static_cast<double>(c.bytes));
  };
  cache_lines("query", rt_.engine().query_cache().stats());
  cache_lines("relation", rt_.engine().relation_cache().stats());
}

// -- key-value ---------------------------------------------------------------------------------

void api::kv_routes(ctx_ptr ctx) {
  auto& s = ctx->segs;
  auto& env = rt_.env();
  auto table = env.get_table("kv");
  if (s.size() == 3) {
    ctx->answered_by = route::kv_list;
    if (!ctx->is("GET"))
      return ctx->reply(not_found_route(*ctx));
    size_t limit = 100;
    if (auto l = ctx->param("limit")) {
      auto n = parse_count(*l, kv::list_max);
      if (!n)
        return ctx->reply(
            error(errc::invalid_argument, "limit must be an integer from 0 to 10000"));
      limit = *n;
    }
    auto keys = kv::list(env, table, s[2], ctx->param("prefix").value_or(""), limit);
    if (!keys)
      return ctx->reply(error(keys.error()));
    array out(keys->begin(), keys->end());
    return ctx->reply(json(200, value{object{{"keys", std::move(out)}}}));
  }
  if (s.size() != 4)
    return ctx->reply(not_found_route(*ctx));
  auto& ns = s[2];
  auto& key = s[3];
  bool write = ctx->is("PUT") || ctx->is("DELETE");
  if (write && !ctx->who.is_admin())
    return ctx->reply(error(make_error(errc::forbidden, "only the admin writes key-value data")));
  if (ctx->is("PUT")) {
    ctx->answered_by = route::kv_put;
    return kv::put(
        rt_.writer(), table, ns, key, std::move(ctx->req.body),
        on_result<size_t>(ctx, [key](size_t n) {
          return json(201, value{object{{"key", key}, {"size", static_cast<int64_t>(n)}}});
        }));
  }
  if (ctx->is("DELETE")) {
    ctx->answered_by = route::kv_delete;
    return kv::remove(rt_.writer(), table, ns, key, [ctx, ns, key](caf::expected<bool> r) {
      if (!r)
        return ctx->reply(error(r.error()));
      ctx->reply(*r ? no_content()
                    : error(errc::not_found, "key " + ns + "/" + key + " not found"));
    });
  }
  if (ctx->is("GET") || ctx->is("HEAD")) {
    ctx->answered_by = route::kv_get;
    auto v = kv::get(env, table, ns, key);
    if (!v)
      return ctx->reply(error(v.error()));
    if (!*v)
      return ctx->reply(error(errc::not_found, "key " + ns + "/" + key + " not found"));
    api_response r;
    r.content_type = "application/octet-stream";
    r.body = std::move(**v);
    return ctx->reply(std::move(r));
  }
  ctx->reply(not_found_route(*ctx));
}

// -- tokens ------------------------------------------------------------------------------------

void api::token_route(ctx_ptr ctx) {
  auto& s = ctx->segs;
  ctx->answered_by = route::auth_tokens;
  if (s.size() != 3 || s[2] != "tokens" || !ctx->is("POST"))
    return ctx->reply(not_found_route(*ctx));
  if (!auth_.enabled())
    return ctx->reply(error(errc::invalid_argument, "authentication is off (--no-auth)"));
  if (!ctx->who.is_admin())
    return ctx->reply(error(make_error(errc::forbidden, "only the admin issues tokens")));
  auto body = ctx->body_json(limits_);
  if (!body)
    return ctx->reply(error(body.error()));
  auto* user = body->find("user");
  if (user == nullptr || !user->is_string())
    return ctx->reply(error(errc::invalid_argument, "user must be a non-empty string"));
  if (auto err = check_name(name_kind::user_id, user->as_string()))
    return ctx->reply(error(err));
  int64_t ttl = 3600;
  if (auto* t = body->find("ttl_s")) {
    if (!t->is_int() || t->as_int() < 1 || t->as_int() > auth::ttl_s_max)
      return ctx->reply(error(errc::invalid_argument, "ttl_s must be an integer from 1 to " +
                                                          std::to_string(auth::ttl_s_max)));
    ttl = t->as_int();
  }
  ctx->reply(json(201, value{object{{"token", auth_.issue(user->as_string(), ttl)},
                                    {"user", user->as_string()},
                                    {"ttl_s", ttl}}}));
}

} // namespace debros::net
