#include <catch2/catch.hpp>

#include <set>

#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// 60 items over 4 shards. n = i; name "item-NN"; group "g" + i % 3; tags ["even"|"odd"] plus
// "five" when i % 5 == 0; flag when i % 4 == 0; profile.city Paris for odd i; `maybe` only when
// i % 10 == 0.
struct items_fixture : runtime_fixture {
  items_fixture() {
    define("Item", R"({"fields": {
      "n": {"type": "number", "index": true},
      "name": {"type": "string"},
      "group": {"type": "string", "index": true},
      "tags": {"type": "array"},
      "flag": {"type": "boolean"},
      "profile": {"type": "object"},
      "maybe": {"type": "number"}},
      "sharding": {"strategy": "hash", "count": 4, "key": "id"}})");
    std::vector<value> docs;
    for (int i = 0; i < 60; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "item-%02d", i);
      array tags{i % 2 == 0 ? "even" : "odd"};
      if (i % 5 == 0)
        tags.emplace_back("five");
      object d{{"n", i},
               {"name", name},
               {"group", "g" + std::to_string(i % 3)},
               {"tags", std::move(tags)},
               {"flag", i % 4 == 0},
               {"profile", object{{"city", i % 2 == 1 ? "Paris" : "Berlin"}}}};
      if (i % 10 == 0)
        d.set("maybe", i);
      docs.emplace_back(std::move(d));
    }
    auto ids = rt->model("Item").create_batch(std::move(docs));
    if (!ids)
      FAIL(message_of(ids.error()));
  }

  caf::expected<query_result> run(std::string_view json) {
    auto body = parse_json(json);
    REQUIRE(body);
    auto q = parse_query("Item", *body);
    if (!q)
      return q.error();
    return rt->await<query_result>([&](reply_fn<query_result> done) {
      rt->engine().run_query(std::move(*q), std::move(done));
    });
  }

  std::vector<int64_t> ns(std::string_view json) {
    auto r = run(json);
    INFO(json);
    if (!r)
      FAIL(message_of(r.error()));
    return ints(r->docs, "n");
  }

  size_t count(std::string_view where) {
    auto r = run(R"({"limit": 10000, "where": )" + std::string{where} + "}");
    INFO(where);
    if (!r)
      FAIL(message_of(r.error()));
    return r->docs.size();
  }
};

} // namespace

TEST_CASE("every operator matches what it should across four shards", "[actors][query]") {
  items_fixture f;
  CHECK(f.count(R"([["n", "=", 7]])") == 1);
  CHECK(f.count(R"([["n", "!=", 7]])") == 59);
  CHECK(f.count(R"([["n", ">", 50]])") == 9);
  CHECK(f.count(R"([["n", ">=", 50]])") == 10);
  CHECK(f.count(R"([["n", "<", 10]])") == 10);
  CHECK(f.count(R"([["n", "<=", 10]])") == 11);
  CHECK(f.count(R"([["n", "in", [1, 2, 100]]])") == 2);
  CHECK(f.count(R"([["n", "in", [1, 1.0]]])") == 1);
  CHECK(f.count(R"([["n", "not_in", [1, 2]]])") == 58);
  CHECK(f.count(R"([["tags", "contains", "five"]])") == 12);
  CHECK(f.count(R"([["name", "like", "EM-1"]])") == 10);
  CHECK(f.count(R"([["name", "starts_with", "item-2"]])") == 10);
  CHECK(f.count(R"([["n", "between", [10, 19]]])") == 10);
  CHECK(f.count(R"([["maybe", "is_null"]])") == 54);
  CHECK(f.count(R"([["maybe", "is_not_null"]])") == 6);
  CHECK(f.count(R"([["maybe", "=", null]])") == 54);
  CHECK(f.count(R"([["profile.city", "=", "Paris"]])") == 30);
  CHECK(f.count(R"([["flag", "=", true]])") == 15);
  CHECK(f.count(R"([["group", "=", "g1"], ["n", "<", 30]])") == 10);
  CHECK(f.count(R"([["group", ">", "g0"]])") == 40);
  CHECK(f.count(R"([["group", "starts_with", "g"]])") == 60);
  SECTION("comparisons between different types never match") {
    CHECK(f.count(R"([["n", "=", "7"]])") == 0);
    CHECK(f.count(R"([["name", ">", 5]])") == 0);
    CHECK(f.count(R"([["n", "<", "z"]])") == 0);
    CHECK(f.count(R"([["flag", "=", 1]])") == 0);
  }
  SECTION("OR groups, alone and inside an AND") {
    CHECK(f.count(R"([{"or": [["n", "<", 3], ["n", ">", 57]]}])") == 5);
    CHECK(f.count(R"([["group", "=", "g0"], {"or": [["n", "<", 10], ["n", ">", 50]]}])") == 7);
    CHECK(f.count(R"([{"or": [["n", "=", 1], {"and": [["n", ">", 55], ["flag", "=", true]]}]}])") ==
          2);
  }
}

