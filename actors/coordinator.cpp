#include "actors/coordinator.hpp"

#include <algorithm>
#include <limits>
#include <map>
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
#include "actors/scan_runner.hpp"
#include "actors/userdb_host.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

using self_ptr = coordinator_actor::pointer;

// Above this many candidates over all partitions (offset + limit + 1 each), partitions send
// sort tuples only and the coordinator asks for the page's bodies in a second round: memory
// for the page, not for everything the offset skips.
constexpr uint64_t inline_hits_max = 1024;

// One partition a query goes to.
struct target {
  enum class kind : uint8_t { shard, user, gindex, scan } type;
  uint32_t index = 0;
  std::string user;
};

// Gathers partition results until every partition answered: once for the candidates, and, for
// a query whose candidates come without bodies, once more for the page's documents.
struct gather {
  query q;
  std::vector<value> after;
  std::vector<target> targets;
  std::vector<partition_result> results; // by target
  size_t answered = 0;
  bool failed = false;
  bool all_users = false;
  // Candidates come as sort tuples only; the page's bodies are asked for afterwards.
  bool two_phase = false;
  // A grouped query (grouped_query): every kept hit, at most group_limit per group.
  std::string group_path;
  uint64_t group_limit = 0;
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

// A hit of the merged order: which partition's result, which of its hits.
struct pick {
  uint32_t part;
  uint32_t hit;
};

// The first `n` hits of the partitions' sorted results in the query's order: a k-way merge
// that holds one cursor per partition.
std::vector<pick> merge_first(const std::vector<partition_result>& results,
                              const std::vector<sort_key>& order, size_t n) {
  auto tuple_of = [&](const pick& p) -> const std::vector<value>& {
    return results[p.part].hits[p.hit].tuple;
  };
  // A min-heap on the sort order of each partition's next hit.
  auto later = [&](const pick& a, const pick& b) {
    return compare_sort_tuples(tuple_of(a), tuple_of(b), order) > 0;
  };
  std::vector<pick> heads;
  for (uint32_t i = 0; i < results.size(); ++i)
    if (!results[i].hits.empty())
      heads.push_back(pick{i, 0});
  std::make_heap(heads.begin(), heads.end(), later);
  std::vector<pick> out;
  while (out.size() < n && !heads.empty()) {
    std::pop_heap(heads.begin(), heads.end(), later);
    auto p = heads.back();
    out.push_back(p);
    if (p.hit + 1 < results[p.part].hits.size()) {
      heads.back().hit = p.hit + 1;
      std::push_heap(heads.begin(), heads.end(), later);
    } else {
      heads.pop_back();
    }
  }
  return out;
}

// How explain names a target (partition_plan::partition).
std::string partition_name(const std::string& model, const target& t) {
  switch (t.type) {
  case target::kind::shard:
    return model + "/shard/" + std::to_string(t.index);
  case target::kind::user:
    return model + "/user/" + t.user;
  case target::kind::gindex:
    return model + "/gindex/" + std::to_string(t.index);
  case target::kind::scan:
    return model + "/users/" + std::to_string(t.index);
  }
  return model;
}

// Totals, plans and aggregates of the candidates' answers.
query_result summarize(gather& g) {
  auto& q = g.q;
  query_result out;
  for (auto& r : g.results) {
    out.stats.examined += r.stats.examined;
    out.stats.indexed_partitions += uses_index(r.stats.plan) ? 1 : 0;
    auto plan = static_cast<size_t>(r.stats.plan);
    if (plan >= out.stats.plans.size()) // a newer node's plan: counted as none
      plan = 0;
    ++out.stats.plans[plan];
    out.stats.slices += r.stats.slices;
    out.stats.entries += r.stats.entries;
    out.total += r.total;
  }
  out.stats.partitions = static_cast<uint32_t>(g.results.size());
  out.stats.all_users = g.all_users;
  if (q.explain) {
    for (size_t i = 0; i < g.results.size(); ++i) {
      auto& r = g.results[i];
      out.plan.push_back(partition_plan{partition_name(q.model, g.targets[i]), r.stats.plan,
                                        r.stats.examined, r.hits.size(), r.stats.entries,
                                        r.stats.slices});
    }
  }
  out.has_total = q.with_total;
  if (!q.with_total)
    out.total = 0;
  if (q.aggregate != aggregate_fn::none) {
    aggregate_state st;
    for (auto& r : g.results)
      aggregate_merge(st, r.agg);
    out.has_aggregate = true;
    out.aggregate = aggregate_result(st, q.aggregate);
  }
  return out;
}

// Decodes the bodies of `page` (picks into `results`) into `out`.
caf::error add_page(gather& g, const std::vector<partition_result>& results,
                    const std::vector<pick>& page, query_result& out) {
  for (auto& p : page) {
    auto& h = results[p.part].hits[p.hit];
    auto doc = storage::decode_body(h.body, "document of " + g.q.model);
    if (!doc)
      return doc.error();
    g.page_bytes += h.body.size();
    out.docs.push_back(std::move(*doc));
  }
  return caf::none;
}

// The hits of a grouped query: in order, the first group_limit of each group.
std::vector<pick> first_of_groups(const gather& g) {
  auto merged = merge_first(g.results, g.q.order_by, std::numeric_limits<size_t>::max());
  std::map<std::string, uint64_t> seen;
  std::vector<pick> out;
  for (auto& p : merged) {
    auto& body = g.results[p.part].hits[p.hit].body;
    if (++seen[to_msgpack(extract_msgpack(body, g.group_path))] <= g.group_limit)
      out.push_back(p);
  }
  return out;
}

// The page of a query whose candidates came with their bodies.
caf::expected<query_result> merge(gather& g) {
  auto out = summarize(g);
  auto& q = g.q;
  if (q.aggregate != aggregate_fn::none)
    return out;
  if (g.group_limit != 0) {
    if (auto err = add_page(g, g.results, first_of_groups(g), out))
      return err;
    return out;
  }
  auto offset = static_cast<size_t>(q.offset);
  auto limit = static_cast<size_t>(q.limit);
  // Partitions return one hit more than the page needs: if it exists, so does a next page.
  auto picks = merge_first(g.results, q.order_by, offset + limit + 1);
  auto begin = std::min(picks.size(), offset);
  auto end = std::min(picks.size(), offset + limit);
  std::vector<pick> page(picks.begin() + static_cast<std::ptrdiff_t>(begin),
                         picks.begin() + static_cast<std::ptrdiff_t>(end));
  if (auto err = add_page(g, g.results, page, out))
    return err;
  if (picks.size() > end && end > begin) {
    auto& last = g.results[page.back().part].hits[page.back().hit];
    out.next_cursor = encode_cursor(last.tuple, q.order_by);
  }
  return out;
}

// The second round of a two-phase query: for each partition that holds part of the page, the
// number of its hits in the page and the cursor just before them (its last hit that the offset
// skips, or the query's own cursor). Partitions that hold none are not asked.
struct page_request {
  uint32_t part;
  uint64_t k;
  std::vector<value> after;
};

std::vector<page_request> page_requests(const gather& g, const std::vector<pick>& picks,
                                        size_t begin, size_t end) {
  std::vector<uint64_t> counts(g.results.size(), 0);
  std::vector<const std::vector<value>*> before(g.results.size(), nullptr);
  for (size_t i = 0; i < end; ++i) {
    auto& p = picks[i];
    if (i < begin)
      before[p.part] = &g.results[p.part].hits[p.hit].tuple;
    else
      ++counts[p.part];
  }
  std::vector<page_request> out;
  for (uint32_t part = 0; part < counts.size(); ++part)
    if (counts[part] > 0)
      out.push_back(page_request{part, counts[part], before[part] ? *before[part] : g.after});
  return out;
}

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
        // Further slices go to a runner that watches the coordinator; this scanner is done.
        self->quit();
        return answer_in_slices(self, *env, layout, entry, entry->def(), std::move(pq), false);
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
  // A partition that does not answer by the deadline, or whose actor is gone, makes the query
  // unavailable, naming it: the query never waits longer than the deadline, and never returns a
  // page that lacks a partition's documents.
  auto bad = [on_result, name = partition_name(pq.q.model, t),
              deadline = eng.request_timeout()](caf::error& err) {
    if (err == caf::sec::request_timeout)
      err = make_error(errc::unavailable, "partition " + name + " did not answer within " +
                                              std::to_string(deadline.count()) + " ms");
    else if (err == caf::sec::request_receiver_down)
      err = make_error(errc::unavailable, "partition " + name + " is down");
    on_result(caf::expected<partition_result>{std::move(err)});
  };
  // Partitions are reached through the placement directory (engine::resolve).
  using doc_keys::partition_kind;
  auto owner = [&](partition_kind kind, uint32_t number) {
    return eng.resolve(doc_keys::partition_id{entry->id, kind, number});
  };
  switch (t.type) {
  case target::kind::shard:
  case target::kind::gindex: {
    auto a = owner(t.type == target::kind::shard ? partition_kind::shard : partition_kind::gindex,
                   t.index);
    if (!a)
      return on_result(caf::expected<partition_result>{a.error()});
    self->request(*a, eng.request_timeout(), pq).then(ok, bad);
    return;
  }
  case target::kind::user: {
    auto a = owner(partition_kind::user_range, doc_keys::user_range_of(t.user));
    if (!a)
      return on_result(caf::expected<partition_result>{a.error()});
    self->request(*a, eng.request_timeout(),
                  for_user<partition_query>{entry->def().name, t.user, pq})
        .then(ok, bad);
    return;
  }
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

// Takes one partition's answer: counts what it examined, and fails the query at the first error
// (later answers are then dropped). Returns whether `res` is a result to merge.
bool usable(self_ptr self, engine* eng, gather& g, const reply<query_result>& r,
            caf::expected<partition_result>& res) {
  if (res)
    eng->note_examined(res->stats.examined);
  if (g.failed)
    return false;
  if (!res) {
    g.failed = true;
    r.fail(std::move(res.error()));
    self->quit();
    return false;
  }
  return true;
}

// Each partition's share of the query's memory bound (at least 64 KiB).
uint64_t memory_share(const engine& eng, size_t partitions) {
  auto total = eng.query_memory_bytes();
  if (total == 0 || partitions == 0)
    return total;
  return std::max<uint64_t>(total / partitions, uint64_t{64} << 10);
}

// The second round of a two-phase query: merges the candidates' tuples, asks the partitions
// holding the page for exactly those documents (the cursor before them, how many), and merges
// what they answer. Between the rounds a document may change or go (each round reads its own
// snapshot): the page then holds what matches at the second read, in order, and may be short.
void fetch_page(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry,
                std::shared_ptr<gather> g, reply<query_result> r) {
  auto offset = static_cast<size_t>(g->q.offset);
  auto limit = static_cast<size_t>(g->q.limit);
  auto picks = merge_first(g->results, g->q.order_by, offset + limit + 1);
  auto begin = std::min(picks.size(), offset);
  auto end = std::min(picks.size(), offset + limit);
  bool more = picks.size() > end && end > begin;
  auto requests = page_requests(*g, picks, begin, end);
  picks = {};
  auto summary = std::make_shared<query_result>(summarize(*g));
  for (auto& res : g->results)
    res.hits = {}; // the tuples are merged: only the page's documents are held from here on
  if (requests.empty())
    return finish(self, eng, entry, g, std::move(*summary), r);
  auto pages = std::make_shared<std::vector<partition_result>>(requests.size());
  auto left = std::make_shared<size_t>(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    partition_query pq;
    pq.q = g->q;
    pq.q.offset = 0;
    pq.k = requests[i].k;
    pq.after = std::move(requests[i].after);
    pq.memory_bytes_max = memory_share(*eng, requests.size());
    pq.slice_entries = eng->scan_slice_entries();
    ask(self, *eng, entry, g->targets[requests[i].part], pq,
        [self, eng, entry, g, r, i, part = requests[i].part, pages, left, summary, limit,
         more](caf::expected<partition_result> res) {
          if (!usable(self, eng, *g, r, res))
            return;
          summary->stats.examined += res->stats.examined;
          summary->stats.entries += res->stats.entries;
          if (!summary->plan.empty()) {
            // The second round's reads count as the same partition's.
            auto& p = summary->plan[part];
            p.examined += res->stats.examined;
            p.entries += res->stats.entries;
            p.slices += res->stats.slices;
          }
          (*pages)[i] = std::move(*res);
          if (--*left > 0)
            return;
          auto page = merge_first(*pages, g->q.order_by, limit);
          if (auto err = add_page(*g, *pages, page, *summary))
            return finish(self, eng, entry, g, err, r);
          if (more && !page.empty()) {
            auto& last = (*pages)[page.back().part].hits[page.back().hit];
            summary->next_cursor = encode_cursor(last.tuple, g->q.order_by);
          }
          finish(self, eng, entry, g, std::move(*summary), r);
        });
  }
}

// How a grouped query keeps its hits (none for other queries).
struct grouping {
  std::string path;
  uint64_t limit = 0;
};

void scatter(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry, query q,
             reply<query_result> r, grouping grouped = {}) {
  if (auto err = check_query(q))
    return r.fail(err);

  if (q.offset > query_offset_max)
    return r.fail(make_error(errc::invalid_argument,
                             "offset above " + std::to_string(query_offset_max) +
                                 "; page further with the cursor (after/nextCursor)"));
  auto g = std::make_shared<gather>();
  if (grouped.limit != 0) {
    if (grouped.path.empty())
      return r.fail(
          make_error(errc::invalid_argument, "a grouped query needs a field to group by"));
    if (q.offset != 0 || !q.after.empty() || q.with_total || q.aggregate != aggregate_fn::none ||
        q.cache_s != 0)
      return r.fail(make_error(errc::invalid_argument,
                               "a grouped query takes no offset, cursor, total, aggregate or "
                               "cache"));
    g->group_path = std::move(grouped.path);
    g->group_limit = grouped.limit;
  }
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
  g->targets = std::move(*found);
  auto& targets = g->targets;
  g->all_users = !targets.empty() && targets.front().type == target::kind::scan;
  partition_query pq;
  // Partitions return one hit more than the page needs (so a next page is known to exist);
  // none for an aggregate or an empty page.
  bool no_hits = q.aggregate != aggregate_fn::none || q.limit == 0;
  pq.k = no_hits ? 0 : static_cast<uint64_t>(q.offset + q.limit + 1);
  pq.after = g->after;
  pq.count_total = q.with_total;
  // A large offset or page over many partitions: candidates as sort tuples only, then the
  // page's bodies from the partitions that hold them.
  g->two_phase = pq.k * targets.size() > inline_hits_max;
  if (g->group_limit != 0) {
    // Every group's best, with bodies: the result is all of them.
    pq.k = std::numeric_limits<uint64_t>::max();
    pq.group_path = g->group_path;
    pq.group_limit = g->group_limit;
    g->two_phase = false;
  }
  pq.bodies = !g->two_phase;
  pq.memory_bytes_max = memory_share(*eng, targets.size());
  pq.slice_entries = eng->scan_slice_entries();
  pq.q = q;
  g->q = std::move(q);
  g->results.resize(targets.size());
  if (targets.empty())
    return finish(self, eng, entry, g, merge(*g), r);
  for (size_t i = 0; i < targets.size(); ++i)
    ask(self, *eng, entry, targets[i], pq,
        [self, eng, entry, g, r, i](caf::expected<partition_result> res) {
          if (!usable(self, eng, *g, r, res))
            return;
          g->results[i] = std::move(*res);
          if (++g->answered < g->targets.size())
            return;
          if (g->two_phase)
            return fetch_page(self, eng, entry, g, r);
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
      [self, eng, entry](grouped_query& gq) {
        auto rp = self->make_response_promise<query_result>();
        scatter(self, eng, entry, std::move(gq.q), reply<query_result>{rp},
                grouping{std::move(gq.group_path), gq.group_limit});
        return rp;
      },
  };
}

} // namespace

coordinator_actor spawn_coordinator(engine& eng, std::shared_ptr<const model_entry> entry) {
  return eng.system().spawn(coordinator_main, &eng, std::move(entry));
}

} // namespace debros
