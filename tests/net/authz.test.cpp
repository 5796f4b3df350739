// Authorization of user tokens against a real node (issue 8 items 6, 7, 8 and 10): ownership
// is checked where a write is applied, creates never take over documents, counters belong to
// their creator, and each model's read policy decides who sees which documents.
#include <atomic>
#include <thread>

#include "tests/net/e2e_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

std::string id_of(const net::json_response& r) {
  auto* id = r.body.find("id");
  REQUIRE(id != nullptr);
  return id->as_string();
}

std::vector<std::string> ids_of(const net::json_response& r) {
  std::vector<std::string> out;
  auto* docs = r.body.find("docs");
  REQUIRE(docs != nullptr);
  for (auto& d : docs->as_array())
    out.push_back(d.find("id")->as_string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("a create never replaces a document the caller does not own", "[net][e2e][authz]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Setting", R"({"type": "keyvalue", "access": "users",
            "fields": {"value": {"type": "string"}}})")
              .status == 201);
  REQUIRE(
      f.call("POST", "/v1/models/Setting/docs", R"({"id": "motd", "value": "admin's"})").status ==
      201);
  auto alice = f.client(f.token_for("alice"));
  auto bob = f.client(f.token_for("bob"));
  // The admin's document: a user's create with its id is refused and changes nothing.
  auto r = f.call(alice, "POST", "/v1/models/Setting/docs", R"({"id": "motd", "value": "mine"})");
  CHECK(r.status == 403);
  CHECK(f.code(r) == "forbidden");
  auto stored = f.call("GET", "/v1/models/Setting/docs/motd");
  REQUIRE(stored.status == 200);
  CHECK(stored.body.find("value")->as_string() == "admin's");
  CHECK(stored.body.find("userId") == nullptr);
  // Another user's document likewise; the owner replaces its own value.
  REQUIRE(f.call(alice, "POST", "/v1/models/Setting/docs", R"({"id": "a", "value": "1"})").status ==
          201);
  CHECK(f.call(bob, "POST", "/v1/models/Setting/docs", R"({"id": "a", "value": "2"})").status ==
        403);
  auto again = f.call(alice, "POST", "/v1/models/Setting/docs", R"({"id": "a", "value": "3"})");
  CHECK(again.status / 100 == 2);
  auto a = f.call("GET", "/v1/models/Setting/docs/a");
  CHECK(a.body.find("value")->as_string() == "3");
  CHECK(a.body.find("userId")->as_string() == "alice");
}

TEST_CASE("a counter created by a user's increment is that user's", "[net][e2e][authz]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Votes", R"({"type": "counter", "access": "users",
            "fields": {"n": {"type": "number"}}})")
              .status == 201);
  auto alice = f.client(f.token_for("alice"));
  auto bob = f.client(f.token_for("bob"));
  auto first = f.call(alice, "POST", "/v1/models/Votes/docs/c1:increment", R"({"field": "n"})");
  REQUIRE(first.status == 200);
  auto stored = f.call("GET", "/v1/models/Votes/docs/c1");
  REQUIRE(stored.status == 200);
  REQUIRE(stored.body.find("userId") != nullptr);
  CHECK(stored.body.find("userId")->as_string() == "alice");
  // The creator keeps counting; another user may not; the admin may.
  auto second = f.call(alice, "POST", "/v1/models/Votes/docs/c1:increment", R"({"field": "n"})");
  CHECK(second.status == 200);
  CHECK(second.body.find("value")->as_int() == 2);
  auto other = f.call(bob, "POST", "/v1/models/Votes/docs/c1:increment", R"({"field": "n"})");
  CHECK(other.status == 403);
  CHECK(f.code(other) == "forbidden");
  CHECK(f.call("POST", "/v1/models/Votes/docs/c1:increment", R"({"field": "n"})").status == 200);
  CHECK(f.call("GET", "/v1/models/Votes/docs/c1").body.find("n")->as_int() == 3);
  // A counter the admin created belongs to nobody: users may not count it.
  REQUIRE(f.call("POST", "/v1/models/Votes/docs/c2:increment", R"({"field": "n"})").status == 200);
  CHECK(f.call(alice, "POST", "/v1/models/Votes/docs/c2:increment", R"({"field": "n"})").status ==
        403);
}

