#include <catch2/catch.hpp>

#include <optional>

#include "caf/scoped_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/interfaces.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// `n` documents numbered 0..n-1 over 4 shards, each with a `pad` of `pad_bytes` so that a body
// is much larger than its sort tuple.
struct numbered_fixture : runtime_fixture {
  explicit numbered_fixture(int n, size_t pad_bytes = 16) {
    define("Row", R"({"fields": {
      "n": {"type": "number", "index": true},
      "odd": {"type": "boolean"},
      "pad": {"type": "string"}},
      "sharding": {"strategy": "hash", "count": 4, "key": "id"}})");
    std::vector<value> docs;
    for (int i = 0; i < n; ++i) {
      docs.emplace_back(
          object{{"n", i}, {"odd", i % 2 == 1}, {"pad", std::string(pad_bytes, 'p')}});
      if (docs.size() == 5000 || i == n - 1) {
        auto ids = rt->model("Row").create_batch(std::move(docs));
        if (!ids)
          FAIL(message_of(ids.error()));
        docs.clear();
      }
    }
  }

  void set_bound(uint64_t bytes) { rt->engine().set_query_memory_bytes(bytes); }
};

std::vector<int64_t> expected_range(int64_t from, int64_t to, int64_t step = 1) {
  std::vector<int64_t> out;
  for (auto i = from; step > 0 ? i < to : i > to; i += step)
    out.push_back(i);
  return out;
}

} // namespace

TEST_CASE("a deep offset reads its page in a second round and pages on exactly",
          "[actors][query][memory]") {
  numbered_fixture f{3000};
  auto rows = f.rt->model("Row");
  SECTION("by an indexed field, both ways, with a total") {
    // 4 partitions x (2500 + 100 + 1) candidates: tuples first, then the page's documents.
    auto r = rows.query().order_by("n").offset(2500).limit(100).with_total().exec();
    REQUIRE(r);
    CHECK(ints(r->docs, "n") == expected_range(2500, 2600));
    CHECK(r->total == 3000);
    CHECK_FALSE(r->next_cursor.empty());
    auto next = rows.query().order_by("n").after(r->next_cursor).limit(100).exec();
    REQUIRE(next);
    CHECK(ints(next->docs, "n") == expected_range(2600, 2700));
    auto down = rows.query().order_by("n", true).offset(1000).limit(300).exec();
    REQUIRE(down);
    CHECK(ints(down->docs, "n") == expected_range(1999, 1699, -1));
  }
  SECTION("a scan with a condition, and the last page") {
    auto r = rows.query().where("odd", "=", true).order_by("n").offset(1400).limit(200).exec();
    REQUIRE(r);
    CHECK(ints(r->docs, "n") == expected_range(2801, 3000, 2));
    CHECK(r->next_cursor.empty()); // 100 left, all on this page
  }
  SECTION("an offset past the end") {
    auto r = rows.query().order_by("n").offset(5000).limit(10).exec();
    REQUIRE(r);
    CHECK(r->docs.empty());
    CHECK(r->next_cursor.empty());
  }
  SECTION("after a cursor") {
    auto first = rows.query().order_by("n").limit(10).exec();
    REQUIRE(first);
    auto r = rows.query().order_by("n").after(first->next_cursor).offset(1990).limit(5).exec();
    REQUIRE(r);
    CHECK(ints(r->docs, "n") == expected_range(2000, 2005));
  }
}

TEST_CASE("a query holds at most its memory bound and says so past it", "[actors][query][memory]") {
  // 2,000 documents of ~2 KB: one shard's 1,901 candidates take ~0.3 MB as sort tuples and
  // ~4 MB with their bodies.
  numbered_fixture f{2000, 2000};
  auto rows = f.rt->model("Row");
  f.set_bound(uint64_t{4} << 20); // 1 MiB per shard
  SECTION("a deep offset fits: only the tuples and the page's bodies are held") {
    auto r = rows.query().order_by("n").offset(1800).limit(100).exec();
    REQUIRE(r);
    CHECK(ints(r->docs, "n") == expected_range(1800, 1900));
  }
  SECTION("past the bound the query fails with too_large and says what to do") {
    f.set_bound(uint64_t{256} << 10); // 64 KiB per shard: not even the tuples fit
    auto r = rows.query().order_by("n").offset(1800).limit(100).exec();
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::too_large);
    CHECK_THAT(message_of(r.error()),
               Catch::Contains("memory bound") && Catch::Contains("after/nextCursor"));
    // A shallow page still answers under the same bound.
    auto shallow = rows.query().order_by("n").limit(10).exec();
    REQUIRE(shallow);
    CHECK(ints(shallow->docs, "n") == expected_range(0, 10));
  }
}

TEST_CASE("a partition asked for tuples only keeps no bodies", "[actors][query][memory]") {
  numbered_fixture f{200, 500};
  auto entry = f.rt->engine().find("Row");
  REQUIRE(entry);
  caf::scoped_actor self{f.rt->system()};
  auto ask = [&](const partition_query& pq) {
    std::optional<partition_result> out;
    self->request((*entry)->shards[0], std::chrono::seconds(20), pq)
        .receive([&](partition_result& r) { out = std::move(r); },
                 [&](caf::error& err) { FAIL(message_of(err)); });
    REQUIRE(out);
    return std::move(*out);
  };
  partition_query pq;
  pq.q.model = "Row";
  pq.q.order_by.push_back(sort_key{"n", false});
  pq.k = 1000;
  SECTION("without bodies") {
    pq.bodies = false;
    auto r = ask(pq);
    REQUIRE_FALSE(r.hits.empty());
    for (auto& h : r.hits) {
      CHECK(h.body.empty());
      CHECK(h.tuple.size() == 2); // n, id
    }
  }
  SECTION("with bodies") {
    auto r = ask(pq);
    REQUIRE_FALSE(r.hits.empty());
    CHECK(r.hits[0].body.size() > 500);
  }
}
