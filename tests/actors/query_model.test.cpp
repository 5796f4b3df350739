// Differential test of the query engine: random queries over random documents must give exactly
// what a direct evaluation of the query over every document gives (messages/query_eval.cpp),
// whichever access path answers them: shard scans and indexes, user databases, global index
// partitions (of a global model's `c` and a user-scoped model's `a` and `b`), scans of every
// user's database; pages, cursors, totals and aggregates. Each partition reports the access path
// it chose (plan_kind, in query_stats::plans); every path the model can reach must answer a
// minimum number of the queries, and no other path any, so a planner change that stops using a
// path (and with it, this comparison of it) fails here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// Small value domains, so that conditions match some documents and sort keys tie often.
constexpr std::string_view global_model = R"({
  "fields": {
    "a": {"type": "number", "index": true},
    "b": {"type": "string", "index": true},
    "c": {"type": "number", "index": "global"}
  },
  "sharding": {"strategy": "hash", "count": 4}
})";

constexpr std::string_view user_model = R"({
  "scope": "user",
  "fields": {
    "a": {"type": "number", "index": "global"},
    "b": {"type": "string", "index": "global"},
    "c": {"type": "number"}
  }
})";

// Random queries per test, and how many of them each access path the model can reach must
// answer (so every path is compared with the direct evaluation, not only the common ones).
constexpr int rounds = 400;
constexpr uint32_t min_queries_per_plan = 20;

const std::vector<std::string> users{"u0", "u1", "u2", "u3", "u4", "u5", "u6"};

value random_a(std::mt19937_64& rng) {
  auto r = rng() % 12;
  if (r == 0)
    return value{}; // null
  if (r == 1)
    return value{static_cast<double>(rng() % 8) + 0.5};
  return value{static_cast<int64_t>(rng() % 8)};
}

value random_b(std::mt19937_64& rng) {
  static const char* words[] = {"ant", "bee", "cat", "cow", "dog", "eel", "elk", "fox"};
  return value{std::string{words[rng() % 8]}};
}

value random_doc(std::mt19937_64& rng, bool user_scoped) {
  object d;
  if (user_scoped)
    d.set("userId", users[rng() % users.size()]);
  if (rng() % 10 != 0) // sometimes missing
    d.set("a", random_a(rng));
  d.set("b", random_b(rng));
  d.set("c", value{static_cast<int64_t>(rng() % 5)});
  return value{std::move(d)};
}

query_expr cond(std::string path, query_op op, value operand = {}) {
  query_expr c;
  c.type = query_expr::kind::cond;
  c.path = std::move(path);
  c.op = op;
  c.operand = std::move(operand);
  return c;
}

// A value for a condition on `path` (a, b or c), never null.
value random_operand(std::mt19937_64& rng, const std::string& path) {
  if (path == "b")
    return random_b(rng);
  auto a = random_a(rng);
  return a.is_null() ? value{int64_t{3}} : a;
}

// `docs`: the documents written, for conditions on their ids.
query_expr random_cond(std::mt19937_64& rng, const std::vector<value>& docs) {
  if (rng() % 8 == 0 && !docs.empty()) {
    // By id: point lookups, with ids that exist and one that does not.
    auto some_id = [&] { return *docs[rng() % docs.size()].find("id"); };
    if (rng() % 2 == 0)
      return cond("id", query_op::eq, rng() % 4 == 0 ? value{"no-such-id"} : some_id());
    array ids{value{"no-such-id"}};
    for (size_t i = 0, n = 1 + rng() % 6; i < n; ++i)
      ids.push_back(some_id());
    return cond("id", query_op::in, value{std::move(ids)});
  }
  static const char* paths[] = {"a", "b", "c"};
  std::string path = paths[rng() % 3];
  auto v = [&] { return random_operand(rng, path); };
  switch (rng() % 9) {
  case 0:
  case 1:
    return cond(path, query_op::eq, v());
  case 2: {
    array xs;
    // Sometimes more than 64 values (index paths treat large `in`s differently).
    auto n = rng() % 4 == 0 ? 70 + rng() % 10 : 1 + rng() % 4;
    for (size_t i = 0; i < n; ++i)
      xs.push_back(i < 5 ? v() : value{"zz" + std::to_string(i)});
    return cond(path, query_op::in, value{std::move(xs)});
  }
  case 3:
    return cond(path, query_op::gt, v());
  case 4:
    return cond(path, query_op::le, v());
  case 5: {
    auto lo = v(), hi = v();
    return cond(path, query_op::between, value{array{lo, hi}});
  }
  case 6:
    return cond(path, query_op::ne, v());
  case 7:
    return path == "b" ? cond(path, query_op::starts_with, value{std::string{"c"}})
                       : cond(path, query_op::is_null);
  default: {
    query_expr any;
    any.type = query_expr::kind::any;
    any.children.push_back(cond("a", query_op::eq, value{int64_t{1}}));
    any.children.push_back(cond("b", query_op::eq, random_b(rng)));
    return any;
  }
  }
}