TEST_CASE("ownership is checked where the write is applied, not from an earlier read",
          "[net][e2e][authz]") {
  // Two users race to increment counters that do not exist yet. Checked from a snapshot, both
  // see "missing, so mine" and both land on one counter; checked by the shard, exactly one
  // creates it and the other is refused.
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Race", R"({"type": "counter", "access": "users",
            "fields": {"n": {"type": "number"}}})")
              .status == 201);
  std::string tokens[2] = {f.token_for("alice"), f.token_for("bob")};
  constexpr int rounds = 150;
  std::atomic<int> turn[2] = {{-1}, {-1}};
  int status[2][rounds] = {};
  std::atomic<int> go{-1};
  std::vector<std::thread> racers;
  for (int who = 0; who < 2; ++who)
    racers.emplace_back([&, who] {
      auto c = f.client(tokens[who]);
      for (int i = 0; i < rounds; ++i) {
        turn[who] = i;
        while (go.load() < i)
          std::this_thread::yield();
        auto r = c.request("POST", "/v1/models/Race/docs/r" + std::to_string(i) + ":increment",
                           R"({"field": "n"})", {{"Content-Type", "application/json"}});
        status[who][i] = r ? r->status : -1;
      }
    });
  for (int i = 0; i < rounds; ++i) {
    while (turn[0].load() < i || turn[1].load() < i)
      std::this_thread::yield();
    go = i;
  }
  for (auto& t : racers)
    t.join();
  int both = 0;
  for (int i = 0; i < rounds; ++i) {
    INFO("round " << i << ": alice " << status[0][i] << ", bob " << status[1][i]);
    auto doc = f.call("GET", "/v1/models/Race/docs/r" + std::to_string(i));
    REQUIRE(doc.status == 200);
    auto* owner = doc.body.find("userId");
    REQUIRE(owner != nullptr);
    int winner = owner->as_string() == "alice" ? 0 : 1;
    // The owner's increment counted, the other user's was refused, and the count says so.
    CHECK(status[winner][i] == 200);
    CHECK(status[1 - winner][i] == 403);
    CHECK(doc.body.find("n")->as_int() == 1);
    both += status[0][i] == 200 && status[1][i] == 200;
  }
  CHECK(both == 0);
}

TEST_CASE("owner checks of updates and deletes happen in the partition", "[net][e2e][authz]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Memo", R"({"scope": "user",
            "fields": {"text": {"type": "string"}}})")
              .status == 201);
  auto alice = f.client(f.token_for("alice"));
  auto bob = f.client(f.token_for("bob"));
  auto memo = f.call(alice, "POST", "/v1/models/Memo/docs", R"({"text": "a"})");
  REQUIRE(memo.status == 201);
  auto path = "/v1/models/Memo/docs/" + id_of(memo);
  for (auto method : {"PATCH", "PUT"})
    CHECK(f.call(bob, method, path, R"({"text": "b"})").status == 403);
  CHECK(f.call(bob, "DELETE", path).status == 403);
  CHECK(f.call(bob, "PATCH", path, R"({"text": "b", "userId": "bob"})").status / 100 == 4);
  CHECK(f.call("GET", path).body.find("text")->as_string() == "a");
  CHECK(f.call(alice, "PATCH", path, R"({"text": "c"})").status == 200);
  CHECK(f.call(bob, "PATCH", "/v1/models/Memo/docs/nope", R"({"text": "b"})").status == 404);
  CHECK(f.call(alice, "DELETE", path).status == 204);
}

