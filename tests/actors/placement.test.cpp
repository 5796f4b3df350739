#include <catch2/catch.hpp>

#include <set>

#include "actors/ids.hpp"
#include "actors/placement.hpp"
#include "messages/json.hpp"

using namespace debros;

namespace {

sharding_def sharding(shard_strategy s, uint32_t count, std::vector<value> bounds = {}) {
  sharding_def d;
  d.strategy = s;
  d.count = count;
  d.bounds = std::move(bounds);
  return d;
}

} // namespace

TEST_CASE("the same shard key always lands on the same shard", "[actors][placement]") {
  auto s = sharding(shard_strategy::hash, 16);
  std::set<uint32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    auto key = value{"user-" + std::to_string(i)};
    auto a = shard_for_key(s, key);
    CHECK(a == shard_for_key(s, key));
    CHECK(a < 16);
    seen.insert(a);
  }
  CHECK(seen.size() == 16); // 2000 keys use every shard
  SECTION("numerically equal keys share a shard") {
    CHECK(shard_for_key(s, value{7}) == shard_for_key(s, value{7.0}));
  }
  SECTION("the hash is stable across versions (placement of stored data depends on it)") {
    CHECK(stable_hash("") == 14695981039346656037ull);
    CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cull);
  }
}

TEST_CASE("range sharding follows its bounds", "[actors][placement]") {
  SECTION("explicit bounds: count-1 split points") {
    auto s = sharding(shard_strategy::range, 3, {value{"h"}, value{"p"}});
    CHECK(shard_for_key(s, value{"apple"}) == 0);
    CHECK(shard_for_key(s, value{"g"}) == 0);
    CHECK(shard_for_key(s, value{"h"}) == 1);
    CHECK(shard_for_key(s, value{"orange"}) == 1);
    CHECK(shard_for_key(s, value{"p"}) == 2);
    CHECK(shard_for_key(s, value{"zebra"}) == 2);
  }
  SECTION("numeric bounds") {
    auto s = sharding(shard_strategy::range, 3, {value{100}, value{200}});
    CHECK(shard_for_key(s, value{-5}) == 0);
    CHECK(shard_for_key(s, value{100}) == 1);
    CHECK(shard_for_key(s, value{199.5}) == 1);
    CHECK(shard_for_key(s, value{1000}) == 2);
  }
  SECTION("no bounds: by first letter a-z") {
    auto s = sharding(shard_strategy::range, 2);
    CHECK(shard_for_key(s, value{"alice"}) == 0);
    CHECK(shard_for_key(s, value{"Mallory"}) == 0); // 'm' is the 13th letter: first half
    CHECK(shard_for_key(s, value{"nina"}) == 1);
    CHECK(shard_for_key(s, value{"zoe"}) == 1);
    CHECK(shard_for_key(s, value{"1st"}) == 0);
    CHECK(shard_for_key(s, value{"~tilde"}) == 1);
    CHECK(shard_for_key(s, value{42}) == 0);
  }
}

TEST_CASE("queries with equality on the shard key target only its shards", "[actors][placement]") {
  model_def def;
  def.name = "T";
  def.sharding = sharding(shard_strategy::hash, 8);
  query q;
  q.model = "T";
  q.where.type = query_expr::kind::all;
  SECTION("no condition: all shards") {
    CHECK_FALSE(shards_for_query(def, q));
  }
  SECTION("equality on id: one shard") {
    query_expr c;
    c.type = query_expr::kind::cond;
    c.path = "id";
    c.op = query_op::eq;
    c.operand = value{"abc"};
    q.where.children.push_back(c);
    auto s = shards_for_query(def, q);
    REQUIRE(s);
    REQUIRE(s->size() == 1);
    CHECK((*s)[0] == shard_for_key(def.sharding, value{"abc"}));
  }
  SECTION("in on id: at most its values' shards") {
    query_expr c;
    c.type = query_expr::kind::cond;
    c.path = "id";
    c.op = query_op::in;
    c.operand = value{array{"a", "b", "a"}};
    q.where.children.push_back(c);
    auto s = shards_for_query(def, q);
    REQUIRE(s);
    CHECK(s->size() <= 2);
  }
  SECTION("a condition inside an OR does not prune") {
    query_expr any;
    any.type = query_expr::kind::any;
    query_expr c;
    c.type = query_expr::kind::cond;
    c.path = "id";
    c.op = query_op::eq;
    c.operand = value{"abc"};
    any.children.push_back(c);
    q.where.children.push_back(any);
    CHECK_FALSE(shards_for_query(def, q));
  }
}

TEST_CASE("generated ids are unique and sort by creation time", "[actors][ids]") {
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i)
    ids.push_back(new_id());
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  CHECK(ids[0].size() == 26);
  auto t = id_time_ms(ids[0]);
  CHECK(std::abs(t - now_ms()) < 60000);
  CHECK(id_time_ms("not-an-id") == -1);
}