TEST_CASE("sorting, limit and offset over merged shard results", "[actors][query]") {
  items_fixture f;
  CHECK(f.ns(R"({"orderBy": [["n", "desc"]], "limit": 5})") ==
        std::vector<int64_t>{59, 58, 57, 56, 55});
  SECTION("offset is applied once over the merged result") {
    CHECK(f.ns(R"({"orderBy": [["n", "desc"]], "offset": 5, "limit": 5})") ==
          std::vector<int64_t>{54, 53, 52, 51, 50});
    CHECK(f.ns(R"({"orderBy": [["name", "asc"]], "offset": 57, "limit": 5})") ==
          std::vector<int64_t>{57, 58, 59});
  }
  SECTION("several sort keys") {
    CHECK(f.ns(R"({"orderBy": [["group", "asc"], ["n", "desc"]], "limit": 4})") ==
          std::vector<int64_t>{57, 54, 51, 48});
    CHECK(f.ns(R"({"orderBy": [["flag", "desc"], ["n", "asc"]], "limit": 3})") ==
          std::vector<int64_t>{0, 4, 8});
  }
  SECTION("a filter with a sort on an unindexed field") {
    CHECK(f.ns(R"({"where": [["tags", "contains", "odd"]], "orderBy": [["name", "desc"]],
                  "limit": 3})") == std::vector<int64_t>{59, 57, 55});
  }
  SECTION("nulls first ascending, ties by id") {
    auto r = f.ns(R"({"orderBy": [["maybe", "asc"]], "limit": 60})");
    REQUIRE(r.size() == 60);
    CHECK(std::vector<int64_t>(r.end() - 6, r.end()) ==
          std::vector<int64_t>{0, 10, 20, 30, 40, 50});
  }
  SECTION("an equality on an indexed field ordered by creation time uses the index") {
    auto r = f.run(R"({"where": [["group", "=", "g2"]], "orderBy": [["createdAt", "desc"],
                      ["n", "desc"]], "limit": 3})");
    REQUIRE(r);
    CHECK(ints(r->docs, "n") == std::vector<int64_t>{59, 56, 53});
    CHECK(r->stats.indexed_partitions == 4);
    CHECK(r->stats.examined < 60);
  }
  SECTION("limit 0 returns no documents but a total") {
    auto r = f.run(R"({"where": [["n", "<", 20]], "limit": 0, "withTotal": true})");
    REQUIRE(r);
    CHECK(r->docs.empty());
    CHECK(r->has_total);
    CHECK(r->total == 20);
  }
  SECTION("the default limit is 100, the total ignores paging") {
    auto r = f.run(R"({"limit": 7, "withTotal": true})");
    REQUIRE(r);
    CHECK(r->docs.size() == 7);
    CHECK(r->total == 60);
  }
}

