#include <catch2/catch.hpp>

#include <limits>

#include "actors/placement.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view user_model = R"({
  "fields": {
    "username": {"type": "string", "required": true, "unique": true, "minLength": 3,
                 "transform": "trim"},
    "email": {"type": "string", "required": true, "pattern": "^[^@]+@[^@]+$",
              "transform": "lowercase"},
    "score": {"type": "number", "default": 0, "min": 0},
    "tags": {"type": "array", "default": []},
    "isActive": {"type": "boolean", "default": true, "index": true}
  },
  "sharding": {"strategy": "hash", "count": 4, "key": "id"}
})";

} // namespace

TEST_CASE("a created document gets an id, timestamps, defaults and transforms",
          "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  auto doc = users.create(f.doc(R"({"username": "  alice ", "email": "Alice@Example.COM"})"));
  REQUIRE(doc);
  CHECK(doc->find("id")->as_string().size() == 26);
  CHECK(doc->find("createdAt")->is_int());
  CHECK(*doc->find("createdAt") == *doc->find("updatedAt"));
  CHECK(doc->find("username")->as_string() == "alice");
  CHECK(doc->find("email")->as_string() == "alice@example.com");
  CHECK(doc->find("score")->as_int() == 0);
  CHECK(doc->find("isActive")->as_bool());
  SECTION("and reads back as stored") {
    auto got = users.get(doc->find("id")->as_string());
    REQUIRE(got);
    CHECK(*got == *doc);
  }
  SECTION("a supplied id is kept") {
    auto bob = users.create(f.doc(R"({"id": "bob-1", "username": "bob", "email": "b@x.io"})"));
    REQUIRE(bob);
    CHECK(bob->find("id")->as_string() == "bob-1");
    CHECK(users.get("bob-1"));
  }
}

TEST_CASE("a document that fails validation is refused whole and changes nothing",
          "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  auto bad = users.create(f.doc(R"({"username": "al", "email": "nope", "score": -1, "x": 1})"));
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::validation_failed);
  auto details = details_of(bad.error());
  std::vector<std::string> fields;
  for (auto& d : details)
    fields.push_back(d.field);
  CHECK_THAT(fields, Catch::Matchers::UnorderedEquals(
                         std::vector<std::string>{"username", "email", "score", "x"}));
  CHECK(*users.count() == 0);
  SECTION("a missing required field names the field") {
    auto r = users.create(f.doc(R"({"email": "a@b.c"})"));
    REQUIRE_FALSE(r);
    REQUIRE(details_of(r.error()).size() == 1);
    CHECK(details_of(r.error())[0].message == "username is required");
  }
  SECTION("a non-object is invalid") {
    auto r = users.create(value{array{1}});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
}

