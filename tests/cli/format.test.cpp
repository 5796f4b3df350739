#include <catch2/catch.hpp>

#include <sstream>

#include "apps/cli/args.hpp"
#include "apps/cli/output.hpp"
#include "apps/cli/table.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

using namespace debros;
using namespace debros::cli;

namespace {

value json(std::string_view text) {
  auto r = parse_json(text);
  INFO(text);
  REQUIRE(r);
  return *r;
}

value where_ok(std::string_view text) {
  auto r = parse_where(text);
  INFO(text);
  REQUIRE(r);
  return *r;
}

std::string where_error(std::string_view text) {
  auto r = parse_where(text);
  INFO(text);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::invalid_argument);
  return message_of(r.error());
}

} // namespace

TEST_CASE("a --where clause splits into field, operator and a JSON or text value", "[cli][args]") {
  SECTION("numbers, booleans, null and arrays are JSON") {
    CHECK(where_ok("score > 3") == json(R"(["score", ">", 3])"));
    CHECK(where_ok("ratio <= 1.5") == json(R"(["ratio", "<=", 1.5])"));
    CHECK(where_ok("isPublic = true") == json(R"(["isPublic", "=", true])"));
    CHECK(where_ok("deletedAt = null") == json(R"(["deletedAt", "=", null])"));
    CHECK(where_ok("tags in [\"a\", \"b\"]") == json(R"(["tags", "in", ["a", "b"]])"));
    CHECK(where_ok("score between [1, 5]") == json(R"(["score", "between", [1, 5]])"));
  }
  SECTION("a quoted value is a string even when it looks like a number") {
    CHECK(where_ok("zip = \"01234\"") == json(R"(["zip", "=", "01234"])"));
    CHECK(where_ok("code = \"42\"") == json(R"(["code", "=", "42"])"));
  }
  SECTION("text that is not JSON is a plain string, spaces included") {
    CHECK(where_ok("title like hello") == json(R"(["title", "like", "hello"])"));
    CHECK(where_ok("title like hello world") == json(R"(["title", "like", "hello world"])"));
    CHECK(where_ok("zip = 01234") == json(R"(["zip", "=", "01234"])"));
    CHECK(where_ok("profile.city starts_with São") ==
          json(R"(["profile.city", "starts_with", "São"])"));
  }
  SECTION("surrounding and repeated whitespace is ignored") {
    CHECK(where_ok("  score   >=\t 10  ") == json(R"(["score", ">=", 10])"));
  }
  SECTION("is_null and is_not_null take no value") {
    CHECK(where_ok("deletedAt is_null") == json(R"(["deletedAt", "is_null"])"));
    CHECK(where_ok("bio is_not_null ") == json(R"(["bio", "is_not_null"])"));
  }
  SECTION("a clause without operator or value is refused") {
    CHECK_THAT(where_error(""), Catch::Contains("field op value"));
    CHECK_THAT(where_error("score"), Catch::Contains("field op value"));
    CHECK_THAT(where_error("score >"), Catch::Contains("needs a value"));
  }
  SECTION("a value after is_null is refused") {
    CHECK_THAT(where_error("deletedAt is_null 3"), Catch::Contains("takes no value"));
  }
}

TEST_CASE("an --order clause names a field and an optional direction", "[cli][args]") {
  CHECK(*parse_order("createdAt desc") == json(R"(["createdAt", "desc"])"));
  CHECK(*parse_order("id asc") == json(R"(["id", "asc"])"));
  CHECK(*parse_order("  title ") == json(R"(["title", "asc"])"));
  SECTION("anything else is refused") {
    for (auto bad : {"", "   ", "id up", "id asc extra", "id DESC"}) {
      INFO(bad);
      auto r = parse_order(bad);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
    }
  }
}