TEST_CASE("cursor pagination walks every document exactly once", "[actors][query]") {
  items_fixture f;
  auto walk = [&](const std::string& order, const std::string& where) {
    std::vector<int64_t> seen;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      std::string body = R"({"limit": 7, "orderBy": )" + order + R"(, "where": )" + where;
      if (!cursor.empty())
        body += R"(, "after": ")" + cursor + "\"";
      body += "}";
      auto r = f.run(body);
      REQUIRE(r);
      for (auto n : ints(r->docs, "n"))
        seen.push_back(n);
      if (r->next_cursor.empty())
        break;
      cursor = r->next_cursor;
    }
    return seen;
  };
  auto all_once = [](std::vector<int64_t> xs, size_t expected) {
    std::sort(xs.begin(), xs.end());
    CHECK(xs.size() == expected);
    CHECK(std::set<int64_t>(xs.begin(), xs.end()).size() == expected);
  };
  SECTION("by an indexed field, descending") {
    auto seen = walk(R"([["n", "desc"]])", "[]");
    CHECK(std::is_sorted(seen.rbegin(), seen.rend()));
    all_once(seen, 60);
  }
  SECTION("by a field with many ties (ties broken by id)") {
    auto seen = walk(R"([["group", "asc"]])", "[]");
    all_once(seen, 60);
  }
  SECTION("by an unindexed field with a filter") {
    auto seen = walk(R"([["name", "asc"]])", R"([["flag", "=", false]])");
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    all_once(seen, 45);
  }
  SECTION("unordered (by id)") {
    all_once(walk("[]", "[]"), 60);
  }
  SECTION("by creation time within an indexed equality") {
    all_once(walk(R"([["createdAt", "desc"]])", R"([["group", "=", "g1"]])"), 20);
  }
  SECTION("a cursor made for another order is refused") {
    auto first = f.run(R"({"limit": 5, "orderBy": [["n", "asc"]]})");
    REQUIRE(first);
    auto r = f.run(R"({"limit": 5, "orderBy": [["name", "asc"]], "after": ")" + first->next_cursor +
                   "\"}");
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
}

TEST_CASE("aggregates over shards, including empty inputs", "[actors][query]") {
  items_fixture f;
  auto agg = [&](std::string_view fn, std::string_view where) {
    auto r = f.run(R"({"aggregate": {"fn": ")" + std::string{fn} +
                   R"(", "field": "n"}, "where": )" + std::string{where} + "}");
    REQUIRE(r);
    REQUIRE(r->has_aggregate);
    return r->aggregate;
  };
  CHECK(agg("count", "[]") == value{60});
  CHECK(agg("sum", "[]") == value{1770});
  CHECK(agg("avg", "[]") == value{29.5});
  CHECK(agg("min", R"([["n", ">", 10]])") == value{11});
  CHECK(agg("max", "[]") == value{59});
  SECTION("empty: count and sum 0, avg 0, min and max null") {
    CHECK(agg("count", R"([["n", ">", 1000]])") == value{0});
    CHECK(agg("sum", R"([["n", ">", 1000]])") == value{0});
    CHECK(agg("avg", R"([["n", ">", 1000]])") == value{0});
    CHECK(agg("min", R"([["n", ">", 1000]])").is_null());
    CHECK(agg("max", R"([["n", ">", 1000]])").is_null());
  }
  SECTION("through the builder") {
    auto items = f.rt->model("Item");
    CHECK(*items.query().where("group", "=", "g0").count() == 20);
    CHECK(*items.query().where("n", "<", 4).sum("n") == value{6});
  }
}

TEST_CASE("bad queries are errors, never everything", "[actors][query]") {
  items_fixture f;
  auto refused = [&](std::string_view body) {
    auto r = f.run(body);
    INFO(body);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  };
  refused(R"({"where": [["n", "equals", 7]]})");
  refused(R"({"limit": -1})");
  refused(R"({"offset": -1})");
  refused(R"({"limit": 10001})");
  refused(R"({"offset": 100001})");
  refused(R"({"after": "not-a-cursor"})");
  SECTION("through the builder") {
    auto r = f.rt->model("Item").query().where("n", "~", 1).exec();
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
  SECTION("an unknown model") {
    auto r = f.rt->model("Nope").query().exec();
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::not_found);
  }
}

