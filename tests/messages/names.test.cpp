// The one set of rules for names and ids (messages/names.hpp), and the request limits of the
// parsers: values of a JSON text, values of an `in` list.
#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "messages/names.hpp"
#include "messages/query.hpp"

using namespace debros;

namespace {

constexpr name_kind all_kinds[] = {name_kind::user_id,      name_kind::document_id,
                                   name_kind::field_name,   name_kind::model_name,
                                   name_kind::kv_namespace, name_kind::kv_key};

} // namespace

TEST_CASE("every kind of name refuses empty, control characters, invalid UTF-8 and excess",
          "[messages][names]") {
  for (auto kind : all_kinds) {
    INFO(to_string(kind));
    CHECK(valid_name(kind, "abc"));
    CHECK_FALSE(valid_name(kind, ""));
    for (char c : {'\0', '\n', '\r', '\t', '\x1f', '\x7f'})
      CHECK_FALSE(valid_name(kind, std::string{"a"} + c + "b"));
    CHECK_FALSE(valid_name(kind, "a\xff"));
    CHECK_FALSE(valid_name(kind, "a\xc0\xaf")); // overlong '/'
    auto longest = name_bytes_max(kind);
    CHECK(valid_name(kind, std::string(longest, 'a')));
    CHECK_FALSE(valid_name(kind, std::string(longest + 1, 'a')));
    auto err = check_name(kind, std::string{"a\0b", 3});
    REQUIRE(err);
    CHECK(code_of(err) == errc::invalid_argument);
    CHECK_THAT(message_of(err), Catch::Contains(std::string{to_string(kind)}) &&
                                    Catch::Contains("control characters"));
    CHECK_FALSE(check_name(kind, "abc"));
    CHECK(valid_name(kind, "abc") == !check_name(kind, "abc"));
  }
  CHECK(name_problem(name_kind::user_id, std::string(129, 'u')) ==
        "must be at most 128 bytes long");
  CHECK(name_problem(name_kind::user_id, "a\nb") == "must not contain control characters");
  CHECK(name_problem(name_kind::user_id, "").empty() == false);
}

TEST_CASE("each kind of name has its own characters and limits", "[messages][names]") {
  CHECK(user_id_bytes_max == 128);
  CHECK(document_id_bytes_max == 128);
  CHECK(field_name_bytes_max == 128);
  CHECK(model_name_bytes_max == 64);
  CHECK(kv_namespace_bytes_max == 64);
  CHECK(kv_key_bytes_max == 256);
  CHECK(model_fields_max == 256);
  SECTION("user and document ids: UTF-8 and punctuation, but no '/'") {
    for (auto kind : {name_kind::user_id, name_kind::document_id}) {
      CHECK(valid_name(kind, "j\xc3\xb6rg.m-1@x y"));
      CHECK_FALSE(valid_name(kind, "a/b"));
    }
  }
  SECTION("field names: no '.'") {
    CHECK(valid_name(name_kind::field_name, "title_\xc3\xa9"));
    CHECK_FALSE(valid_name(name_kind::field_name, "a.b"));
  }
  SECTION("model names: ASCII letters, digits, '_' and '-', a letter first") {
    CHECK(valid_name(name_kind::model_name, "Post_v2-x"));
    CHECK_FALSE(valid_name(name_kind::model_name, "2Post"));
    CHECK_FALSE(valid_name(name_kind::model_name, "Po st"));
    CHECK_FALSE(valid_name(name_kind::model_name, "P\xc3\xb6st"));
  }
  SECTION("kv namespaces: ASCII letters, digits, '_', '-' and '.'") {
    CHECK(valid_name(name_kind::kv_namespace, "files.v1-a_b"));
    CHECK_FALSE(valid_name(name_kind::kv_namespace, "a/b"));
    CHECK_FALSE(valid_name(name_kind::kv_namespace, "a b"));
  }
  SECTION("kv keys: any UTF-8 without control characters, '/' and spaces included") {
    CHECK(valid_name(name_kind::kv_key, "a/b c\xc3\xa9"));
  }
}

TEST_CASE("a JSON text holding more values than the limit is too_large", "[messages][json]") {
  json_limits limits;
  limits.max_values = 4;
  CHECK(parse_json("[1,2,3]", limits)); // the array and its three numbers
  CHECK(parse_json(R"({"a": 1, "b": [2]})", limits));
  auto err = parse_json("[1,2,3,4]", limits);
  REQUIRE_FALSE(err);
  CHECK(code_of(err.error()) == errc::too_large);
  CHECK_THAT(message_of(err.error()), Catch::Contains("more than 4 values"));
  CHECK(code_of(parse_json(R"({"a": {"b": {"c": {"d": 1}}}})", limits).error()) == errc::too_large);
  SECTION("by default, trusted text is not limited") {
    std::string big = "[0";
    for (int i = 0; i < 300000; ++i)
      big += ",0";
    big += "]";
    CHECK(parse_json(big));
  }
}

TEST_CASE("an in list holds at most 1000 values, and userIn at most 1000 valid user ids",
          "[messages][query]") {
  CHECK(in_values_max == 1000);
  auto with_in = [](const char* op, size_t n) {
    array values;
    for (size_t i = 0; i < n; ++i)
      values.emplace_back(static_cast<int64_t>(i));
    return value{object{{"where", array{value{array{"x", op, std::move(values)}}}}}};
  };
  for (auto op : {"in", "not_in"}) {
    INFO(op);
    CHECK(parse_query("Post", with_in(op, 1000)));
    auto q = parse_query("Post", with_in(op, 10001));
    REQUIRE_FALSE(q);
    CHECK(code_of(q.error()) == errc::invalid_argument);
    CHECK_THAT(message_of(q.error()), Catch::Contains("at most 1000 values, not 10001"));
  }
  array users;
  for (int i = 0; i < 1001; ++i)
    users.emplace_back("u" + std::to_string(i));
  CHECK_FALSE(parse_query("Post", value{object{{"userIn", users}}}));
  users.pop_back();
  CHECK(parse_query("Post", value{object{{"userIn", users}}}));
  CHECK_FALSE(parse_query("Post", value{object{{"userIn", array{"a\nb"}}}}));
}
