#include <catch2/catch.hpp>

#include <limits>

#include "caf/scoped_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/coordinator.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// Users with posts, a profile and roles; posts with comments; comments with an author.
struct social : runtime_fixture {
  std::map<std::string, std::string> user_id; // name -> id
  std::vector<std::string> post_ids;

  social() {
    define("User", R"({"fields": {"name": {"type": "string"}},
      "relationships": {
        "posts": {"type": "hasMany", "model": "Post", "foreignKey": "authorId",
                  "orderBy": [["n", "desc"]], "limit": 2},
        "allPosts": {"type": "hasMany", "model": "Post", "foreignKey": "authorId"},
        "profile": {"type": "hasOne", "model": "Profile", "foreignKey": "userId"},
        "roles": {"type": "manyToMany", "model": "Role", "through": "UserRole",
                  "foreignKey": "roleId", "otherKey": "userId"},
        "badges": {"type": "hasMany", "model": "Badge", "foreignKey": "userId"}}})");
    define("Post", R"({"fields": {"title": {"type": "string"}, "n": {"type": "number"},
                                  "authorId": {"type": "string", "index": true}},
      "sharding": {"count": 4},
      "relationships": {
        "author": {"type": "belongsTo", "model": "User", "foreignKey": "authorId"},
        "comments": {"type": "hasMany", "model": "Comment", "foreignKey": "postId"}}})");
    define("Comment", R"({"fields": {"text": {"type": "string"}, "postId": {"type": "string"},
                                     "authorId": {"type": "string"}},
      "relationships": {"author": {"type": "belongsTo", "model": "User",
                                   "foreignKey": "authorId"}}})");
    define("Profile", R"({"fields": {"bio": {"type": "string"}}})"); // userId: a system field
    define("Role", R"({"fields": {"name": {"type": "string"}}})");
    define("UserRole", R"({"fields": {"roleId": {"type": "string"}}})");
    auto make = [&](const char* model, value doc) {
      auto r = rt->model(model).create(std::move(doc));
      if (!r)
        FAIL(message_of(r.error()));
      return r->find("id")->as_string();
    };
    for (auto name : {"ann", "ben", "cid"})
      user_id[name] = make("User", value{object{{"name", name}}});
    for (int i = 0; i < 3; ++i)
      post_ids.push_back(make("Post", value{object{{"title", "ann" + std::to_string(i)},
                                                   {"n", i},
                                                   {"authorId", user_id["ann"]}}}));
    post_ids.push_back(
        make("Post", value{object{{"title", "ben0"}, {"n", 0}, {"authorId", user_id["ben"]}}}));
    post_ids.push_back(make("Post", value{object{{"title", "orphan"}, {"n", 9}}}));
    make("Profile", value{object{{"bio", "ann's"}, {"userId", user_id["ann"]}}});
    auto admin = make("Role", value{object{{"name", "admin"}}});
    auto editor = make("Role", value{object{{"name", "editor"}}});
    make("UserRole", value{object{{"userId", user_id["ann"]}, {"roleId", admin}}});
    make("UserRole", value{object{{"userId", user_id["ann"]}, {"roleId", editor}}});
    make("UserRole", value{object{{"userId", user_id["ben"]}, {"roleId", editor}}});
    make("Comment",
         value{object{{"text", "nice"}, {"postId", post_ids[0]}, {"authorId", user_id["ben"]}}});
    make("Comment",
         value{object{{"text", "thanks"}, {"postId", post_ids[0]}, {"authorId", user_id["ann"]}}});
  }

  value user(const std::string& name, std::vector<std::string> with) {
    auto r = rt->model("User").get_with(user_id[name], std::move(with));
    if (!r)
      FAIL(message_of(r.error()));
    return *r;
  }
};

std::vector<std::string> names(const value& docs, const char* field) {
  std::vector<std::string> out;
  for (auto& d : docs.as_array())
    out.push_back(d.find(field)->as_string());
  return out;
}

} // namespace

TEST_CASE("belongsTo loads the referenced document, null for a missing key",
          "[actors][relations]") {
  social f;
  auto r = f.rt->model("Post").query().with("author").order_by("title").exec();
  REQUIRE(r);
  REQUIRE(r->docs.size() == 5);
  for (auto& d : r->docs) {
    auto& author = *d.find("author");
    if (d.find("title")->as_string() == "orphan")
      CHECK(author.is_null());
    else
      CHECK(author.find("name")->is_string());
  }
  CHECK(r->docs[0].find("author")->find("name")->as_string() == "ann");
  SECTION("a key naming no document is null too") {
    REQUIRE(f.rt->model("Post").update(f.post_ids[4], value{object{{"authorId", "ghost"}}}));
    auto doc = f.rt->model("Post").get_with(f.post_ids[4], {"author"});
    REQUIRE(doc);
    CHECK(doc->find("author")->is_null());
  }
}

