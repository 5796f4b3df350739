// The pure planner (plan_scan, actors/partition_scan.hpp): the plan of a query from the model,
// the partition's layout and the query alone, with no store. The executions of these plans are
// checked against direct evaluation in query_model.test.cpp, whose partitions report the kind
// plan_scan named.
#include <catch2/catch.hpp>

#include "actors/catalog.hpp"
#include "actors/partition_scan.hpp"
#include "messages/json.hpp"
#include "messages/model.hpp"
#include "messages/query.hpp"

using namespace debros;

namespace {

model_def post_def() {
  auto json = parse_json(R"({
    "fields": {
      "category": {"type": "string", "index": true},
      "n": {"type": "number", "index": true},
      "tags": {"type": "array", "index": true},
      "title": {"type": "string"},
      "pub": {"type": "boolean", "index": "global"}
    },
    "sharding": {"strategy": "hash", "count": 4}
  })");
  REQUIRE(json);
  auto def = parse_model("Post", *json);
  REQUIRE(def);
  return *def;
}

query q_of(std::string_view json) {
  auto v = parse_json(json);
  REQUIRE(v);
  auto q = parse_query("Post", *v);
  REQUIRE(q);
  return *q;
}

partition_layout shard_layout(const model_def& def) {
  partition_layout l;
  l.indexed = local_index_fields(def);
  return l;
}

struct expect {
  const char* query;
  plan_kind kind;
  scan_plan::step step;
  const char* field;
  bool descending;
  bool has_cond;
};

} // namespace

TEST_CASE("plan_scan chooses a shard's plan from the query and its indexes alone",
          "[actors][query][plan]") {
  auto def = post_def();
  auto layout = shard_layout(def);
  using step = scan_plan::step;
  const expect cases[] = {
      {R"({"where": [["id", "=", "x"]]})", plan_kind::point_lookup, step::point_lookup, "id", false,
       true},
      {R"({"where": [["id", "in", ["x", "y"]], ["n", "=", 1]]})", plan_kind::point_lookup,
       step::point_lookup, "id", false, true},
      {R"({"where": [["category", "=", "a"]], "orderBy": [["createdAt", "desc"]]})",
       plan_kind::stream_eq_by_created, step::stream_eq_by_created, "category", true, true},
      {R"({"where": [["n", ">", 3]], "orderBy": ["n"]})", plan_kind::stream_index,
       step::stream_index, "n", false, true},
      {R"({"orderBy": [["n", "desc"]]})", plan_kind::stream_index, step::stream_index, "n", true,
       false},
      {R"({"orderBy": [["createdAt", "desc"]]})", plan_kind::stream_index, step::stream_index,
       "createdAt", true, false},
      // An `=` narrows more than streaming a whole index would.
      {R"({"where": [["category", "=", "a"]], "orderBy": ["n"]})", plan_kind::heap_index,
       step::heap_index, "category", false, true},
      {R"({"where": [["category", "in", ["a", "b"]]], "orderBy": ["title"]})",
       plan_kind::heap_index, step::heap_index, "category", false, true},
      // Unordered: documents in id order, stopping at the page, beat a range index.
      {R"({"where": [["n", ">", 3]]})", plan_kind::stream_docs, step::stream_docs, "", false,
       false},
      {R"({})", plan_kind::stream_docs, step::stream_docs, "", false, false},
      {R"({"orderBy": [["id", "desc"]]})", plan_kind::stream_docs, step::stream_docs, "", true,
       false},
      {R"({"where": [["n", ">", 3]], "orderBy": ["title"]})", plan_kind::heap_index,
       step::heap_index, "n", false, true},
      // An array field's index is not in value order: it is not streamed for an orderBy.
      {R"({"orderBy": ["tags"]})", plan_kind::heap_docs, step::heap_docs, "", false, false},
      {R"({"where": [["title", "=", "t"]], "orderBy": ["title"]})", plan_kind::heap_docs,
       step::heap_docs, "", false, false},
  };
  for (auto& c : cases) {
    INFO(c.query);
    auto q = q_of(c.query);
    auto p = plan_scan(def, layout, q);
    REQUIRE(p);
    CHECK(p->kind == c.kind);
    CHECK(p->what == c.step);
    if (c.step != step::stream_docs && c.step != step::heap_docs)
      CHECK(p->field == c.field);
    CHECK(p->descending == c.descending);
    CHECK((p->cond != nullptr) == c.has_cond);
  }
}

TEST_CASE("plan_scan in user databases, every-user scans and global index partitions",
          "[actors][query][plan]") {
  auto def = post_def();
  SECTION("a user's database keeps no local index") {
    partition_layout user_db; // no indexed fields
    auto p = plan_scan(def, user_db, q_of(R"({"where": [["category", "=", "a"]],
                                              "orderBy": [["createdAt", "desc"]]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::heap_docs);
    p = plan_scan(def, user_db, q_of(R"({"where": [["id", "=", "x"]]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::point_lookup);
  }
  SECTION("a scan of every user's database is not in id order") {
    partition_layout all_users;
    all_users.docs_by_user = true;
    auto p = plan_scan(def, all_users, q_of(R"({"where": [["id", "=", "x"]]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::scan_users);
    p = plan_scan(def, all_users, q_of(R"({})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::scan_users);
  }
  SECTION("a global index partition walks the chosen field's entries") {
    partition_layout g;
    g.global_index = true;
    g.indexed = {"pub"};
    auto p = plan_scan(def, g, q_of(R"({"where": [["pub", "=", true]],
                                        "orderBy": [["createdAt", "desc"]]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::gindex_stream_eq_by_created);
    CHECK(p->field == "pub");
    p = plan_scan(def, g, q_of(R"({"where": [["pub", "in", [true, false]]]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::gindex_heap_index);
    p = plan_scan(def, g, q_of(R"({"orderBy": ["pub"]})"));
    REQUIRE(p);
    CHECK(p->kind == plan_kind::gindex_stream_index);
    CHECK(p->cond == nullptr);
    auto none = plan_scan(def, g, q_of(R"({"where": [["title", "=", "t"]]})"));
    REQUIRE_FALSE(none);
    CHECK(code_of(none.error()) == errc::internal);
  }
}