TEST_CASE("the builder's or_where adds an alternative to what came before", "[actors][query]") {
  items_fixture f;
  auto items = f.rt->model("Item");
  auto n_of = [](const caf::expected<query_result>& r) {
    REQUIRE(r);
    auto out = ints(r->docs, "n");
    std::sort(out.begin(), out.end());
    return out;
  };
  SECTION("first: it is the only condition, not an alternative to everything") {
    CHECK(n_of(items.query().or_where("n", "=", 7).exec()) == std::vector<int64_t>{7});
  }
  SECTION("after conditions: (all of them) or it") {
    auto r =
        items.query().where("n", "<", 3).where("group", "=", "g0").or_where("n", "=", 59).exec();
    CHECK(n_of(r) == std::vector<int64_t>{0, 59});
  }
  SECTION("chained: any of them") {
    auto r =
        items.query().or_where("n", "=", 1).or_where("n", "=", 2).or_where("n", "=", 40).exec();
    CHECK(n_of(r) == std::vector<int64_t>{1, 2, 40});
  }
}

TEST_CASE("equality on the shard key asks one shard", "[actors][query]") {
  items_fixture f;
  auto any = f.run(R"({"limit": 1})");
  REQUIRE(any);
  auto id = any->docs[0].find("id")->as_string();
  auto r = f.run(R"({"where": [["id", "=", ")" + id + R"("]]})");
  REQUIRE(r);
  CHECK(r->docs.size() == 1);
  CHECK(r->stats.partitions == 1);
  CHECK(r->stats.examined == 1); // read by its key, not by a scan of the shard
  auto several = f.run(R"({"where": [["id", "in", [")" + id + R"(", "no-such-id"]]]})");
  REQUIRE(several);
  CHECK(several->docs.size() == 1);
  CHECK(several->stats.examined == 1);
  auto all = f.run(R"({"where": [["n", "=", 3]]})");
  REQUIRE(all);
  CHECK(all->stats.partitions == 4);
  SECTION("range sharding by bounds puts keys on the expected shards") {
    f.define("City", R"({"fields": {"name": {"type": "string"}},
                         "sharding": {"strategy": "range", "count": 3, "key": "name",
                                      "bounds": ["h", "p"]}})");
    auto cities = f.rt->model("City");
    for (auto n : {"amsterdam", "berlin", "hamburg", "oslo", "paris", "zurich"})
      REQUIRE(cities.create(value{object{{"name", n}}}));
    auto one = cities.query().where("name", "=", "oslo").exec();
    REQUIRE(one);
    CHECK(one->stats.partitions == 1);
    CHECK(one->docs.size() == 1);
    // Sharded by name, a document is still found by id alone, in its one shard.
    auto by_id = cities.query().where("id", "=", one->docs[0].find("id")->as_string()).exec();
    REQUIRE(by_id);
    CHECK(by_id->docs.size() == 1);
    CHECK(by_id->stats.partitions == 1);
    CHECK(by_id->stats.examined == 1);
    CHECK(*cities.count() == 6);
  }
}

namespace {

// The one access path every partition of `r` answered by; none when they differ or no partition
// was asked.
std::string plan_of(const query_result& r) {
  plan_kind only = plan_kind::none;
  for (size_t k = 0; k < r.stats.plans.size(); ++k) {
    if (r.stats.plans[k] == 0)
      continue;
    if (only != plan_kind::none || r.stats.plans[k] != r.stats.partitions)
      return "mixed";
    only = static_cast<plan_kind>(k);
  }
  return std::string{to_string(only)};
}

} // namespace

