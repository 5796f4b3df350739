// Names, ids and request limits over HTTP (docs/node.md "Names, ids and request limits"): one
// set of rules for every name in the API, strict numbers in URLs, no routes with a trailing
// slash, capped `in` lists and a cap on the values of a parsed body.
#include <fstream>

#include "tests/net/e2e_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// A value of /proc/PID/status in KiB ("VmRSS", "VmHWM").
size_t status_kib(pid_t pid, const std::string& name) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0)
      return std::stoul(line.substr(name.size() + 1));
  FAIL("no " << name << " in /proc/" << pid << "/status");
  return 0;
}

// `[0,0,...,0]` of about `bytes` bytes.
std::string zeros(size_t bytes) {
  std::string out = "[0";
  out.reserve(bytes + 2);
  while (out.size() + 2 < bytes)
    out += ",0";
  out += "]";
  return out;
}

// The error message of a reply, empty when it has none (a reply that should have failed).
std::string message(const net::json_response& r) {
  auto* m = r.body.find_path("error.message");
  return m != nullptr && m->is_string() ? m->as_string() : "";
}

constexpr std::string_view note_model = R"({"fields": {"text": {"type": "string"}}})";

} // namespace

TEST_CASE("user ids with control characters are refused everywhere a user id enters",
          "[net][e2e][names]") {
  e2e_fixture f;
  for (auto bad :
       {R"("a\u0000b")", R"("a\nb")", R"("a\u001fb")", R"("a\u007fb")", R"("a/b")", R"("")"}) {
    INFO(bad);
    auto r = f.call("POST", "/v1/users", std::string{R"({"id": )"} + bad + "}");
    CHECK(r.status == 400);
    CHECK(f.code(r) == "invalid_argument");
    CHECK_THAT(message(r), Catch::Contains("user id"));
    auto t = f.call("POST", "/v1/auth/tokens", std::string{R"({"user": )"} + bad + "}");
    CHECK(t.status == 400);
  }
  auto too_long = to_json(value{object{{"id", std::string(129, 'u')}}});
  CHECK(f.call("POST", "/v1/users", too_long).status == 400);
  CHECK(f.call("GET", "/v1/users/a%00b").status == 400);
  SECTION("valid ids, UTF-8 included, are accepted") {
    CHECK(f.call("POST", "/v1/users", R"({"id": "alice"})").status == 201);
    CHECK(f.call("POST", "/v1/users", R"({"id": "j\u00f6rg.m-1@x"})").status == 201);
    CHECK(
        f.call("POST", "/v1/users", to_json(value{object{{"id", std::string(128, 'u')}}})).status ==
        201);
  }
}

TEST_CASE("document ids and userIds and field names follow the name rules", "[net][e2e][names]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  SECTION("a document id or userId with a control character is refused") {
    auto r = f.call("POST", "/v1/models/Note/docs", R"({"id": "a\u0000b", "text": "x"})");
    CHECK(r.status == 422);
    auto u = f.call("POST", "/v1/models/Note/docs", R"({"userId": "a\nb", "text": "x"})");
    CHECK(u.status == 422);
    CHECK(f.call("POST", "/v1/models/Note/docs", R"({"id": "ok", "text": "x"})").status == 201);
  }
  SECTION("a field name with NUL, a newline or invalid UTF-8 is refused") {
    for (auto bad : {R"("a\u0000b")", R"("a\nb")", "\"a\xff\"", R"("")"}) {
      INFO(bad);
      auto r = f.call("PUT", "/v1/models/Bad",
                      std::string{R"({"fields": {)"} + bad + R"(: {"type": "string"}}})");
      CHECK(r.status == 400);
    }
    auto rel = f.call("PUT", "/v1/models/Bad",
                      R"({"relationships": {"a\u0000": {"type": "hasMany", "model": "Note",
                          "foreignKey": "noteId"}}})");
    CHECK(rel.status == 400);
    CHECK(f.call("GET", "/v1/models/Bad").status == 404);
  }
  SECTION("a model with more than 256 fields is refused; 256 are accepted") {
    auto model = [](size_t n) {
      object fields;
      for (size_t i = 0; i < n; ++i)
        fields.set("f" + std::to_string(i), value{object{{"type", "string"}}});
      return to_json(value{object{{"fields", std::move(fields)}}});
    };
    auto r = f.call("PUT", "/v1/models/Wide", model(257));
    CHECK(r.status == 400);
    CHECK_THAT(message(r), Catch::Contains("at most 256 fields"));
    CHECK(f.call("PUT", "/v1/models/Wide", model(10000)).status == 400);
    CHECK(f.call("GET", "/v1/models/Wide").status == 404);
    CHECK(f.call("PUT", "/v1/models/Wide", model(256)).status == 201);
  }
}