std::vector<sort_key> random_order(std::mt19937_64& rng) {
  switch (rng() % 11) {
  case 0:
  case 1:
    return {};
  case 9:
    // createdAt with a second key: entries of one createdAt tie in the streaming scans.
    return {{"createdAt", rng() % 2 == 0}, {"b", true}};
  case 10:
    return {{"updatedAt", true}, {"a", false}};
  case 2:
    return {{"a", rng() % 2 == 0}};
  case 3:
    return {{"createdAt", true}};
  case 4:
    return {{"id", rng() % 2 == 0}};
  case 5:
    return {{"b", false}, {"a", true}};
  case 6:
    return {{"c", rng() % 2 == 0}};
  case 7:
    // A field no index orders (heaps over a shard's documents or an index's candidates).
    return {{"updatedAt", rng() % 2 == 0}};
  default:
    return {{"createdAt", false}};
  }
}

// The reference: every document that matches, in the query's order (ids break ties).
std::vector<value> reference(const std::vector<value>& docs, const query& q) {
  std::vector<value> out;
  for (auto& d : docs) {
    if (!q.user_in.empty()) {
      auto* u = d.find("userId");
      if (u == nullptr ||
          std::find(q.user_in.begin(), q.user_in.end(), u->as_string()) == q.user_in.end())
        continue;
    }
    if (matches(q.where, d))
      out.push_back(d);
  }
  std::stable_sort(out.begin(), out.end(), [&](const value& x, const value& y) {
    return compare_sort_tuples(sort_tuple(x, q.order_by), sort_tuple(y, q.order_by), q.order_by) <
           0;
  });
  return out;
}

std::vector<std::string> ids(const std::vector<value>& docs) {
  std::vector<std::string> out;
  for (auto& d : docs)
    out.push_back(d.find("id")->as_string());
  return out;
}

std::string describe(const query& q) {
  return to_json(to_value(q));
}

// How many of the random queries each access path answered (a query counts once for each plan
// any of its partitions chose).
struct plan_tally {
  std::vector<uint32_t> queries = std::vector<uint32_t>(plan_kind_count, 0);
  uint32_t no_partition = 0; // queries that asked no partition (ids without a document)

  void add(const query_stats& stats) {
    REQUIRE(stats.plans.size() == plan_kind_count);
    // A partition always reports the plan it chose.
    CHECK(stats.plans[static_cast<size_t>(plan_kind::none)] == 0);
    uint32_t answered = 0;
    uint32_t by_key = 0;
    for (size_t k = 0; k < plan_kind_count; ++k) {
      answered += stats.plans[k];
      by_key += uses_index(static_cast<plan_kind>(k)) ? stats.plans[k] : 0;
      queries[k] += stats.plans[k] > 0 ? 1 : 0;
    }
    CHECK(answered == stats.partitions);
    CHECK(by_key == stats.indexed_partitions);
    no_partition += stats.partitions == 0 ? 1 : 0;
  }

  std::string describe() const {
    std::string out;
    for (size_t k = 0; k < plan_kind_count; ++k)
      if (queries[k] > 0)
        out += std::string{to_string(static_cast<plan_kind>(k))} + " " +
               std::to_string(queries[k]) + ", ";
    return out + "no partition " + std::to_string(no_partition);
  }
};

