#include <catch2/catch.hpp>

#include <random>

#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "tests/support/random_values.hpp"

using namespace debros;

namespace {

value parse_ok(std::string_view text) {
  auto r = parse_json(text);
  INFO(text);
  REQUIRE(r);
  return *r;
}

std::string parse_error(std::string_view text, errc expected = errc::invalid_argument) {
  auto r = parse_json(text);
  INFO(text);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == expected);
  return message_of(r.error());
}

} // namespace

TEST_CASE("JSON text parses into values of the right kinds", "[messages][json]") {
  auto v = parse_ok(R"( {"s": "x\n\u00e9\ud83d\ude00", "i": -12, "d": 1.5, "e": 1e3, "b": true,
                        "n": null, "a": [1, [], {}], "big": 123456789012345678901} )");
  CHECK(v.find("s")->as_string() == "x\n\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("i")->is_int());
  CHECK(v.find("i")->as_int() == -12);
  CHECK(v.find("d")->as_double() == 1.5);
  CHECK(v.find("e")->is_double());
  CHECK(v.find("e")->as_double() == 1000.0);
  CHECK(v.find("b")->as_bool());
  CHECK(v.find("n")->is_null());
  CHECK(v.find("a")->as_array().size() == 3);
  CHECK(v.find("big")->is_double());
  CHECK(parse_ok("-9223372036854775808").as_int() == INT64_MIN);
  CHECK(parse_ok("1e-400").as_double() == 0.0);
  CHECK(parse_ok("\"\\u0000\"").as_string() == std::string("\0", 1));
}

TEST_CASE("serialized JSON reads back as the same values", "[messages][json]") {
  std::mt19937_64 rng{42};
  for (int i = 0; i < 3000; ++i) {
    auto v = test::random_value(rng, 0, true);
    auto text = to_json(v);
    auto back = parse_json(text);
    INFO(text);
    REQUIRE(back);
    CHECK(*back == v);
    CHECK(back->type() == v.type());
  }
  CHECK(to_json(value{1.0}) == "1.0");
  CHECK(to_json(value{0.1}) == "0.1");
  CHECK(to_json(value{object{{"a", "q\"\\\x01"}}}) == R"({"a":"q\"\\\u0001"})");
  CHECK(to_json(value{std::nan("")}) == "null");
  CHECK(to_json(value{std::string{"\xff"}}) == "\"\xef\xbf\xbd\"");
  CHECK(to_json_pretty(value{object{{"a", array{1}}}}) == "{\n  \"a\": [\n    1\n  ]\n}");
}

TEST_CASE("malformed JSON is refused with the line and column", "[messages][json]") {
  CHECK_THAT(parse_error("{\"a\" 1}"), Catch::Contains("column 6") && Catch::Contains("':'"));
  CHECK_THAT(parse_error("{\n  \"a\": tru }"), Catch::Contains("line 2"));
  CHECK_THAT(parse_error("[1,]"), Catch::Contains("unexpected character"));
  CHECK_THAT(parse_error("[1 2]"), Catch::Contains("expected ',' or ']'"));
  CHECK_THAT(parse_error(""), Catch::Contains("end of input"));
  CHECK_THAT(parse_error("{} x"), Catch::Contains("after the value"));
  CHECK_THAT(parse_error("01"), Catch::Contains("after the value"));
  CHECK_THAT(parse_error("1."), Catch::Contains("digits"));
  CHECK_THAT(parse_error("-"), Catch::Contains("invalid number"));
  CHECK_THAT(parse_error("1e999"), Catch::Contains("out of range"));
  CHECK_THAT(parse_error("\"abc"), Catch::Contains("unterminated"));
  CHECK_THAT(parse_error("\"a\tb\""), Catch::Contains("control character"));
  CHECK_THAT(parse_error("\"\\x\""), Catch::Contains("invalid escape"));
  CHECK_THAT(parse_error("\"\\ud800\""), Catch::Contains("surrogate"));
  CHECK_THAT(parse_error("\"\\udc00\""), Catch::Contains("surrogate"));
  CHECK_THAT(parse_error("\"\\u12\""), Catch::Contains("truncated"));
  CHECK_THAT(parse_error("\"\\u12zz\""), Catch::Contains("hex"));
  CHECK_THAT(parse_error("\"\xc3\x28\""), Catch::Contains("UTF-8"));
  CHECK_THAT(parse_error("\"\xed\xa0\x80\""), Catch::Contains("UTF-8")); // encoded surrogate
  CHECK_THAT(parse_error("{\"a\":1,\"a\":2}"), Catch::Contains("duplicate key \"a\""));
  CHECK_THAT(parse_error("NaN"), Catch::Contains("unexpected character"));
  CHECK_THAT(parse_error("{'a':1}"), Catch::Contains("string key"));
}

TEST_CASE("duplicate keys in large objects are found in linear time", "[messages][json]") {
  std::string text = "{";
  for (int i = 0; i < 50000; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  SECTION("all distinct") {
    text.back() = '}';
    CHECK(parse_ok(text).as_object().size() == 50000);
  }
  SECTION("one repeated at the end") {
    text += "\"k7\":0}";
    CHECK_THAT(parse_error(text), Catch::Contains("duplicate key \"k7\""));
  }
}

TEST_CASE("JSON limits: depth and size", "[messages][json]") {
  SECTION("at the depth limit") {
    std::string t = std::string(63, '[') + "1" + std::string(63, ']');
    CHECK(parse_json(t));
  }
  SECTION("past the depth limit") {
    std::string t = std::string(64, '[') + "1" + std::string(64, ']');
    parse_error(t, errc::too_large);
  }
  SECTION("a million open brackets do not overflow the stack") {
    parse_error(std::string(1000000, '['), errc::too_large);
  }
  SECTION("text over the size limit") {
    json_limits lim;
    lim.max_bytes = 8;
    auto r = parse_json("\"0123456789\"", lim);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::too_large);
  }
}

TEST_CASE("random text gives values or errors, never crashes", "[messages][json]") {
  std::mt19937_64 rng{5};
  const char alphabet[] = "{}[]\":,0123456789.eE+-tfnrulsa \\u\n\xc3\xa9";
  for (int i = 0; i < 20000; ++i) {
    std::string t(rng() % 30, ' ');
    for (auto& c : t)
      c = alphabet[rng() % (sizeof alphabet - 1)];
    auto r = parse_json(t);
    if (r) {
      auto again = parse_json(to_json(*r));
      REQUIRE(again);
      CHECK(*again == *r);
    } else {
      CHECK(code_of(r.error()) == errc::invalid_argument);
    }
  }
}