TEST_CASE("hasMany follows the relation's order and limit; hasOne takes one",
          "[actors][relations]") {
  social f;
  auto ann = f.user("ann", {"posts", "allPosts", "profile"});
  CHECK(names(*ann.find("posts"), "title") == std::vector<std::string>{"ann2", "ann1"});
  CHECK(ann.find("allPosts")->as_array().size() == 3);
  CHECK(ann.find("profile")->find("bio")->as_string() == "ann's");
  auto cid = f.user("cid", {"posts", "profile"});
  CHECK(cid.find("posts")->as_array().empty());
  CHECK(cid.find("profile")->is_null());
}

TEST_CASE("manyToMany goes through the junction model", "[actors][relations]") {
  social f;
  auto ann = f.user("ann", {"roles"});
  auto roles = names(*ann.find("roles"), "name");
  std::sort(roles.begin(), roles.end());
  CHECK(roles == std::vector<std::string>{"admin", "editor"});
  CHECK(names(*f.user("ben", {"roles"}).find("roles"), "name") ==
        std::vector<std::string>{"editor"});
  CHECK(f.user("cid", {"roles"}).find("roles")->as_array().empty());
}

TEST_CASE("nested relations load two levels deep", "[actors][relations]") {
  social f;
  auto post = f.rt->model("Post").get_with(f.post_ids[0], {"comments.author", "author"});
  REQUIRE(post);
  auto& comments = post->find("comments")->as_array();
  REQUIRE(comments.size() == 2);
  std::vector<std::string> authors;
  for (auto& c : comments)
    authors.push_back(c.find("author")->find("name")->as_string());
  std::sort(authors.begin(), authors.end());
  CHECK(authors == std::vector<std::string>{"ann", "ben"});
  CHECK(post->find("author")->find("name")->as_string() == "ann");
}

TEST_CASE("eager loading for many parents issues one sub-query per relation",
          "[actors][relations]") {
  social f;
  auto r = f.rt->model("User").query().with("allPosts").with("profile").exec();
  REQUIRE(r);
  CHECK(r->docs.size() == 3);
  // One sub-query per relation for all three users (not one per user).
  CHECK(r->stats.relation_queries == 2);
  SECTION("manyToMany takes two: the junction, then the related documents") {
    f.rt->engine().relation_cache().clear();
    auto m2m = f.rt->model("User").query().with("roles").exec();
    REQUIRE(m2m);
    CHECK(m2m->stats.relation_queries == 2);
  }
}

TEST_CASE("unknown relations and relations to undefined models are errors", "[actors][relations]") {
  social f;
  auto bad = f.rt->model("User").query().with("friends").exec();
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::invalid_argument);
  CHECK_THAT(message_of(bad.error()), Catch::Contains("friends"));
  auto later = f.rt->model("User").get_with(f.user_id["ann"], {"badges"});
  REQUIRE_FALSE(later);
  CHECK(code_of(later.error()) == errc::invalid_argument);
  CHECK_THAT(message_of(later.error()), Catch::Contains("Badge"));
  SECTION("once the model is defined, the relation loads") {
    f.define("Badge", R"({"fields": {"label": {"type": "string"}}})");
    auto now = f.rt->model("User").get_with(f.user_id["ann"], {"badges"});
    REQUIRE(now);
    CHECK(now->find("badges")->as_array().empty());
  }
}

TEST_CASE("cached relations are served without a query until a write", "[actors][relations]") {
  social f;
  auto first = f.rt->model("User").query().where("name", "=", "ann").with("allPosts").exec();
  REQUIRE(first);
  CHECK(first->stats.relation_queries == 1);
  auto again = f.rt->model("User").query().where("name", "=", "ann").with("allPosts").exec();
  REQUIRE(again);
  CHECK(again->stats.relation_queries == 0);
  CHECK(again->docs[0].find("allPosts")->as_array().size() == 3);
  REQUIRE(f.rt->model("Post").create(
      value{object{{"title", "ann3"}, {"n", 3}, {"authorId", f.user_id["ann"]}}}));
  auto after = f.rt->model("User").query().where("name", "=", "ann").with("allPosts").exec();
  REQUIRE(after);
  CHECK(after->stats.relation_queries == 1);
  CHECK(after->docs[0].find("allPosts")->as_array().size() == 4);
}