// Every plan in `reachable` answered at least `min_queries` queries; no other plan answered any.
void require_coverage(const plan_tally& tally, const std::vector<plan_kind>& reachable,
                      uint32_t min_queries) {
  INFO("queries per plan: " << tally.describe());
  for (size_t k = 0; k < plan_kind_count; ++k) {
    auto kind = static_cast<plan_kind>(k);
    bool wanted = std::find(reachable.begin(), reachable.end(), kind) != reachable.end();
    INFO("plan " << to_string(kind));
    if (wanted)
      CHECK(tally.queries[k] >= min_queries);
    else
      CHECK(tally.queries[k] == 0);
  }
}

// What "explain" reports agrees with the stats: one entry per partition asked, named once each,
// each with the plan the stats count, its reads adding up to the query's.
void check_explain(const query_result& r, const std::string& model, uint64_t k) {
  REQUIRE(r.plan.size() == r.stats.partitions);
  uint64_t examined = 0, entries = 0;
  std::vector<uint32_t> plans(plan_kind_count, 0);
  std::set<std::string> names;
  for (auto& p : r.plan) {
    INFO("partition " << p.partition << ": " << to_string(p.access) << ", examined " << p.examined
                      << ", returned " << p.returned << ", entries " << p.entries);
    CHECK(p.partition.rfind(model + "/", 0) == 0);
    CHECK(names.insert(p.partition).second);
    CHECK(p.access != plan_kind::none);
    // Every document examined came from a key walked, except those read by id.
    if (p.access != plan_kind::point_lookup)
      CHECK(p.entries >= p.examined);
    CHECK(p.returned <= k);
    CHECK(p.returned <= p.examined);
    CHECK(p.slices >= 1);
    examined += p.examined;
    entries += p.entries;
    ++plans[static_cast<size_t>(p.access)];
  }
  CHECK(examined == r.stats.examined);
  CHECK(entries == r.stats.entries);
  CHECK(plans == r.stats.plans);
}