TEST_CASE("updates merge or replace and keep the system fields", "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  auto doc = *users.create(f.doc(R"({"username": "carol", "email": "c@x.io", "score": 5})"));
  auto id = doc.find("id")->as_string();
  SECTION("patch merges, null removes") {
    auto r = users.update(id, f.doc(R"({"score": 9, "tags": null})"));
    REQUIRE(r);
    CHECK(r->find("score")->as_int() == 9);
    CHECK(r->find("username")->as_string() == "carol");
    CHECK(r->find("tags") == nullptr);
    CHECK(*r->find("createdAt") == *doc.find("createdAt"));
    CHECK(r->find("updatedAt")->as_int() >= doc.find("updatedAt")->as_int());
    CHECK(*users.get(id) == *r);
  }
  SECTION("put replaces the fields, defaults fill the rest") {
    auto r = users.replace(id, f.doc(R"({"username": "carol2", "email": "c2@x.io"})"));
    REQUIRE(r);
    CHECK(r->find("score")->as_int() == 0);
    CHECK(r->find("id")->as_string() == id);
  }
  SECTION("an invalid update changes nothing") {
    auto r = users.update(id, f.doc(R"({"score": -3})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::validation_failed);
    CHECK(users.get(id)->find("score")->as_int() == 5);
  }
  SECTION("the id cannot change") {
    auto r = users.update(id, f.doc(R"({"id": "other"})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
  SECTION("unknown documents are not found") {
    auto r = users.update("missing", f.doc(R"({"score": 1})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::not_found);
  }
}

TEST_CASE("deletes remove the document and its index entries", "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  auto doc = *users.create(f.doc(R"({"username": "dave", "email": "d@x.io", "isActive": false})"));
  auto id = doc.find("id")->as_string();
  REQUIRE_FALSE(users.remove(id));
  CHECK(code_of(users.get(id).error()) == errc::not_found);
  CHECK(code_of(users.remove(id)) == errc::not_found);
  CHECK(*users.query().where("isActive", "=", false).count() == 0);
  SECTION("a deleted unique value is free again") {
    CHECK(users.create(f.doc(R"({"username": "dave", "email": "d2@x.io"})")));
  }
}

TEST_CASE("unique values are refused across shards", "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  REQUIRE(users.create(f.doc(R"({"username": "erin", "email": "e@x.io"})")));
  // Different ids land on different shards; the unique index is one for the model.
  for (int i = 0; i < 8; ++i) {
    auto r = users.create(
        f.doc(R"({"id": "e)" + std::to_string(i) + R"(", "username": "erin", "email": "e@y.io"})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
    CHECK_THAT(message_of(r.error()), Catch::Contains("username"));
  }
  SECTION("an update may not take a used value either") {
    auto other = *users.create(f.doc(R"({"username": "frank", "email": "f@x.io"})"));
    auto r = users.update(other.find("id")->as_string(), f.doc(R"({"username": "erin"})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
    CHECK(users.get(other.find("id")->as_string())->find("username")->as_string() == "frank");
  }
  SECTION("a duplicate id is a conflict") {
    REQUIRE(users.create(f.doc(R"({"id": "same", "username": "gg1", "email": "g@x.io"})")));
    auto r = users.create(f.doc(R"({"id": "same", "username": "gg2", "email": "g@x.io"})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
  }
}

TEST_CASE("batch creates are all or nothing", "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  SECTION("all valid: every id, in order") {
    std::vector<value> docs;
    for (int i = 0; i < 50; ++i)
      docs.push_back(
          f.doc(R"({"username": "user)" + std::to_string(i) + R"(", "email": "u@x.io"})"));
    auto ids = users.create_batch(docs);
    REQUIRE(ids);
    CHECK(ids->size() == 50);
    CHECK(*users.count() == 50);
    CHECK(users.get((*ids)[49])->find("username")->as_string() == "user49");
  }
  SECTION("one invalid document: nothing written, the failure named") {
    std::vector<value> docs{f.doc(R"({"username": "okay1", "email": "a@b.c"})"),
                            f.doc(R"({"username": "x", "email": "a@b.c"})")};
    auto r = users.create_batch(docs);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::validation_failed);
    CHECK(details_of(r.error())[0].field == "docs[1].username");
    CHECK_THAT(message_of(r.error()), Catch::StartsWith("1 problem(s) in the batch"));
    CHECK(*users.count() == 0);
  }
  SECTION("a unique clash inside the batch: nothing written") {
    std::vector<value> docs{f.doc(R"({"username": "twin", "email": "a@b.c"})"),
                            f.doc(R"({"username": "solo", "email": "a@b.c"})"),
                            f.doc(R"({"username": "twin", "email": "a@b.c"})")};
    auto r = users.create_batch(docs);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
    CHECK(*users.count() == 0);
  }
}

TEST_CASE("C++ hooks and validators shape and refuse writes", "[actors][documents]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"title": {"type": "string", "required": true},
                                  "slug": {"type": "string"}}})");
  std::vector<std::string> seen;
  REQUIRE_FALSE(f.rt->add_hook(
      "Post", hook_point::before_create, before_hook{[](value& doc) {
        auto& title = doc.find("title")->as_string();
        std::string slug;
        for (char c : title)
          slug += c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        doc.as_object().set("slug", slug);
        return caf::error{};
      }}));
  REQUIRE_FALSE(f.rt->add_hook("Post", hook_point::before_update, before_hook{[](value& doc) {
                                 if (doc.find("title")->as_string() == "locked")
                                   return make_error(errc::forbidden, "this title is locked");
                                 return caf::error{};
                               }}));
  REQUIRE_FALSE(f.rt->add_hook("Post", hook_point::after_create, after_hook{[&](const value& doc) {
                                 seen.push_back(doc.find("slug")->as_string());
                               }}));
  REQUIRE_FALSE(f.rt->add_validator("Post", "title", [](const value& v, const value&) {
    return v.is_string() && v.as_string().find('!') != std::string::npos
               ? std::optional<std::string>{"title must not shout"}
               : std::nullopt;
  }));
  auto posts = f.rt->model("Post");
  auto doc = posts.create(f.doc(R"({"title": "Hello World"})"));
  REQUIRE(doc);
  CHECK(doc->find("slug")->as_string() == "hello-world");
  CHECK(seen == std::vector<std::string>{"hello-world"});
  SECTION("a before-hook refuses an update") {
    auto r = posts.update(doc->find("id")->as_string(), f.doc(R"({"title": "locked"})"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::forbidden);
  }
  SECTION("a custom validator refuses with its message") {
    auto r = posts.create(f.doc(R"({"title": "Hi!"})"));
    REQUIRE_FALSE(r);
    REQUIRE(details_of(r.error()).size() == 1);
    CHECK(details_of(r.error())[0].message == "title must not shout");
  }
  SECTION("a throwing hook fails the write, not the shard") {
    REQUIRE_FALSE(f.rt->add_hook(
        "Post", hook_point::before_delete,
        before_hook{[](value&) -> caf::error { throw std::runtime_error("boom"); }}));
    auto r = posts.remove(doc->find("id")->as_string());
    CHECK(code_of(r) == errc::internal);
    CHECK_THAT(message_of(r), Catch::Contains("boom"));
    CHECK(posts.get(doc->find("id")->as_string()));
    CHECK(posts.create(f.doc(R"({"title": "still alive"})")));
  }
  SECTION("hooks need a known model and the right hook point") {
    CHECK(code_of(f.rt->add_hook("Nope", hook_point::after_create, after_hook{})) ==
          errc::not_found);
    CHECK(code_of(f.rt->add_hook("Post", hook_point::after_create, before_hook{})) ==
          errc::invalid_argument);
  }
}

TEST_CASE("before-hooks see transforms and defaults applied", "[actors][documents]") {
  runtime_fixture f;
  f.define("Tagged", R"({"fields": {"name": {"type": "string", "transform": "uppercase"},
                                    "tags": {"type": "array", "default": []}}})");
  REQUIRE_FALSE(f.rt->add_hook("Tagged", hook_point::before_create, before_hook{[](value& doc) {
                                 auto& tags = doc.as_object()["tags"];
                                 if (!tags.is_array())
                                   return make_error(errc::internal,
                                                     "the default was not applied before the hook");
                                 tags.as_array().emplace_back(doc.find("name")->as_string());
                                 return caf::error{};
                               }}));
  auto r = f.rt->model("Tagged").create(f.doc(R"({"name": "abc"})"));
  REQUIRE(r);
  CHECK(*r->find("tags") == value{array{"ABC"}});
}

TEST_CASE("store types: keyvalue upserts, eventlog appends, counters count",
          "[actors][documents]") {
  runtime_fixture f;
  SECTION("keyvalue: writing a key again replaces its value") {
    f.define("Setting", R"({"type": "keyvalue", "fields": {"v": {"type": "string"}}})");
    auto kv = f.rt->model("Setting");
    REQUIRE(kv.create(f.doc(R"({"id": "theme", "v": "dark"})")));
    auto again = kv.create(f.doc(R"({"id": "theme", "v": "light"})"));
    REQUIRE(again);
    CHECK(kv.get("theme")->find("v")->as_string() == "light");
    CHECK(*kv.count() == 1);
  }
  SECTION("eventlog: no updates, deletes leave tombstones, ids are not reused") {
    f.define("Event", R"({"type": "eventlog", "fields": {"what": {"type": "string"}}})");
    auto log = f.rt->model("Event");
    REQUIRE(log.create(f.doc(R"({"id": "e1", "what": "login"})")));
    auto upd = log.update("e1", f.doc(R"({"what": "logout"})"));
    REQUIRE_FALSE(upd);
    CHECK(code_of(upd.error()) == errc::invalid_argument);
    REQUIRE_FALSE(log.remove("e1"));
    CHECK(code_of(log.get("e1").error()) == errc::not_found);
    auto again = log.create(f.doc(R"({"id": "e1", "what": "again"})"));
    REQUIRE_FALSE(again);
    CHECK(code_of(again.error()) == errc::conflict);
  }
  SECTION("counter: the first increment creates it, updates are refused") {
    f.define("Hits", R"({"type": "counter", "fields": {"n": {"type": "number", "default": 0}}})");
    auto hits = f.rt->model("Hits");
    auto v = hits.increment("home", "n", value{3});
    REQUIRE(v);
    CHECK(v->as_int() == 3);
    CHECK(hits.increment("home", "n")->as_int() == 4);
    CHECK(code_of(hits.update("home", f.doc(R"({"n": 0})")).error()) == errc::invalid_argument);
    // An exact count stays exact: past the int64 range is refused and changes nothing.
    REQUIRE(hits.increment("big", "n", value{std::numeric_limits<int64_t>::max() - 1}));
    auto past = hits.increment("big", "n", value{2});
    REQUIRE_FALSE(past);
    CHECK(code_of(past.error()) == errc::invalid_argument);
    CHECK_THAT(message_of(past.error()), Catch::Contains("64-bit"));
    auto stored = hits.get("big");
    REQUIRE(stored);
    CHECK(stored->find("n")->is_int());
    CHECK(stored->find("n")->as_int() == std::numeric_limits<int64_t>::max() - 1);
    CHECK(hits.increment("big", "n", value{1})->as_int() == std::numeric_limits<int64_t>::max());
    auto below = hits.increment("low", "n", value{std::numeric_limits<int64_t>::min()});
    REQUIRE(below);
    CHECK_FALSE(hits.increment("low", "n", value{-1}));
  }
  SECTION("eventlog and feed documents cannot be incremented") {
    f.define("Log", R"({"type": "eventlog", "fields": {"n": {"type": "number"}}})");
    f.define("Posts", R"({"type": "feed", "fields": {"n": {"type": "number"}}})");
    for (auto model : {"Log", "Posts"}) {
      auto m = f.rt->model(model);
      REQUIRE(m.create(f.doc(R"({"id": "e", "n": 1})")));
      auto r = m.increment("e", "n");
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
      CHECK(m.get("e")->find("n")->as_int() == 1);
    }
  }
  SECTION("feed: no updates, deletes remove") {
    f.define("Feed", R"({"type": "feed", "fields": {"text": {"type": "string"}}})");
    auto feed = f.rt->model("Feed");
    REQUIRE(feed.create(f.doc(R"({"id": "f1", "text": "hi"})")));
    CHECK_FALSE(feed.update("f1", f.doc(R"({"text": "x"})")));
    REQUIRE_FALSE(feed.remove("f1"));
    CHECK(feed.create(f.doc(R"({"id": "f1", "text": "again"})")));
  }
}

TEST_CASE("documents sharded by a field: defaults place them, ids stay unique across shards",
          "[actors][documents]") {
  runtime_fixture f;
  f.define("Visit", R"({"fields": {
      "region": {"type": "string", "default": "EU", "transform": "lowercase"},
      "n": {"type": "number"}},
    "sharding": {"strategy": "hash", "count": 8, "key": "region"}})");
  auto visits = f.rt->model("Visit");
  SECTION("a missing shard key is placed by its default, which is stored transformed") {
    auto d = visits.create(f.doc(R"({"id": "v1", "n": 1})"));
    REQUIRE(d);
    CHECK(d->find("region")->as_string() == "eu");
    auto ids = visits.create_batch(
        {f.doc(R"({"id": "v2", "n": 2})"), f.doc(R"({"id": "v3", "region": "US", "n": 3})")});
    REQUIRE(ids);
    auto eu = visits.query().where("region", "=", "eu").exec();
    REQUIRE(eu);
    CHECK(eu->stats.partitions == 1);
    CHECK(column(eu->docs, "id") == std::vector<value>{value{"v1"}, value{"v2"}});
    auto def = f.rt->engine().find("Visit");
    REQUIRE(def);
    CHECK(*(*def)->def().find_field("region")->default_value == value{"eu"});
  }
  SECTION("an id is unique across shards, found by id alone, and free again after a delete") {
    REQUIRE(visits.create(f.doc(R"({"id": "x", "region": "eu"})")));
    auto twice = visits.create(f.doc(R"({"id": "x", "region": "us"})"));
    REQUIRE_FALSE(twice);
    CHECK(code_of(twice.error()) == errc::conflict);
    auto in_batch = visits.create_batch(
        {f.doc(R"({"id": "y", "region": "asia"})"), f.doc(R"({"id": "x", "region": "africa"})")});
    REQUIRE_FALSE(in_batch);
    CHECK(code_of(in_batch.error()) == errc::conflict);
    CHECK(code_of(visits.get("y").error()) == errc::not_found);
    CHECK(visits.get("x")->find("region")->as_string() == "eu");
    REQUIRE_FALSE(visits.remove("x"));
    CHECK(code_of(visits.get("x").error()) == errc::not_found);
    REQUIRE(visits.create(f.doc(R"({"id": "x", "region": "us"})")));
    CHECK(visits.get("x")->find("region")->as_string() == "us");
    CHECK(*visits.count() == 1);
  }
}

TEST_CASE("what before-hooks change is checked like any write", "[actors][documents]") {
  runtime_fixture f;
  f.define("Item", R"({"fields": {"n": {"type": "number", "max": 10}, "k": {"type": "string"}},
    "sharding": {"strategy": "hash", "count": 4, "key": "k"}})");
  auto items = f.rt->model("Item");
  REQUIRE(items.create(f.doc(R"({"id": "a", "n": 1, "k": "x"})")));
  SECTION("an update hook that removes or changes the id") {
    REQUIRE_FALSE(f.rt->add_hook("Item", hook_point::before_update, before_hook{[](value& doc) {
                                   if (doc.find("n")->as_int() == 2)
                                     doc.as_object().erase("id");
                                   else
                                     doc.as_object().set("id", "other");
                                   return caf::error{};
                                 }}));
    for (auto fields : {R"({"n": 2})", R"({"n": 3})"}) {
      auto r = items.update("a", f.doc(fields));
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
      CHECK_THAT(message_of(r.error()), Catch::Contains("changed the id"));
    }
    CHECK(items.get("a")->find("n")->as_int() == 1);
  }
  SECTION("an increment whose hook breaks a rule or moves the document") {
    bool move = false;
    // A shard key on another shard than "x".
    auto& sharding = (*f.rt->engine().find("Item"))->def().sharding;
    std::string elsewhere = "y";
    while (shard_for_key(sharding, value{elsewhere}) == shard_for_key(sharding, value{"x"}))
      elsewhere += "y";
    REQUIRE_FALSE(f.rt->add_hook("Item", hook_point::before_update, before_hook{[&](value& doc) {
                                   if (move)
                                     doc.as_object().set("k", elsewhere);
                                   else
                                     doc.as_object().set("n", 50);
                                   return caf::error{};
                                 }}));
    auto broken = items.increment("a", "n");
    REQUIRE_FALSE(broken);
    CHECK(code_of(broken.error()) == errc::validation_failed);
    move = true;
    auto moved = items.increment("a", "n");
    REQUIRE_FALSE(moved);
    CHECK(code_of(moved.error()) == errc::invalid_argument);
    CHECK_THAT(message_of(moved.error()), Catch::Contains("shard key"));
    auto a = items.get("a");
    CHECK(a->find("n")->as_int() == 1);
    CHECK(a->find("k")->as_string() == "x");
  }
  SECTION("a batch whose hook changes the id or the shard key") {
    REQUIRE_FALSE(f.rt->add_hook("Item", hook_point::before_create, before_hook{[](value& doc) {
                                   if (doc.find("n")->as_int() == 5)
                                     doc.as_object().set("id", "renamed");
                                   if (doc.find("n")->as_int() == 6)
                                     doc.as_object().set("k", "moved");
                                   return caf::error{};
                                 }}));
    for (auto doc : {R"({"id": "b", "n": 5, "k": "x"})", R"({"id": "c", "n": 6, "k": "x"})"}) {
      auto r = items.create_batch({f.doc(doc)});
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::validation_failed);
      CHECK_THAT(details_of(r.error()).at(0).message,
                 Catch::Contains("changed the id") || Catch::Contains("cannot change"));
    }
    CHECK(*items.count() == 1);
  }
}

TEST_CASE("definitions built in C++ meet the rules of JSON ones", "[actors][documents]") {
  runtime_fixture f;
  model_def bad;
  bad.name = "Bad";
  bad.sharding.count = 0;
  auto r = f.rt->define(bad);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::invalid_argument);
  CHECK_THAT(message_of(r.error()), Catch::Contains("sharding.count"));
  bad.sharding.count = 2;
  bad.sharding.key = "missing";
  CHECK_FALSE(f.rt->define(bad));
  model_def good;
  good.name = "Good";
  good.sharding.count = 3;
  field_def n;
  n.name = "n";
  n.type = field_type::number;
  good.fields.push_back(n);
  REQUIRE(f.rt->define(good));
  f.restart();
  CHECK(f.rt->model("Good").create(f.doc(R"({"n": 1})")));
  CHECK(code_of(f.rt->engine().find("Bad").error()) == errc::not_found);
}

TEST_CASE("documents, models and indexes survive a restart of the runtime", "[actors][documents]") {
  runtime_fixture f;
  f.define("User", user_model);
  std::string id;
  {
    auto users = f.rt->model("User");
    for (int i = 0; i < 40; ++i)
      REQUIRE(users.create(f.doc(R"({"username": "nn)" + std::to_string(i) +
                                 R"(", "email": "n@x.io", "isActive": )" +
                                 (i % 4 == 0 ? "false" : "true") + "}")));
    id = users.query().where("username", "=", "nn7").first()->value().find("id")->as_string();
  }
  f.restart();
  auto users = f.rt->model("User");
  CHECK(f.rt->find_model("User"));
  CHECK(*users.count() == 40);
  CHECK(users.get(id)->find("username")->as_string() == "nn7");
  auto inactive = users.query().where("isActive", "=", false).exec();
  REQUIRE(inactive);
  CHECK(inactive->docs.size() == 10);
  CHECK(inactive->stats.indexed_partitions == 4);
  auto dup = users.create(f.doc(R"({"username": "nn3", "email": "x@y.z"})"));
  REQUIRE_FALSE(dup);
  CHECK(code_of(dup.error()) == errc::conflict);
  SECTION("the same definition is accepted again, a different one refused") {
    bool created = true;
    CHECK(f.rt->define_json("User", user_model, &created));
    CHECK_FALSE(created);
    auto other = f.rt->define_json("User", R"({"fields": {"x": {"type": "string"}}})");
    REQUIRE_FALSE(other);
    CHECK(code_of(other.error()) == errc::conflict);
  }
}

