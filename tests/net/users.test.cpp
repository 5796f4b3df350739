// Users, user-scoped models and relations over HTTP (API.md "Users", `with`).
#include <chrono>
#include <thread>

#include "tests/net/e2e_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view author_model = R"({
  "fields": {"name": {"type": "string", "required": true}},
  "relationships": {
    "notes": {"type": "hasMany", "model": "Note", "foreignKey": "authorId"}
  }
})";

constexpr std::string_view note_model = R"({
  "scope": "user",
  "fields": {
    "text": {"type": "string", "required": true},
    "authorId": {"type": "string"},
    "isPublic": {"type": "boolean", "default": false, "index": "global"}
  },
  "relationships": {
    "author": {"type": "belongsTo", "model": "Author", "foreignKey": "authorId"}
  }
})";

std::vector<std::string> texts(const value& docs) {
  std::vector<std::string> out;
  for (auto& d : docs.as_array())
    out.push_back(d.find("text")->as_string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("users are registered, shown and counted per model", "[net][e2e][users]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  auto created = f.call("POST", "/v1/users", R"({"id": "alice"})");
  CHECK(created.status == 201);
  CHECK(created.body.find("id")->as_string() == "alice");
  CHECK(created.body.find("createdAt")->is_int());
  CHECK(f.call("POST", "/v1/users", R"({"id": "alice"})").status == 200);

  REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "alice", "text": "a"})").status ==
          201);
  REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "alice", "text": "b"})").status ==
          201);
  auto shown = f.call("GET", "/v1/users/alice");
  CHECK(shown.status == 200);
  CHECK(shown.body.find_path("models.Note.documents")->as_int() == 2);

  SECTION("writing for an unknown user creates them") {
    REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "bob", "text": "c"})").status ==
            201);
    auto bob = f.call("GET", "/v1/users/bob");
    CHECK(bob.status == 200);
    CHECK(bob.body.find_path("models.Note.documents")->as_int() == 1);
  }
  SECTION("unknown users are 404, bad bodies 400") {
    auto missing = f.call("GET", "/v1/users/nobody");
    CHECK(missing.status == 404);
    CHECK(f.code(missing) == "not_found");
    CHECK(f.call("POST", "/v1/users", R"({"id": 7})").status == 400);
    CHECK(f.call("POST", "/v1/users", R"({"name": "x"})").status == 400);
    CHECK(f.call("POST", "/v1/users", "{\"id\": ").status == 400);
  }
  SECTION("a user-scoped document without its owner is a 422") {
    auto r = f.call("POST", "/v1/models/Note/docs", R"({"text": "orphan"})");
    CHECK(r.status == 422);
    CHECK(f.code(r) == "validation_failed");
  }
}

TEST_CASE("user tokens register only themselves and write only their own documents",
          "[net][e2e][users]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  auto alice = f.client(f.token_for("alice"));
  CHECK(f.call(alice, "POST", "/v1/users", R"({"id": "alice"})").status == 201);
  auto other = f.call(alice, "POST", "/v1/users", R"({"id": "mallory"})");
  CHECK(other.status == 403);
  CHECK(f.call("GET", "/v1/users/mallory").status == 404);

  auto own = f.call(alice, "POST", "/v1/models/Note/docs", R"({"userId": "alice", "text": "x"})");
  CHECK(own.status == 201);
  auto theirs = f.call(alice, "POST", "/v1/models/Note/docs", R"({"userId": "bob", "text": "y"})");
  CHECK(theirs.status == 403);
  CHECK(f.call("GET", "/v1/users/bob").status == 404);
  // Reading is allowed: the document is found by id alone.
  auto id = own.body.find("id")->as_string();
  auto read = f.call(alice, "GET", "/v1/models/Note/docs/" + id);
  CHECK(read.status == 200);
  CHECK(read.body.find("userId")->as_string() == "alice");
}

TEST_CASE("userIn and global-index queries over HTTP", "[net][e2e][users]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  for (auto user : {"alice", "bob", "carol"})
    for (int i = 0; i < 3; ++i) {
      auto body = to_json(value{object{{"userId", user},
                                       {"text", std::string{user} + std::to_string(i)},
                                       {"isPublic", i == 0}}});
      REQUIRE(f.call("POST", "/v1/models/Note/docs", body).status == 201);
    }

  auto some = f.call("POST", "/v1/models/Note/query",
                     R"({"userIn": ["alice", "carol", "nobody"], "withTotal": true})");
  REQUIRE(some.status == 200);
  CHECK(some.body.find("total")->as_int() == 6);
  CHECK(texts(*some.body.find("docs")) ==
        std::vector<std::string>{"alice0", "alice1", "alice2", "carol0", "carol1", "carol2"});

  auto pub = f.call("POST", "/v1/models/Note/query",
                    R"({"where": [["isPublic", "=", true]], "orderBy": [["createdAt", "desc"]]})");
  REQUIRE(pub.status == 200);
  CHECK(texts(*pub.body.find("docs")) == std::vector<std::string>{"alice0", "bob0", "carol0"});
  // Newest first (notes of one millisecond come in id order, descending like createdAt).
  auto& docs = pub.body.find("docs")->as_array();
  for (size_t i = 1; i < docs.size(); ++i) {
    auto newer = docs[i - 1].find("createdAt")->as_int(),
         older = docs[i].find("createdAt")->as_int();
    CHECK(newer >= older);
    if (newer == older)
      CHECK(docs[i - 1].find("id")->as_string() > docs[i].find("id")->as_string());
  }

  auto all = f.call("POST", "/v1/models/Note/query", R"({"aggregate": {"fn": "count"}})");
  REQUIRE(all.status == 200);
  CHECK(all.body.find("value")->as_int() == 9);

  auto bad = f.call("POST", "/v1/models/Note/query", R"({"userIn": "alice"})");
  CHECK(bad.status == 400);
}