plan_tally check_random_queries(runtime_fixture& f, const std::string& model, bool user_scoped,
                                uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto handle = f.rt->model(model);
  std::vector<value> docs;
  for (int i = 0; i < 200; ++i) {
    auto d = handle.create(random_doc(rng, user_scoped));
    REQUIRE(d);
    docs.push_back(*d);
  }
  // Batches: 100 documents share one createdAt, so orders by createdAt have large tie groups.
  for (int b = 0; b < 2; ++b) {
    std::vector<value> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(random_doc(rng, user_scoped));
    auto ids = handle.create_batch(batch);
    REQUIRE(ids);
    for (auto& id : *ids) {
      auto d = handle.get(id);
      REQUIRE(d);
      docs.push_back(*d);
    }
  }
  // Some updates and deletes, so indexes have moved and removed entries.
  for (int i = 0; i < 40; ++i) {
    auto& d = docs[rng() % docs.size()];
    auto id = d.find("id")->as_string();
    auto updated = handle.update(id, value{object{{"a", random_a(rng)}, {"b", random_b(rng)}}});
    REQUIRE(updated);
    d = *updated;
  }
  for (int i = 0; i < 20; ++i) {
    auto at = rng() % docs.size();
    REQUIRE_FALSE(handle.remove(docs[at].find("id")->as_string()));
    docs.erase(docs.begin() + static_cast<std::ptrdiff_t>(at));
  }

  plan_tally tally;
  for (int round = 0; round < rounds; ++round) {
    auto b = handle.query();
    auto order = random_order(rng);
    // Two thirds of the queries ordered by createdAt start with an `=`, which streams that value's
    // index prefix in createdAt order (rare otherwise).
    if (!order.empty() && order[0].path == "createdAt" && rng() % 3 != 0) {
      static const char* paths[] = {"a", "b", "c"};
      std::string path = paths[rng() % 3];
      b.where(path, query_op::eq, random_operand(rng, path));
    }
    auto nconds = rng() % 3;
    for (size_t i = 0; i < nconds; ++i) {
      auto c = random_cond(rng, docs);
      if (c.type == query_expr::kind::any)
        b.where_any(c.children);
      else
        b.where(c.path, c.op, c.operand);
    }
    for (auto& k : order)
      b.order_by(k.path, k.descending);
    if (user_scoped && rng() % 3 == 0)
      b.user_in({users[rng() % users.size()], users[rng() % users.size()], "nobody"});
    auto limit = static_cast<int64_t>(1 + rng() % 25);
    auto offset = static_cast<int64_t>(rng() % 3 == 0 ? rng() % 6 : 0);
    b.limit(limit).offset(offset).with_total();
    auto expected = reference(docs, b.get());
    INFO("seed " << seed << ", round " << round << ": " << describe(b.get()));

    // One page with offset, explained.
    auto explained = b;
    auto page = explained.explain().exec();
    REQUIRE(page);
    tally.add(page->stats);
    check_explain(*page, model, static_cast<uint64_t>(offset + limit + 1));
    auto first = std::min<size_t>(expected.size(), static_cast<size_t>(offset));
    auto last = std::min<size_t>(expected.size(), first + static_cast<size_t>(limit));
    std::vector<value> want(expected.begin() + static_cast<std::ptrdiff_t>(first),
                            expected.begin() + static_cast<std::ptrdiff_t>(last));
    CHECK(ids(page->docs) == ids(want));
    CHECK(page->total == expected.size());

    // Every page through the cursor, without offset: each document once, in order, and the
    // total of every page is the whole query's.
    auto pages = b;
    pages.offset(0);
    std::vector<value> walked;
    std::string cursor;
    for (int n = 0; n < 500; ++n) {
      auto p = cursor.empty() ? pages.exec() : pages.after(cursor).exec();
      REQUIRE(p);
      CHECK(p->plan.empty()); // not asked to explain
      CHECK(p->total == expected.size());
      walked.insert(walked.end(), p->docs.begin(), p->docs.end());
      if (p->next_cursor.empty())
        break;
      cursor = p->next_cursor;
    }
    CHECK(ids(walked) == ids(expected));

    // The same walk without a total: streaming scans stop early and seek to the cursor.
    auto plain = b;
    plain.offset(0).with_total(false);
    std::vector<value> walked_plain;
    cursor.clear();
    for (int n = 0; n < 500; ++n) {
      auto p = cursor.empty() ? plain.exec() : plain.after(cursor).exec();
      REQUIRE(p);
      walked_plain.insert(walked_plain.end(), p->docs.begin(), p->docs.end());
      if (p->next_cursor.empty())
        break;
      cursor = p->next_cursor;
    }
    CHECK(ids(walked_plain) == ids(expected));

    // Aggregates over the same conditions.
    auto count = b.count();
    REQUIRE(count);
    CHECK(*count == expected.size());
    auto sum = b.sum("c");
    REQUIRE(sum);
    int64_t want_sum = 0;
    for (auto& d : expected)
      want_sum += d.find("c")->as_int();
    CHECK(sum->as_int() == want_sum);
  }
  std::cout << model << ": queries per plan: " << tally.describe() << "\n";
  return tally;
}

} // namespace

TEST_CASE("random queries on a sharded global model agree with direct evaluation",
          "[actors][query][model]") {
  runtime_fixture f;
  f.define("G", global_model);
  auto tally = check_random_queries(f, "G", false, 20261121);
  // Shards plan over their local indexes of a, b and createdAt; conditions on c (and orders by
  // it) go to c's global index partitions. No scan of user databases.
  require_coverage(tally,
                   {plan_kind::point_lookup, plan_kind::stream_docs, plan_kind::heap_docs,
                    plan_kind::stream_index, plan_kind::stream_eq_by_created, plan_kind::heap_index,
                    plan_kind::gindex_stream_index, plan_kind::gindex_stream_eq_by_created,
                    plan_kind::gindex_heap_index},
                   min_queries_per_plan);
}

TEST_CASE("random queries on a user-scoped model with global indexes agree with direct "
          "evaluation",
          "[actors][query][model][users]") {
  runtime_fixture f;
  f.define("U", user_model);
  auto tally = check_random_queries(f, "U", true, 20261122);
  // A user's database has no local index: by id, or its documents streamed or heaped. The rest
  // goes to the global index partitions of a and b, or scans every user's database.
  require_coverage(tally,
                   {plan_kind::point_lookup, plan_kind::stream_docs, plan_kind::heap_docs,
                    plan_kind::scan_users, plan_kind::gindex_stream_index,
                    plan_kind::gindex_stream_eq_by_created, plan_kind::gindex_heap_index},
                   min_queries_per_plan);
}