TEST_CASE("documents map to C++ structs", "[actors][documents]") {
  struct user {
    std::string id;
    std::string username;
    std::string email;
    double score = 0;
    std::vector<std::string> tags;
    std::optional<bool> active;
  };
  auto m = mapping<user>{}
               .field("id", &user::id)
               .field("username", &user::username)
               .field("email", &user::email)
               .field("score", &user::score)
               .field("tags", &user::tags)
               .field("isActive", &user::active);
  runtime_fixture f;
  f.define("User", user_model);
  auto users = f.rt->model("User");
  user u;
  u.username = "gina";
  u.email = "g@x.io";
  u.score = 2.5;
  u.tags = {"a", "b"};
  auto created = users.create_as(u, m);
  if (!created)
    FAIL(message_of(created.error()));
  CHECK(created->id.size() == 26);
  CHECK(created->active == true);
  auto back = users.get_as(created->id, m);
  REQUIRE(back);
  CHECK(back->tags == std::vector<std::string>{"a", "b"});
  CHECK(back->score == 2.5);
  auto all = users.query().exec_as(m);
  REQUIRE(all);
  CHECK(all->size() == 1);
  SECTION("a field of the wrong type is an error naming it") {
    auto bad = mapping<user>{}.field("username", &user::score).from(*users.get(created->id));
    REQUIRE_FALSE(bad);
    CHECK_THAT(message_of(bad.error()), Catch::Contains("username"));
  }
}
