#include "actors/coordinator.hpp"

#include <algorithm>
#include <optional>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/engine.hpp"
#include "actors/partition_scan.hpp"
#include "actors/placement.hpp"
#include "actors/relations.hpp"
#include "actors/reply.hpp"
#include "actors/userdb_host.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

using self_ptr = coordinator_actor::pointer;

// Gathers partition results until every partition answered.
struct gather {
  query q;
  std::vector<value> after;
  std::vector<partition_result> results;
  size_t expected = 0;
  bool failed = false;
  bool all_users = false;
  // The query-result cache: the key when the query asked for caching, and the generations of
  // the models the result depends on, taken before scattering.
  std::string cache_key;
  generation_snapshot deps;
  // The stored size of the documents of the merged page (the cache's size estimate).
  size_t page_bytes = 0;
};

// For global models, `userIn` filters on the documents' userId field.
void add_user_filter(query& q) {
  if (q.user_in.empty())
    return;
  query_expr in;
  in.type = query_expr::kind::cond;
  in.path = "userId";
  in.op = query_op::in;
  array ids;
  for (auto& u : q.user_in)
    ids.emplace_back(u);
  in.operand = value{std::move(ids)};
  if (q.where.type != query_expr::kind::all) {
    query_expr root;
    root.type = query_expr::kind::all;
    root.children.push_back(std::move(q.where));
    q.where = std::move(root);
  }
  q.where.children.push_back(std::move(in));
}

caf::expected<query_result> merge(gather& g) {
  auto& q = g.q;
  query_result out;
  std::vector<query_hit*> hits;
  for (auto& r : g.results) {
    out.stats.examined += r.stats.examined;
    out.stats.indexed_partitions += uses_index(r.stats.plan) ? 1 : 0;
    auto plan = static_cast<size_t>(r.stats.plan);
    if (plan >= out.stats.plans.size()) // a newer node's plan: counted as none
      plan = 0;
    ++out.stats.plans[plan];
    out.total += r.total;
    for (auto& h : r.hits)
      hits.push_back(&h);
  }
  out.stats.partitions = static_cast<uint32_t>(g.results.size());
  out.stats.all_users = g.all_users;
  out.has_total = q.with_total;
  if (!q.with_total)
    out.total = 0;
  if (q.aggregate != aggregate_fn::none) {
    aggregate_state st;
    for (auto& r : g.results)
      aggregate_merge(st, r.agg);
    out.has_aggregate = true;
    out.aggregate = aggregate_result(st, q.aggregate);
    return out;
  }
  auto begin = std::min<size_t>(hits.size(), static_cast<size_t>(q.offset));
  auto end = std::min<size_t>(hits.size(), begin + static_cast<size_t>(q.limit));
  // Only the first `end` need their order: the page and what it skips.
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(end), hits.end(),
                    [&](const query_hit* a, const query_hit* b) {
                      return compare_sort_tuples(a->tuple, b->tuple, q.order_by) < 0;
                    });
  for (auto i = begin; i < end; ++i) {
    auto doc = storage::decode_body(hits[i]->body, "document of " + q.model);
    if (!doc)
      return doc.error();
    g.page_bytes += hits[i]->body.size();
    out.docs.push_back(std::move(*doc));
  }
  // Partitions return one hit more than the page needs: if it exists, so does a next page.
  if (hits.size() > end && end > begin)
    out.next_cursor = encode_cursor(hits[end - 1]->tuple, q.order_by);
  return out;
}

// One partition a query goes to.
struct target {
  enum class kind : uint8_t { shard, user, gindex, scan } type;
  uint32_t index = 0;
  std::string user;
};

// The global index partitions that can answer `q`, or none when no global index applies.
std::optional<std::vector<uint32_t>> gindex_targets(const model_entry& e, const query& q) {
  if (e.gindex.empty())
    return std::nullopt;
  auto choice = choose_gindex(e.def(), e.global_indexed, q);
  if (!choice)
    return std::nullopt;
  if (!choice->partitions.empty())
    return std::move(choice->partitions);
  std::vector<uint32_t> all(e.gindex.size());
  for (uint32_t p = 0; p < all.size(); ++p)
    all[p] = p;
  return all;
}

// For `id = x` or `id in [...]`: where those documents are (ids without a document have no
// place, so the list may be empty), so the query visits only their partitions. std::nullopt
// when there is no such condition, or when the ids alone give the shards (a global model sharded
// by id: shards_for_query prunes those).
caf::expected<std::optional<std::vector<doc_place>>>
places_of_ids(const engine& eng, const model_entry& e, const query& q) {
  using result = std::optional<std::vector<doc_place>>;
  if (q.where.type != query_expr::kind::all ||
      (e.def().scope == model_scope::global && e.def().sharding.key == "id"))
    return result{};
  for (auto& c : q.where.children) {
    if (c.type != query_expr::kind::cond || c.path != "id")
      continue;
    std::vector<value> ids;
    if (c.op == query_op::eq)
      ids.push_back(c.operand);
    else if (c.op == query_op::in && c.operand.is_array())
      ids = c.operand.as_array();
    else
      continue;
    std::vector<doc_place> out;
    for (auto& id : ids) {
      if (!id.is_string())
        continue;
      auto where = eng.locate(e, id.as_string());
      if (!where)
        return where.error();
      if (*where)
        out.push_back(std::move(**where));
    }
    return result{std::move(out)};
  }
  return result{};
}