TEST_CASE("key-value keys with control characters or invalid UTF-8 are refused",
          "[net][e2e][names]") {
  e2e_fixture f;
  for (auto key : {"a%00b", "a%0Ab", "a%7Fb", "a%FFb"}) {
    INFO(key);
    auto r = f.admin.request("PUT", std::string{"/v1/kv/ns/"} + key, "v");
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  CHECK(f.admin.request("PUT", "/v1/kv/n%00s/k", "v")->status == 400);
  CHECK(f.admin.request("PUT", "/v1/kv/ns/caf%C3%A9", "v")->status == 201);
  CHECK(f.call("GET", "/v1/kv/ns").body.find("keys")->as_array() == array{"caf\xc3\xa9"});
}

TEST_CASE("numbers in the URL are digits only", "[net][e2e][names]") {
  e2e_fixture f;
  for (auto bad :
       {"%205", "5%20", "5x", "-1", "+5", "%2B5", "", "0x5", "1e2", "99999999999999999999999"}) {
    INFO(bad);
    auto r = f.call("GET", std::string{"/v1/kv/ns?limit="} + bad);
    CHECK(r.status == 400);
  }
  CHECK(f.call("GET", "/v1/kv/ns?limit=5").status == 200);
  CHECK(f.call("GET", "/v1/kv/ns?limit=0").status == 200);
  CHECK(f.call("GET", "/v1/kv/ns?limit=10000").status == 200);
  CHECK(f.call("GET", "/v1/kv/ns?limit=10001").status == 400);
}

TEST_CASE("routes with a trailing slash or an empty segment are not routed", "[net][e2e][names]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  for (auto path : {"/v1/status/", "/v1/models/", "/v1/models/Note/", "/v1/peers/", "/v1//status",
                    "/v1/models//docs"}) {
    INFO(path);
    auto r = f.call("GET", path);
    CHECK(r.status == 404);
    CHECK(f.code(r) == "not_found");
  }
  CHECK(f.call("GET", "/v1/status").status == 200);
  CHECK(f.call("GET", "/v1/models").status == 200);
  // As for every unknown /v1 route, the token is checked first.
  CHECK(f.call(f.client(), "GET", "/v1/status/").status == 401);
}

TEST_CASE("an in list is capped and a body of many small values is 413", "[net][e2e][names]") {
  e2e_fixture f;
  REQUIRE(f.call("PUT", "/v1/models/Note", note_model).status == 201);
  SECTION("an in list of 10,001 values is 400; 1,000 are accepted") {
    auto query = [](size_t n, const char* op) {
      array values;
      for (size_t i = 0; i < n; ++i)
        values.emplace_back(std::string{"v"} + std::to_string(i));
      return to_json(value{object{{"where", array{value{array{"text", op, std::move(values)}}}}}});
    };
    for (auto op : {"in", "not_in"}) {
      INFO(op);
      auto r = f.call("POST", "/v1/models/Note/query", query(10001, op));
      CHECK(r.status == 400);
      CHECK(f.code(r) == "invalid_argument");
      CHECK_THAT(message(r), Catch::Contains("at most 1000 values"));
      CHECK(f.call("POST", "/v1/models/Note/query", query(1001, op)).status == 400);
      CHECK(f.call("POST", "/v1/models/Note/query", query(1000, op)).status == 200);
    }
  }
  SECTION("1 MiB of [0,0,...] is 413 too_large") {
    auto r = f.call("POST", "/v1/models/Note/query", zeros(size_t{1} << 20));
    CHECK(r.status == 413);
    CHECK(f.code(r) == "too_large");
    CHECK_THAT(message(r), Catch::Contains("values"));
  }
  SECTION("8 bodies of 8 MiB of small values leave the node's memory bounded") {
    auto pid = f.node.pid();
    auto hwm_before = status_kib(pid, "VmHWM");
    auto body = zeros(size_t{8} << 20);
    for (int i = 0; i < 8; ++i)
      CHECK(f.call("POST", "/v1/models/Note/query", body).status == 413);
    auto hwm_after = status_kib(pid, "VmHWM");
    auto rss_after = status_kib(pid, "VmRSS");
    INFO("VmHWM " << hwm_before << " -> " << hwm_after << " KiB, VmRSS " << rss_after << " KiB");
    // The body itself is held (8 MiB, and copies of it); parsed, it would take hundreds of MiB.
    CHECK(hwm_after - hwm_before < 96 * 1024);
    CHECK(rss_after < hwm_before + 96 * 1024);
    CHECK(f.call("GET", "/v1/status").status == 200);
  }
}