TEST_CASE("relations are embedded with ?with= and in queries", "[net][e2e][users]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Author", author_model).status == 201);
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  auto ann = f.call("POST", "/v1/models/Author/docs", R"({"name": "Ann"})");
  REQUIRE(ann.status == 201);
  auto ann_id = ann.body.find("id")->as_string();
  std::string note_id;
  for (int i = 0; i < 2; ++i) {
    auto body = to_json(value{
        object{{"userId", "alice"}, {"text", "n" + std::to_string(i)}, {"authorId", ann_id}}});
    auto r = f.call("POST", "/v1/models/Note/docs", body);
    REQUIRE(r.status == 201);
    note_id = r.body.find("id")->as_string();
  }
  REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "bob", "text": "lonely"})").status ==
          201);

  SECTION("belongsTo on a document") {
    auto r = f.call("GET", "/v1/models/Note/docs/" + note_id + "?with=author");
    REQUIRE(r.status == 200);
    CHECK(r.body.find_path("author.name")->as_string() == "Ann");
    CHECK(r.body.find("text")->as_string() == "n1");
  }
  SECTION("hasMany on a document, several relations separated by commas") {
    auto r = f.call("GET", "/v1/models/Author/docs/" + ann_id + "?with=notes,notes");
    REQUIRE(r.status == 200);
    CHECK(texts(*r.body.find("notes")) == std::vector<std::string>{"n0", "n1"});
  }
  SECTION("in a query, a missing target is null") {
    auto r = f.call("POST", "/v1/models/Note/query", R"({"with": ["author"]})");
    REQUIRE(r.status == 200);
    auto& docs = r.body.find("docs")->as_array();
    REQUIRE(docs.size() == 3);
    for (auto& d : docs) {
      auto* author = d.find("author");
      REQUIRE(author != nullptr);
      if (d.find("text")->as_string() == "lonely")
        CHECK(author->is_null());
      else
        CHECK(author->find("name")->as_string() == "Ann");
    }
  }
  SECTION("unknown relations are 400") {
    auto r = f.call("GET", "/v1/models/Note/docs/" + note_id + "?with=editor");
    CHECK(r.status == 400);
    CHECK_THAT(r.body.find_path("error.message")->as_string(), Catch::Contains("editor"));
    CHECK(f.call("POST", "/v1/models/Note/query", R"({"with": ["editor"]})").status == 400);
    CHECK(f.call("POST", "/v1/models/Note/query", R"({"with": "author"})").status == 400);
  }
}

TEST_CASE("the node's cache and user-database options take effect", "[net][e2e][users]") {
  constexpr std::string_view cached_query =
      R"({"where": [["isPublic", "=", false]], "cache": 300})";
  SECTION("query results are cached by default") {
    e2e_fixture f;
    REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
    REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "a", "text": "x"})").status ==
            201);
    for (int i = 0; i < 3; ++i)
      REQUIRE(f.call("POST", "/v1/models/Note/query", cached_query).status == 200);
    CHECK(f.metric("debros_query_cache_hits_total") == 2);
    CHECK(f.metric("debros_query_cache_entries") == 1);
  }
  SECTION("--query-cache-entries 0 caches nothing") {
    e2e_fixture f({"--query-cache-entries", "0"});
    REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
    REQUIRE(f.call("POST", "/v1/models/Note/docs", R"({"userId": "a", "text": "x"})").status ==
            201);
    for (int i = 0; i < 3; ++i) {
      auto r = f.call("POST", "/v1/models/Note/query", cached_query);
      REQUIRE(r.status == 200);
      CHECK(r.body.find("docs")->as_array().size() == 1);
    }
    CHECK(f.metric("debros_query_cache_hits_total") == 0);
    CHECK(f.metric("debros_query_cache_entries") == 0);
  }
  SECTION("--user-db-live-max bounds the live user databases") {
    e2e_fixture f({"--user-db-live-max", "4"});
    REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
    for (int u = 0; u < 20; ++u) {
      auto body = to_json(value{object{{"userId", "u" + std::to_string(u)}, {"text", "x"}}});
      REQUIRE(f.call("POST", "/v1/models/Note/docs", body).status == 201);
    }
    // Passivation follows the reply of the operation that ends a database's use: give the
    // host a moment to catch up on a loaded machine.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((f.metric("debros_user_databases_live") > 4 ||
            f.metric("debros_user_databases_passivations_total") < 16) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(f.metric("debros_user_databases_live") <= 4);
    CHECK(f.metric("debros_user_databases_passivations_total") >= 16);
    auto all = f.call("POST", "/v1/models/Note/query", R"({"aggregate": {"fn": "count"}})");
    CHECK(all.body.find("value")->as_int() == 20);
  }
}
