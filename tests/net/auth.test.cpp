#include <sys/stat.h>
#include <thread>

#include "tests/net/e2e_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view note_model = R"({
  "fields": {"text": {"type": "string"}},
  "access": "users"
})";

} // namespace

TEST_CASE("the admin token is written once, private to the node's user", "[net][e2e][auth]") {
  e2e_fixture f;
  struct ::stat st;
  REQUIRE(::stat((f.node.data_dir() + "/admin.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto token = f.node.admin_token();
  CHECK(token.size() >= 32);
  f.node.restart();
  CHECK(f.node.admin_token() == token);
}

TEST_CASE("requests without valid credentials are refused with 401", "[net][e2e][auth]") {
  e2e_fixture f;
  auto anonymous = f.client();
  auto r = f.call(anonymous, "GET", "/v1/models");
  CHECK(r.status == 401);
  CHECK(f.code(r) == "unauthenticated");
  SECTION("a forged token") {
    auto forged = f.client("dbr1.eyJzdWIiOiJhZG1pbiIsImV4cCI6OTk5OTk5OTk5OTk5OX0.AAAA");
    CHECK(f.call(forged, "GET", "/v1/models").status == 401);
    auto garbage = f.client("not-a-token");
    CHECK(f.call(garbage, "GET", "/v1/models").status == 401);
  }
  SECTION("the scheme name in any case; anything but Bearer is refused") {
    auto token = f.node.admin_token();
    for (auto scheme : {"bearer ", "BEARER ", "Bearer   "}) {
      auto c = f.client();
      c.set_default_header("Authorization", scheme + token);
      CHECK(f.call(c, "GET", "/v1/models").status == 200);
    }
    for (auto header : {"Basic " + token, "Bearer" + token, token, std::string{"Bearer "}}) {
      auto c = f.client();
      c.set_default_header("Authorization", header);
      CHECK(f.call(c, "GET", "/v1/models").status == 401);
    }
  }
  SECTION("a token signed for another claim") {
    auto good = f.token_for("alice");
    auto dot = good.rfind('.');
    auto other = f.token_for("bob");
    auto swapped = other.substr(0, other.rfind('.')) + good.substr(dot);
    CHECK(f.call(f.client(swapped), "GET", "/v1/models").status == 401);
  }
  SECTION("an expired token") {
    auto brief = f.token_for("alice", 1);
    auto c = f.client(brief);
    CHECK(f.call(c, "GET", "/v1/models").status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto r = f.call(c, "GET", "/v1/models");
    CHECK(r.status == 401);
    CHECK_THAT(r.body.find_path("error.message")->as_string(), Catch::Contains("expired"));
  }
}

TEST_CASE("user tokens write only what they own", "[net][e2e][auth]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  REQUIRE(f.call("PUT", "/v1/models/Post", post_model).status == 201);
  auto alice = f.client(f.token_for("alice"));
  auto bob = f.client(f.token_for("bob"));
  auto note = f.call(alice, "POST", "/v1/models/Note/docs", R"({"text": "mine"})");
  REQUIRE(note.status == 201);
  CHECK(note.body.find("userId")->as_string() == "alice");
  auto path = "/v1/models/Note/docs/" + note.body.find("id")->as_string();
  SECTION("the owner changes it, another user may read but not write it") {
    CHECK(f.call(alice, "PATCH", path, R"({"text": "edited"})").status == 200);
    CHECK(f.call(bob, "GET", path).status == 200);
    auto r = f.call(bob, "PATCH", path, R"({"text": "taken"})");
    CHECK(r.status == 403);
    CHECK(f.code(r) == "forbidden");
    CHECK(f.call(bob, "DELETE", path).status == 403);
    CHECK(f.call(alice, "DELETE", path).status == 204);
  }
  SECTION("a user cannot create documents in another user's name") {
    CHECK(
        f.call(bob, "POST", "/v1/models/Note/docs", R"({"text": "x", "userId": "alice"})").status ==
        403);
  }
  SECTION("admin-only models, definitions, tokens and key-value writes are refused") {
    CHECK(f.call(alice, "POST", "/v1/models/Post/docs", R"({"title": "no"})").status == 403);
    CHECK(f.call(alice, "PUT", "/v1/models/Other", note_model).status == 403);
    CHECK(f.call(alice, "POST", "/v1/auth/tokens", R"({"user": "alice"})").status == 403);
    CHECK(alice.request("PUT", "/v1/kv/ns/k", "v")->status == 403);
    CHECK(f.call(alice, "POST", "/v1/models/Post/query", "{}").status == 200);
  }
  SECTION("the admin may do anything") {
    CHECK(f.call("PATCH", path, R"({"text": "by admin"})").status == 200);
  }
  SECTION("token requests are checked") {
    CHECK(f.call("POST", "/v1/auth/tokens", R"({"user": ""})").status == 400);
    CHECK(f.call("POST", "/v1/auth/tokens", R"({"user": "a", "ttl_s": 0})").status == 400);
    CHECK(f.call("POST", "/v1/auth/tokens", R"({"user": "a", "ttl_s": "1h"})").status == 400);
  }
}

TEST_CASE("with --no-auth every request is allowed", "[net][e2e][auth]") {
  e2e_fixture f{{"--no-auth"}};
  auto anonymous = f.client();
  CHECK(f.call(anonymous, "PUT", "/v1/models/Post", post_model).status == 201);
  CHECK(f.call(anonymous, "POST", "/v1/auth/tokens", R"({"user": "a"})").status == 400);
}