TEST_CASE("a model's read policy decides who reads its documents", "[net][e2e][authz]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Diary", R"({"scope": "user", "read": "owner",
            "fields": {"text": {"type": "string"}, "noteId": {"type": "string", "index": true}}})")
              .status == 201);
  REQUIRE(f.call("PUT", "/v1/models/Wish", R"({"access": "users", "read": "owner",
            "fields": {"text": {"type": "string"}}})")
              .status == 201);
  REQUIRE(f.call("PUT", "/v1/models/News", R"({"read": "public",
            "fields": {"text": {"type": "string"}}})")
              .status == 201);
  REQUIRE(f.call("PUT", "/v1/models/Board", R"({"access": "users",
            "fields": {"text": {"type": "string"}},
            "relationships": {
              "entries": {"type": "hasMany", "model": "Diary", "foreignKey": "noteId"}}})")
              .status == 201);
  CHECK(f.call("GET", "/v1/models/Board").body.find("read")->as_string() == "users");
  CHECK(f.call("GET", "/v1/models/Diary").body.find("read")->as_string() == "owner");
  auto bad = f.call("PUT", "/v1/models/Bad", R"({"read": "everyone"})");
  CHECK(bad.status == 400);
  auto alice = f.client(f.token_for("alice"));
  auto bob = f.client(f.token_for("bob"));
  auto anonymous = f.client();
  auto board = f.call(alice, "POST", "/v1/models/Board/docs", R"({"text": "b"})");
  REQUIRE(board.status == 201);
  auto board_id = id_of(board);
  auto entry = [&](net::http_client& c, const char* text) {
    auto r = f.call(c, "POST", "/v1/models/Diary/docs",
                    to_json(value{object{{"text", text}, {"noteId", board_id}}}));
    REQUIRE(r.status == 201);
    return id_of(r);
  };
  auto a1 = entry(alice, "a1");
  auto a2 = entry(alice, "a2");
  auto b1 = entry(bob, "b1");

  SECTION("owner, user-scoped: gets, queries, counts and userIn see only one's own") {
    CHECK(f.call(alice, "GET", "/v1/models/Diary/docs/" + a1).status == 200);
    auto r = f.call(bob, "GET", "/v1/models/Diary/docs/" + a1);
    CHECK(r.status == 404);
    CHECK(f.code(r) == "not_found");
    CHECK(f.call(bob, "GET", "/v1/models/Diary/docs/" + a1 + "?user=alice").status == 404);
    CHECK(ids_of(f.call(bob, "POST", "/v1/models/Diary/query", "{}")) ==
          std::vector<std::string>{b1});
    auto mine = ids_of(f.call(alice, "POST", "/v1/models/Diary/query", R"({"limit": 1000})"));
    CHECK(mine == (a1 < a2 ? std::vector<std::string>{a1, a2} : std::vector<std::string>{a2, a1}));
    CHECK(
        ids_of(f.call(bob, "POST", "/v1/models/Diary/query", R"({"userIn": ["alice"]})")).empty());
    auto counted =
        f.call(bob, "POST", "/v1/models/Diary/query", R"({"aggregate": {"fn": "count"}})");
    REQUIRE(counted.status == 200);
    CHECK(counted.body.find("value")->as_int() == 1);
    auto total = f.call(alice, "POST", "/v1/models/Diary/query", R"({"withTotal": true})");
    CHECK(total.body.find("total")->as_int() == 2);
    CHECK(f.call(bob, "GET", "/v1/models/Diary").body.find("count")->as_int() == 1);
    // The admin reads everything.
    CHECK(ids_of(f.call("POST", "/v1/models/Diary/query", "{}")).size() == 3);
    CHECK(f.call("GET", "/v1/models/Diary/docs/" + a1).status == 200);
  }
  SECTION("owner, global: the same for documents of a global model") {
    auto w = f.call(alice, "POST", "/v1/models/Wish/docs", R"({"text": "w"})");
    REQUIRE(w.status == 201);
    CHECK(f.call(bob, "GET", "/v1/models/Wish/docs/" + id_of(w)).status == 404);
    CHECK(f.call(alice, "GET", "/v1/models/Wish/docs/" + id_of(w)).status == 200);
    CHECK(ids_of(f.call(bob, "POST", "/v1/models/Wish/query", "{}")).empty());
    CHECK(ids_of(f.call(alice, "POST", "/v1/models/Wish/query", "{}")).size() == 1);
  }
  SECTION("relation loads are filtered by the related model's policy") {
    auto as_bob = f.call(bob, "GET", "/v1/models/Board/docs/" + board_id + "?with=entries");
    REQUIRE(as_bob.status == 200);
    auto* entries = as_bob.body.find("entries");
    REQUIRE(entries != nullptr);
    REQUIRE(entries->as_array().size() == 1);
    CHECK(entries->as_array()[0].find("id")->as_string() == b1);
    auto as_alice = f.call(alice, "GET", "/v1/models/Board/docs/" + board_id + "?with=entries");
    CHECK(as_alice.body.find("entries")->as_array().size() == 2);
    auto queried = f.call(bob, "POST", "/v1/models/Board/query", R"({"with": ["entries"]})");
    REQUIRE(queried.status == 200);
    auto& docs = queried.body.find("docs")->as_array();
    REQUIRE(docs.size() == 1);
    CHECK(docs[0].find("entries")->as_array().size() == 1);
    CHECK(f.call("GET", "/v1/models/Board/docs/" + board_id + "?with=entries")
              .body.find("entries")
              ->as_array()
              .size() == 3);
  }
  SECTION("public models are read without a token; nothing else is") {
    auto n = f.call("POST", "/v1/models/News/docs", R"({"text": "hello"})");
    REQUIRE(n.status == 201);
    CHECK(f.call(anonymous, "GET", "/v1/models/News/docs/" + id_of(n)).status == 200);
    CHECK(ids_of(f.call(anonymous, "POST", "/v1/models/News/query", "{}")).size() == 1);
    CHECK(f.call(anonymous, "POST", "/v1/models/News/docs", R"({"text": "x"})").status == 401);
    CHECK(
        f.call(anonymous, "PATCH", "/v1/models/News/docs/" + id_of(n), R"({"text": "x"})").status ==
        401);
    CHECK(f.call(anonymous, "GET", "/v1/models/News").status == 401);
    CHECK(f.call(anonymous, "POST", "/v1/models/Board/query", "{}").status == 401);
    CHECK(f.call(anonymous, "GET", "/v1/models/Diary/docs/" + a1).status == 401);
    // Without a token a body is small (64 KiB); with one, the usual limit applies.
    std::string padded = R"({"where": [["text", "=", ")" + std::string(70 * 1024, 'x') + "\"]]}";
    auto big = f.call(anonymous, "POST", "/v1/models/News/query", padded);
    CHECK(big.status == 413);
    CHECK(f.code(big) == "too_large");
    CHECK(f.call(alice, "POST", "/v1/models/News/query", padded).status == 200);
    // A bad token is still refused on a public model.
    CHECK(f.call(f.client("nope"), "GET", "/v1/models/News/docs/" + id_of(n)).status == 401);
  }
}
