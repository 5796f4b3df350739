#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <set>

#include "caf/scoped_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/partition_scan.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// Rows n = 0..count-1 (indexed), a group g = n % 5, over `shards` shards; and notes of 6 users
// with a globally indexed tag.
struct sliced_fixture : runtime_fixture {
  explicit sliced_fixture(int count, int shards = 4) {
    define("Row", R"({"fields": {"n": {"type": "number", "index": true},
      "g": {"type": "number", "index": true}, "text": {"type": "string"}},
      "sharding": {"strategy": "hash", "count": )" +
                      std::to_string(shards) + "}}");
    define("Note", R"({"scope": "user", "fields": {"k": {"type": "number"},
      "tag": {"type": "string", "index": "global"}}})");
    std::vector<value> rows;
    for (int i = 0; i < count; ++i) {
      rows.emplace_back(object{{"n", i}, {"g", i % 5}, {"text", "row " + std::to_string(i)}});
      if (rows.size() == 5000 || i == count - 1) {
        REQUIRE(rt->model("Row").create_batch(std::move(rows)));
        rows.clear();
      }
    }
    for (int i = 0; i < 300; ++i)
      REQUIRE(rt->model("Note").create(value{object{{"userId", "u" + std::to_string(i % 6)},
                                                    {"k", i},
                                                    {"tag", "t" + std::to_string(i % 3)}}}));
  }

  caf::expected<query_result> run(std::string_view model, std::string_view json) {
    auto body = parse_json(json);
    REQUIRE(body);
    auto q = parse_query(model, *body);
    REQUIRE(q);
    return rt->await<query_result>([&](reply_fn<query_result> done) {
      rt->engine().run_query(std::move(*q), std::move(done));
    });
  }
};

std::vector<std::string> ids_of(const query_result& r) {
  std::vector<std::string> out;
  for (auto& d : r.docs)
    out.push_back(d.find("id")->as_string());
  return out;
}

} // namespace

TEST_CASE("queries answer the same whether their scans run in one piece or in slices",
          "[actors][query][slices]") {
  sliced_fixture f{600};
  // One query per access path (plan kinds of messages/plan.hpp).
  std::vector<std::pair<std::string, std::string>> queries = {
      {"Row", R"({"orderBy": [["n", "desc"]], "limit": 50})"}, // stream_index
      {"Row", R"({"where": [["n", ">", 100]], "orderBy": [["n", "asc"]], "limit": 70})"}, // range
      {"Row", R"({"where": [["g", "in", [1, 3]]], "limit": 500, "withTotal": true})"}, // heap_index
      {"Row", R"({"where": [["g", "=", 2]], "orderBy": [["createdAt", "desc"]], "limit": 40})"},
      {"Row", R"({"where": [["text", "starts_with", "row 1"]], "limit": 1000})"}, // stream_docs
      {"Row", R"({"where": [["text", ">", "row 5"]], "orderBy": [["text", "asc"]], "limit": 30})"},
      {"Row", R"({"aggregate": {"fn": "sum", "field": "n"}})"},
      {"Note", R"({"where": [["k", ">=", 10]], "orderBy": [["k", "asc"]], "limit": 25})"}, // users
      {"Note", R"({"where": [["tag", "=", "t1"]], "orderBy": [["k", "desc"]], "limit": 25})"},
      {"Note", R"({"where": [["tag", ">", "t0"]], "limit": 300, "withTotal": true})"}};
  for (auto& [model, json] : queries) {
    INFO(model << " " << json);
    f.rt->engine().set_scan_slice_entries(0);
    auto whole = f.run(model, json);
    REQUIRE(whole);
    CHECK(whole->stats.slices == whole->stats.partitions);
    f.rt->engine().set_scan_slice_entries(7);
    auto sliced = f.run(model, json);
    REQUIRE(sliced);
    CHECK(ids_of(*sliced) == ids_of(*whole));
    CHECK(sliced->total == whole->total);
    CHECK(sliced->aggregate == whole->aggregate);
    CHECK(sliced->next_cursor == whole->next_cursor);
    CHECK(sliced->stats.slices > sliced->stats.partitions); // it did run in slices
  }
}

TEST_CASE("a long scan lets the other operations of its partition go first",
          "[actors][query][slices]") {
  sliced_fixture f{20000, 1};
  auto entry = f.rt->engine().find("Row");
  REQUIRE(entry);
  auto shard = (*entry)->shards[0];
  auto some = f.rt->model("Row").query().limit(1).first();
  REQUIRE(some);
  REQUIRE(*some);
  auto id = (*some)->find("id")->as_string();
  // A count that reads all 20,000 documents of the single shard, then a get from it; both sent
  // straight to the shard by one sender, so they reach its mailbox in this order.
  partition_query pq;
  pq.q = *parse_query("Row", *parse_json(R"({"where": [["text", "!=", "none"]],
                                             "aggregate": {"fn": "count"}})"));
  pq.k = 0;
  auto race = [&](uint64_t slice) {
    pq.slice_entries = slice;
    caf::scoped_actor self{f.rt->system()};
    self->send(shard, pq);
    self->send(shard, doc_get{"Row", id});
    std::vector<std::string> order;
    for (int i = 0; i < 2; ++i)
      self->receive(
          [&](partition_result& r) {
            CHECK(r.agg.count == 20000);
            order.push_back("query");
          },
          [&](value& doc) {
            CHECK(doc.find("id")->as_string() == id);
            order.push_back("get");
          },
          [&](caf::error& err) { FAIL(message_of(err)); },
          caf::after(std::chrono::seconds(30)) >> [&] { FAIL("no answer within 30 s"); });
    return order;
  };
  SECTION("in slices, the get is answered while the scan goes on") {
    CHECK(race(100) == std::vector<std::string>{"get", "query"});
  }
  SECTION("in one piece, the get waits for the whole scan (the control)") {
    CHECK(race(0) == std::vector<std::string>{"query", "get"});
  }
}

TEST_CASE("a scan paused between slices keeps a document once when its index entry moves",
          "[actors][query][slices]") {
  sliced_fixture f{100, 1};
  auto entry = f.rt->engine().find("Row");
  REQUIRE(entry);
  auto& tables = f.rt->engine().tables();
  partition_layout layout;
  layout.docs = tables.docs;
  layout.index = tables.index;
  layout.model_id = (*entry)->id;
  layout.docs_prefix = doc_keys::shard_prefix((*entry)->id, 0);
  layout.index_base = doc_keys::shard_prefix((*entry)->id, 0);
  layout.indexed = (*entry)->indexed;
  partition_query pq;
  pq.q.model = "Row";
  pq.q.order_by.push_back(sort_key{"n", false});
  pq.k = 1000;
  pq.count_total = false;
  partition_scan scan{layout, (*entry)->def(), *entry, pq};
  REQUIRE_FALSE(scan.step(f.rt->env(), 10)); // paused after n = 0..9
  // The document with n = 0, already offered, moves to the end of the index.
  auto first = f.rt->model("Row").query().where("n", "=", 0).first();
  REQUIRE(first);
  REQUIRE(*first);
  auto id = (*first)->find("id")->as_string();
  REQUIRE(f.rt->model("Row").update(id, value{object{{"n", 1000}}}));
  std::optional<caf::expected<partition_result>> done;
  while (!(done = scan.step(f.rt->env(), 10))) {
  }
  REQUIRE(*done);
  std::set<std::string> seen;
  for (auto& h : (**done).hits)
    CHECK(seen.insert(h.tuple.back().as_string()).second);
  CHECK(seen.size() == 100);
  CHECK((**done).stats.slices > 10);
}