caf::expected<std::vector<target>> targets_of(const engine& eng, const model_entry& e,
                                              const query& q) {
  std::vector<target> out;
  auto& def = e.def();
  auto places = places_of_ids(eng, e, q);
  if (!places)
    return places.error();
  if (def.scope == model_scope::global) {
    // The shards the shard key allows, or those holding the ids asked for; else a global index
    // that answers; else every shard.
    if (auto pruned = shards_for_query(def, q)) {
      for (auto s : *pruned)
        out.push_back(target{target::kind::shard, s, {}});
    } else if (*places) {
      std::vector<uint32_t> shards;
      for (auto& p : **places)
        shards.push_back(p.shard);
      std::sort(shards.begin(), shards.end());
      shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
      for (auto s : shards)
        out.push_back(target{target::kind::shard, s, {}});
    } else if (auto parts = gindex_targets(e, q)) {
      for (auto p : *parts)
        out.push_back(target{target::kind::gindex, p, {}});
    } else {
      for (uint32_t s = 0; s < e.shards.size(); ++s)
        out.push_back(target{target::kind::shard, s, {}});
    }
    return out;
  }
  auto users = q.user_in;
  if (users.empty() && *places) {
    if ((*places)->empty())
      return out; // ids that no document has: nothing to ask
    for (auto& p : **places)
      users.push_back(p.user);
  }
  if (!users.empty()) {
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    for (auto& u : users)
      out.push_back(target{target::kind::user, 0, u});
    return out;
  }
  if (auto parts = gindex_targets(e, q)) {
    for (auto p : *parts)
      out.push_back(target{target::kind::gindex, p, {}});
    return out;
  }
  for (uint32_t h = 0; h < eng.host_count(); ++h)
    out.push_back(target{target::kind::scan, h, {}});
  return out;
}

using scanner_actor = caf::typed_actor<caf::replies_to<partition_query>::with<partition_result>>;

// Scans every user's database of one host's share (layout.user_mod / user_rem), once.
scanner_actor::behavior_type scanner_main(scanner_actor::pointer self, storage::environment* env,
                                          partition_layout layout,
                                          std::shared_ptr<const model_entry> entry) {
  return {
      [=](partition_query& pq) -> caf::result<partition_result> {
        auto r = run_partition_query(*env, layout, entry->def(), pq);
        self->quit();
        return r;
      },
  };
}

// Sends `pq` to `t` and hands the answer (or the error) to `on_result`.
template <class F>
void ask(self_ptr self, engine& eng, const std::shared_ptr<const model_entry>& entry,
         const target& t, const partition_query& pq, F on_result) {
  auto ok = [on_result](partition_result& r) {
    on_result(caf::expected<partition_result>{std::move(r)});
  };
  auto bad = [on_result](caf::error& err) {
    on_result(caf::expected<partition_result>{std::move(err)});
  };
  switch (t.type) {
  case target::kind::shard:
    // targets_of names shards and index partitions of this entry only.
    DEBROS_ASSERT(t.index < entry->shards.size());
    self->request(entry->shards[t.index], eng.request_timeout(), pq).then(ok, bad);
    return;
  case target::kind::gindex:
    DEBROS_ASSERT(t.index < entry->gindex.size());
    self->request(entry->gindex[t.index], eng.request_timeout(), pq).then(ok, bad);
    return;
  case target::kind::user:
    self->request(eng.host_of(t.user), eng.request_timeout(),
                  for_user<partition_query>{entry, t.user, pq})
        .then(ok, bad);
    return;
  case target::kind::scan: {
    partition_layout layout;
    layout.docs = eng.tables().docs;
    layout.model_id = entry->id;
    layout.docs_prefix = doc_keys::model_prefix(entry->id);
    layout.user_mod = static_cast<uint32_t>(eng.host_count());
    layout.user_rem = t.index;
    layout.docs_by_user = true;
    auto scanner = self->system().spawn(scanner_main, &eng.env(), std::move(layout), entry);
    self->request(scanner, eng.request_timeout(), pq).then(ok, bad);
    return;
  }
  }
}