TEST_CASE("durations read as milliseconds, seconds, minutes or hours", "[cli][args]") {
  using std::chrono::milliseconds;
  CHECK(*parse_duration("500ms") == milliseconds{500});
  CHECK(*parse_duration("10s") == milliseconds{10'000});
  CHECK(*parse_duration("2m") == milliseconds{120'000});
  CHECK(*parse_duration("1h") == milliseconds{3'600'000});
  CHECK(*parse_duration("0s") == milliseconds{0});
  SECTION("a bare number is seconds") {
    CHECK(*parse_duration("7") == milliseconds{7'000});
  }
  SECTION("malformed durations are refused") {
    for (auto bad : {"", "s", "10x", "-1s", "1.5s", "10 s", "ten", "99999999999999999999h",
                     "9223372036854775807h"}) {
      INFO(bad);
      auto r = parse_duration(bad);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
    }
  }
}

TEST_CASE("query options build the API's query body", "[cli][args]") {
  SECTION("no options give an empty body") {
    CHECK(*build_query_body({}) == json("{}"));
  }
  SECTION("every option maps to its member") {
    query_args q;
    q.where = {"isPublic = true", "title like hello"};
    q.users = {"alice", "bob"};
    q.order = {"createdAt desc", "id"};
    q.limit = 20;
    q.offset = 40;
    q.with = {"author"};
    q.aggregate = "sum score";
    q.after = "CUR";
    q.total = true;
    CHECK(*build_query_body(q) == json(R"({
      "where": [["isPublic", "=", true], ["title", "like", "hello"]],
      "userIn": ["alice", "bob"],
      "orderBy": [["createdAt", "desc"], ["id", "asc"]],
      "limit": 20, "offset": 40, "with": ["author"],
      "aggregate": {"fn": "sum", "field": "score"}, "after": "CUR", "withTotal": true})"));
  }
  SECTION("an aggregate without a field, and malformed aggregates") {
    CHECK(*parse_aggregate(" count ") == json(R"({"fn": "count"})"));
    for (auto bad : {"", "  ", "sum score extra"}) {
      INFO(bad);
      auto r = parse_aggregate(bad);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::invalid_argument);
    }
    query_args q;
    q.aggregate = "";
    CHECK_FALSE(build_query_body(q));
  }
  SECTION("a bad clause fails the whole body") {
    query_args q;
    q.where = {"score > 1", "score >"};
    CHECK_FALSE(build_query_body(q));
    query_args o;
    o.order = {"score sideways"};
    CHECK_FALSE(build_query_body(o));
  }
}

TEST_CASE("the model name of model apply comes from --name, the file, or its path", "[cli][args]") {
  auto named = json(R"({"name": "Account", "fields": {}})");
  auto anonymous = json(R"({"fields": {}})");
  CHECK(*model_name_for("User", named, "defs/x.json") == "User");
  CHECK(*model_name_for("", named, "defs/x.json") == "Account");
  CHECK(*model_name_for("", anonymous, "defs/Post.json") == "Post");
  CHECK(*model_name_for("", anonymous, "Post.v2.json") == "Post.v2");
  CHECK(*model_name_for("", anonymous, "Comment") == "Comment");
  SECTION("a path that leaves no name is refused") {
    auto r = model_name_for("", anonymous, "defs/.json");
    REQUIRE_FALSE(r);
    CHECK_THAT(message_of(r.error()), Catch::Contains("--name"));
  }
}

TEST_CASE("path segments are percent-encoded except unreserved characters", "[cli][args]") {
  CHECK(url_encode("User-1.a_b~") == "User-1.a_b~");
  CHECK(url_encode("a/b c?d&e=%") == "a%2Fb%20c%3Fd%26e%3D%25");
  CHECK(url_encode("é") == "%C3%A9");
  CHECK(url_encode("") == "");
}

TEST_CASE("a column table puts id first and then every key in first-seen order", "[cli][table]") {
  auto rows = json(R"([{"title": "a", "id": "p1", "score": 3},
                       {"id": "p2", "extra": [1, 2], "title": "bb"}])")
                  .as_array();
  CHECK(table_columns(rows) == std::vector<std::string>{"id", "title", "score", "extra"});
  CHECK(format_table(rows) == "id    title  score  extra\n"
                              "\"p1\"  \"a\"    3\n"
                              "\"p2\"  \"bb\"          [1,2]\n");
  SECTION("rows without id have no id column") {
    auto models = json(R"([{"name": "User", "scope": "global"}])").as_array();
    CHECK(format_table(models) == "name    scope\n\"User\"  \"global\"\n");
  }
  SECTION("values that are not objects fill a value column") {
    auto plain = json(R"(["k1", 2])").as_array();
    CHECK(format_table(plain) == "value\n\"k1\"\n2\n");
  }
  SECTION("no rows say so") {
    CHECK(format_table({}) == "(none)\n");
  }
}

TEST_CASE("long table cells are cut with an ellipsis on a code point boundary", "[cli][table]") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("héllo…") == 6);
  CHECK(truncate_text("abcdef", 6) == "abcdef");
  CHECK(truncate_text("abcdefg", 6) == "abcde…");
  CHECK(truncate_text("ééééééé", 4) == "ééé…");
  CHECK(truncate_text("abc", 0) == "a…");
  auto rows = json(R"([{"id": 1, "bio": "0123456789"}])").as_array();
  table_options narrow;
  narrow.cell_width_max = 6;
  CHECK(format_table(rows, narrow) == "id  bio\n1   \"0123…\n");
}

TEST_CASE("a key/value listing aligns values after the longest key", "[cli][table]") {
  auto doc = json(R"({"username": "alice", "id": "u1", "tags": ["x"], "n": null})");
  CHECK(format_fields(doc) == "id        \"u1\"\n"
                              "username  \"alice\"\n"
                              "tags      [\"x\"]\n"
                              "n         null\n");
  CHECK(format_fields(json("{}")) == "(empty)\n");
  CHECK(format_fields(json("[1,2]")) == "[1,2]\n");
}

TEST_CASE("replies print as pretty JSON or in the table layout asked for", "[cli][output]") {
  auto body = json(R"({"docs": [{"id": "a", "n": 1}], "nextCursor": null})");
  std::ostringstream table;
  print_reply(table, output_format::table, body, layout::table, "docs");
  CHECK(table.str() == "id   n\n\"a\"  1\n");
  std::ostringstream pretty;
  print_reply(pretty, output_format::json, body, layout::table, "docs");
  CHECK(pretty.str() == to_json_pretty(body) + "\n");
  SECTION("a query page shows its total and next cursor under the table") {
    std::ostringstream out;
    print_reply(out, output_format::table,
                json(R"({"docs": [{"id": "a"}], "total": 7, "nextCursor": "CUR"})"), layout::table,
                "docs");
    CHECK(out.str() == "id\n\"a\"\ntotal 7\nnext  CUR  (--after to continue)\n");
    std::ostringstream last;
    print_reply(last, output_format::table, json(R"({"docs": [{"id": "a"}], "nextCursor": null})"),
                layout::table, "docs");
    CHECK(last.str() == "id\n\"a\"\n");
  }
  SECTION("a body without the expected array is shown as fields") {
    std::ostringstream out;
    print_reply(out, output_format::table, json(R"({"value": 3})"), layout::table, "docs");
    CHECK(out.str() == "value  3\n");
  }
  SECTION("an empty reply prints nothing") {
    std::ostringstream out;
    print_reply(out, output_format::json, value{}, layout::none);
    print_reply(out, output_format::table, value{}, layout::none);
    CHECK(out.str().empty());
  }
}

TEST_CASE("errors print their code, message and each detail on a line", "[cli][output]") {
  std::ostringstream err;
  print_error(err, make_error(errc::validation_failed, "the document does not satisfy User",
                              {{"title", "title is required"}, {"score", "score must be >= 0"}}));
  CHECK(err.str() == "debros: validation_failed: the document does not satisfy User\n"
                     "  title: title is required\n"
                     "  score: score must be >= 0\n");
  SECTION("usage errors add the usage line and exit 2") {
    std::ostringstream usage;
    CHECK(usage_error(usage, "unknown command") == exit_usage);
    CHECK(usage.str() == "debros: unknown command\n" + std::string{usage_line()} + "\n");
  }
}