TEST_CASE("queries asking for a cache are served from it until a write", "[actors][relations]") {
  social f;
  auto q = [&] { return f.rt->model("Post").query().where("n", ">=", 1).cache(60).exec(); };
  auto first = q();
  REQUIRE(first);
  CHECK_FALSE(first->stats.cached);
  auto second = q();
  REQUIRE(second);
  CHECK(second->stats.cached);
  CHECK(second->docs.size() == first->docs.size());
  REQUIRE(f.rt->model("Post").create(value{object{{"title", "new"}, {"n", 5}}}));
  auto third = q();
  REQUIRE(third);
  CHECK_FALSE(third->stats.cached);
  CHECK(third->docs.size() == first->docs.size() + 1);
  SECTION("a query without cache is never served from it") {
    auto plain = f.rt->model("Post").query().where("n", ">=", 1).exec();
    CHECK_FALSE(plain->stats.cached);
  }
  SECTION("the same query on another model is not served from this one's entry") {
    auto other = f.rt->model("User").query().where("n", ">=", 1).cache(60).exec();
    REQUIRE(other);
    CHECK_FALSE(other->stats.cached);
    for (auto& d : other->docs)
      CHECK(d.find("title") == nullptr); // no Post documents
    CHECK(other->docs.size() != third->docs.size());
  }
}

TEST_CASE("relations load lazily from the C++ API", "[actors][relations]") {
  social f;
  auto post = f.rt->model("Post").get(f.post_ids[3]);
  REQUIRE(post);
  auto author = f.rt->model("Post").related(*post, "author");
  REQUIRE(author);
  CHECK(author->find("name")->as_string() == "ben");
}

TEST_CASE("a relation's limit per parent is applied inside the partitions",
          "[actors][relations][memory]") {
  runtime_fixture f;
  f.define("Author", R"({"fields": {"name": {"type": "string"}},
    "relationships": {
      "latest": {"type": "hasMany", "model": "Entry", "foreignKey": "authorId",
                 "orderBy": [["n", "desc"]], "limit": 2},
      "first": {"type": "hasOne", "model": "Entry", "foreignKey": "authorId",
                "orderBy": [["n", "asc"]]}}})");
  f.define("Entry", R"({"fields": {"n": {"type": "number"},
                                  "authorId": {"type": "string", "index": true}},
    "sharding": {"count": 4}})");
  auto a = f.rt->model("Author").create(value{object{{"name", "prolific"}}});
  auto b = f.rt->model("Author").create(value{object{{"name", "quiet"}}});
  REQUIRE(a);
  REQUIRE(b);
  auto aid = a->find("id")->as_string();
  auto bid = b->find("id")->as_string();
  std::vector<value> entries;
  for (int i = 0; i < 3000; ++i)
    entries.emplace_back(object{{"n", i}, {"authorId", aid}});
  entries.emplace_back(object{{"n", 7}, {"authorId", bid}});
  REQUIRE(f.rt->model("Entry").create_batch(std::move(entries)));

  SECTION("each parent gets its best N, in the relation's order") {
    auto r = f.rt->model("Author").query().order_by("name").with("latest").with("first").exec();
    REQUIRE(r);
    REQUIRE(r->docs.size() == 2);
    CHECK(ints(r->docs[0].find("latest")->as_array(), "n") == std::vector<int64_t>{2999, 2998});
    CHECK(r->docs[0].find("first")->find("n")->as_int() == 0);
    CHECK(ints(r->docs[1].find("latest")->as_array(), "n") == std::vector<int64_t>{7});
    CHECK(r->docs[1].find("first")->find("n")->as_int() == 7);
    CHECK(r->stats.relation_queries == 2);
  }
  SECTION("a partition asked for a grouped query keeps N per group, not every match") {
    auto entry = f.rt->engine().find("Entry");
    REQUIRE(entry);
    caf::scoped_actor self{f.rt->system()};
    partition_query pq;
    pq.q.model = "Entry";
    pq.q.where.type = query_expr::kind::all;
    query_expr in;
    in.type = query_expr::kind::cond;
    in.path = "authorId";
    in.op = query_op::in;
    in.operand = value{array{aid, bid}};
    pq.q.where.children.push_back(in);
    pq.q.order_by.push_back(sort_key{"n", true});
    pq.k = std::numeric_limits<uint64_t>::max();
    pq.group_path = "authorId";
    pq.group_limit = 2;
    size_t hits = 0;
    for (auto& shard : (*entry)->shards)
      self->request(shard, std::chrono::seconds(20), pq)
          .receive(
              [&](partition_result& r) {
                CHECK(r.stats.examined >= 2); // it looked at its matches ...
                CHECK(r.hits.size() <= 3);    // ... and kept at most 2 + 1
                hits += r.hits.size();
              },
              [&](caf::error& err) { FAIL(message_of(err)); });
    CHECK(hits >= 3);
    CHECK(hits <= 12);
  }
  SECTION("a grouped query refuses what it cannot honour") {
    caf::scoped_actor self{f.rt->system()};
    auto entry = f.rt->engine().find("Entry");
    REQUIRE(entry);
    query q;
    q.model = "Entry";
    q.offset = 5;
    self->request(spawn_coordinator(f.rt->engine(), *entry), std::chrono::seconds(20),
                  grouped_query{q, "authorId", 2})
        .receive([&](query_result&) { FAIL("a grouped query with an offset answered"); },
                 [&](caf::error& err) { CHECK(code_of(err) == errc::invalid_argument); });
  }
}