// Stores a result asked to be cached, answers and quits.
void deliver(self_ptr self, engine* eng, const std::shared_ptr<gather>& g, query_result res,
             reply<query_result>& r) {
  if (!g->cache_key.empty()) {
    // The page's stored size, or, with relations embedded, the size of the documents as
    // they now are.
    size_t bytes = 256 + g->page_bytes;
    if (!g->q.with.empty()) {
      bytes = 256;
      for (auto& d : res.docs)
        bytes += to_msgpack(d).size();
    }
    eng->query_cache().put(g->cache_key, res, bytes, g->deps, std::chrono::seconds{g->q.cache_s});
  }
  r.deliver(std::move(res));
  self->quit();
}

// The merged page, with its relations loaded when the query asked for them.
void finish(self_ptr self, engine* eng, const std::shared_ptr<const model_entry>& entry,
            const std::shared_ptr<gather>& g, caf::expected<query_result> merged,
            reply<query_result> r) {
  if (!merged) {
    r.fail(merged.error());
    return self->quit();
  }
  if (g->q.with.empty() || merged->docs.empty())
    return deliver(self, eng, g, std::move(*merged), r);
  auto res = std::make_shared<query_result>(std::move(*merged));
  relation_request req{entry, std::move(res->docs), g->q.with};
  self->request(spawn_relation_loader(*eng), eng->request_timeout(), std::move(req))
      .then(
          [self, eng, g, res, r](relation_result& loaded) mutable {
            res->docs = std::move(loaded.docs);
            res->stats.relation_queries = loaded.queries;
            deliver(self, eng, g, std::move(*res), r);
          },
          [self, r](caf::error& err) {
            r.fail(std::move(err));
            self->quit();
          });
}

void scatter(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry, query q,
             reply<query_result> r) {
  if (auto err = check_query(q))
    return r.fail(err);

  if (q.offset > query_offset_max)
    return r.fail(make_error(errc::invalid_argument,
                             "offset above " + std::to_string(query_offset_max) +
                                 "; page further with the cursor (after/nextCursor)"));
  auto g = std::make_shared<gather>();
  if (!q.with.empty() || q.cache_s > 0) {
    auto models = relation_models(*eng, *entry, q.with);
    if (!models)
      return r.fail(models.error());
    if (q.cache_s > 0) {
      auto keyed = q;
      keyed.cache_s = 0;
      // The query's JSON form does not name its model: the key does.
      g->cache_key = "q|" + entry->def().name + "|" + to_json(to_value(keyed));
      if (auto hit = eng->query_cache().get(g->cache_key)) {
        auto res = *hit;
        res.stats.cached = true;
        r.deliver(std::move(res));
        return self->quit();
      }
      g->deps = eng->model_generations().snapshot(*models);
    }
  }
  if (!q.after.empty()) {
    auto tuple = decode_cursor(q.after, q.order_by);
    if (!tuple)
      return r.fail(tuple.error());
    g->after = std::move(*tuple);
  }
  if (entry->def().scope == model_scope::global)
    add_user_filter(q);
  auto found = targets_of(*eng, *entry, q);
  if (!found)
    return r.fail(found.error());
  auto targets = std::move(*found);
  g->all_users = !targets.empty() && targets.front().type == target::kind::scan;
  partition_query pq;
  // Partitions return one hit more than the page needs (so a next page is known to exist);
  // none for an aggregate or an empty page.
  bool no_hits = q.aggregate != aggregate_fn::none || q.limit == 0;
  pq.k = no_hits ? 0 : static_cast<uint64_t>(q.offset + q.limit + 1);
  pq.after = g->after;
  pq.count_total = q.with_total;
  pq.q = q;
  g->q = std::move(q);
  g->expected = targets.size();
  if (targets.empty())
    return finish(self, eng, entry, g, merge(*g), r);
  for (auto& t : targets)
    ask(self, *eng, entry, t, pq, [self, eng, entry, g, r](caf::expected<partition_result> res) {
      if (res)
        eng->note_examined(res->stats.examined);
      if (g->failed)
        return;
      if (!res) {
        g->failed = true;
        r.fail(std::move(res.error()));
        return self->quit();
      }
      g->results.push_back(std::move(*res));
      if (g->results.size() < g->expected)
        return;
      finish(self, eng, entry, g, merge(*g), r);
    });
}

coordinator_actor::behavior_type coordinator_main(self_ptr self, engine* eng,
                                                  std::shared_ptr<const model_entry> entry) {
  return {
      [self, eng, entry](query& q) {
        auto rp = self->make_response_promise<query_result>();
        scatter(self, eng, entry, std::move(q), reply<query_result>{rp});
        return rp;
      },
      [self, eng, entry](local_call<query, query_result>& c) {
        scatter(self, eng, entry, std::move(c.op), reply<query_result>{std::move(c.reply)});
      },
  };
}

} // namespace

coordinator_actor spawn_coordinator(engine& eng, std::shared_ptr<const model_entry> entry) {
  return eng.system().spawn(coordinator_main, &eng, std::move(entry));
}

} // namespace debros