TEST_CASE("each planning rule answers by the access path it names", "[actors][query][plan]") {
  items_fixture f;
  // docs/models-and-queries.md 4.4, "Access path in a partition", step by step (Item indexes n,
  // group and createdAt).
  auto plan = [&](const std::string& json) {
    auto r = f.run(json);
    INFO(json);
    REQUIRE(r);
    return plan_of(*r);
  };
  auto any = f.run(R"({"limit": 1})");
  REQUIRE(any);
  auto id = any->docs[0].find("id")->as_string();
  CHECK(plan(R"({"where": [["id", "=", ")" + id + R"("]]})") == "point_lookup");
  CHECK(plan(R"({"where": [["id", "in", [")" + id + R"(", "x"]], ["n", "=", 1]]})") ==
        "point_lookup");
  CHECK(plan(R"({"where": [["group", "=", "g1"]], "orderBy": [["createdAt", "desc"]]})") ==
        "stream_eq_by_created");
  CHECK(plan(R"({"where": [["n", ">", 10]], "orderBy": [["n", "asc"]]})") == "stream_index");
  CHECK(plan(R"({"orderBy": [["n", "desc"]]})") == "stream_index");
  CHECK(plan(R"({"orderBy": [["createdAt", "asc"]]})") == "stream_index");
  CHECK(plan(R"({"where": [["group", "=", "g1"]], "orderBy": [["n", "asc"]]})") == "heap_index");
  CHECK(plan(R"({"where": [["group", "=", "g1"]]})") == "heap_index");
  CHECK(plan(R"({"where": [["n", "in", [1, 2]]]})") == "heap_index");
  CHECK(plan(R"({"where": [["n", "in", [1, 2]]], "orderBy": [["n", "asc"]]})") == "heap_index");
  CHECK(plan(R"({"where": [["n", ">", 10]]})") == "stream_docs");
  CHECK(plan(R"({"orderBy": [["id", "desc"]]})") == "stream_docs");
  CHECK(plan(R"({"where": [["n", ">", 10]], "orderBy": [["name", "asc"]]})") == "heap_index");
  CHECK(plan(R"({"orderBy": [["name", "asc"]]})") == "heap_docs");
  CHECK(plan(R"({"where": [["tags", "contains", "odd"]], "orderBy": [["name", "desc"]]})") ==
        "heap_docs");
  SECTION("user databases, global index partitions and scans of every user's database") {
    f.define("Note", R"({"scope": "user", "fields": {
      "a": {"type": "number", "index": "global"}, "c": {"type": "number"}}})");
    auto notes = f.rt->model("Note");
    std::string note_id;
    for (int i = 0; i < 6; ++i) {
      auto d = notes.create(
          value{object{{"userId", i % 2 == 0 ? "alice" : "bob"}, {"a", i % 3}, {"c", i}}});
      REQUIRE(d);
      note_id = d->find("id")->as_string();
    }
    auto note_plan = [](query_builder b) {
      INFO(to_json(to_value(b.get())));
      auto r = b.exec();
      REQUIRE(r);
      return plan_of(*r);
    };
    CHECK(note_plan(notes.query().where("id", query_op::eq, value{note_id})) == "point_lookup");
    CHECK(note_plan(notes.query().user_in({"alice"})) == "stream_docs");
    CHECK(note_plan(notes.query().user_in({"alice", "bob"}).order_by("createdAt")) == "heap_docs");
    // A user's database keeps no index: `a` is answered from its documents.
    CHECK(note_plan(notes.query().user_in({"bob"}).where("a", query_op::eq, value{1})) ==
          "stream_docs");
    CHECK(note_plan(notes.query().where("c", query_op::gt, value{1})) == "scan_users");
    CHECK(note_plan(notes.query().where("a", query_op::eq, value{1})) == "gindex_heap_index");
    CHECK(note_plan(notes.query().where("a", query_op::in, value{array{0, 2}})) ==
          "gindex_heap_index");
    CHECK(note_plan(notes.query().where("a", query_op::gt, value{0})) == "gindex_heap_index");
    CHECK(note_plan(notes.query().where("a", query_op::eq, value{1}).order_by("createdAt", true)) ==
          "gindex_stream_eq_by_created");
    CHECK(note_plan(notes.query().where("a", query_op::gt, value{0}).order_by("a")) ==
          "gindex_stream_index");
    CHECK(note_plan(notes.query().order_by("a", true)) == "gindex_stream_index");
  }
}
