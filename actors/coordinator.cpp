#include "actors/coordinator.hpp"

#include <algorithm>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/placement.hpp"
#include "actors/reply.hpp"
#include "messages/errc.hpp"
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
    out.stats.indexed_partitions += r.stats.used_index ? 1 : 0;
    out.total += r.total;
    for (auto& h : r.hits)
      hits.push_back(&h);
  }
  out.stats.partitions = static_cast<uint32_t>(g.results.size());
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
  std::sort(hits.begin(), hits.end(), [&](const query_hit* a, const query_hit* b) {
    return compare_sort_tuples(a->tuple, b->tuple, q.order_by) < 0;
  });
  auto begin = std::min<size_t>(hits.size(), static_cast<size_t>(q.offset));
  auto end = std::min<size_t>(hits.size(), begin + static_cast<size_t>(q.limit));
  for (auto i = begin; i < end; ++i) {
    auto doc = storage::decode_body(hits[i]->body, "document of " + q.model);
    if (!doc)
      return doc.error();
    out.docs.push_back(std::move(*doc));
  }
  // Partitions return one hit more than the page needs: if it exists, so does a next page.
  if (hits.size() > end && end > begin)
    out.next_cursor = encode_cursor(hits[end - 1]->tuple, q.order_by);
  return out;
}

void scatter(self_ptr self, std::shared_ptr<const model_entry> entry, query q,
             reply<query_result> r) {
  if (auto err = check_query(q))
    return r.fail(err);
  if (!q.with.empty())
    return r.fail(make_error(errc::invalid_argument, "relationship loading ('with') is not "
                                                     "available for model " +
                                                         q.model));
  if (q.offset > query_offset_max)
    return r.fail(make_error(errc::invalid_argument,
                             "offset above " + std::to_string(query_offset_max) +
                                 "; page further with the cursor (after/nextCursor)"));
  auto g = std::make_shared<gather>();
  if (!q.after.empty()) {
    auto tuple = decode_cursor(q.after, q.order_by);
    if (!tuple)
      return r.fail(tuple.error());
    g->after = std::move(*tuple);
  }
  add_user_filter(q);
  auto& def = entry->def();
  std::vector<uint32_t> targets;
  if (auto pruned = shards_for_query(def, q))
    targets = std::move(*pruned);
  else
    for (uint32_t i = 0; i < entry->shards.size(); ++i)
      targets.push_back(i);
  partition_query pq;
  pq.k = static_cast<uint64_t>(q.offset + q.limit + 1);
  pq.after = g->after;
  pq.count_total = q.with_total;
  pq.q = q;
  g->q = std::move(q);
  g->expected = targets.size();
  if (targets.empty()) {
    r.deliver(*merge(*g));
    return self->quit();
  }
  for (auto t : targets) {
    self->request(entry->shards[t], caf::infinite, pq)
        .then(
            [self, g, r](partition_result& res) {
              if (g->failed)
                return;
              g->results.push_back(std::move(res));
              if (g->results.size() < g->expected)
                return;
              auto merged = merge(*g);
              if (merged)
                r.deliver(std::move(*merged));
              else
                r.fail(merged.error());
              self->quit();
            },
            [self, g, r](caf::error& err) {
              if (g->failed)
                return;
              g->failed = true;
              r.fail(std::move(err));
              self->quit();
            });
  }
}

coordinator_actor::behavior_type coordinator_main(self_ptr self,
                                                  std::shared_ptr<const model_entry> entry) {
  return {
      [self, entry](query& q) {
        auto rp = self->make_response_promise<query_result>();
        scatter(self, entry, std::move(q), reply<query_result>{rp});
        return rp;
      },
      [self, entry](local_call<query, query_result>& c) {
        scatter(self, entry, std::move(c.op), reply<query_result>{std::move(c.reply)});
      },
  };
}

} // namespace

coordinator_actor spawn_coordinator(caf::actor_system& sys,
                                    std::shared_ptr<const model_entry> entry) {
  return sys.spawn(coordinator_main, std::move(entry));
}

} // namespace debros
