#include <catch2/catch.hpp>

#include <cmath>

#include "messages/value.hpp"

using namespace debros;

TEST_CASE("a value reports its kind and holds what it was given", "[messages][value]") {
  CHECK(value{}.is_null());
  CHECK(value{nullptr}.is_null());
  CHECK(value{true}.as_bool());
  CHECK(value{42}.is_int());
  CHECK(value{42}.as_int() == 42);
  CHECK(value{int64_t{-7}}.as_int() == -7);
  CHECK(value{2.5}.is_double());
  CHECK(value{2.5}.as_double() == 2.5);
  CHECK(value{"x"}.as_string() == "x");
  CHECK(value{array{1, 2}}.as_array().size() == 2);
  CHECK(value{object{{"a", 1}}}.find("a")->as_int() == 1);
  CHECK(value{42}.as_double() == 42.0);
}

TEST_CASE("an accessor of the wrong kind throws instead of terminating", "[messages][value]") {
  // Validators and hooks of embedders call accessors; a mistake there must reach the guard
  // around them as an exception, which a noexcept accessor would turn into std::terminate.
  const value i{42};
  value m{42};
  CHECK_FALSE(noexcept(i.as_string()));
  CHECK_THROWS_AS(i.as_string(), std::bad_variant_access);
  CHECK_THROWS_AS(m.as_string(), std::bad_variant_access);
  CHECK_THROWS_AS(i.as_bool(), std::bad_variant_access);
  CHECK_THROWS_AS(i.as_array(), std::bad_variant_access);
  CHECK_THROWS_AS(i.as_object(), std::bad_variant_access);
  CHECK_THROWS_AS(value{"x"}.as_int(), std::bad_variant_access);
  CHECK_THROWS_AS(value{"x"}.as_double(), std::bad_variant_access);
}

TEST_CASE("objects keep insertion order and unique keys", "[messages][value]") {
  object obj;
  obj.set("b", 1);
  obj.set("a", 2);
  obj.set("b", 3);
  REQUIRE(obj.size() == 2);
  CHECK(obj.begin()->first == "b");
  CHECK(obj.find("b")->as_int() == 3);
  CHECK(obj.erase("b"));
  CHECK_FALSE(obj.erase("b"));
  CHECK(obj.size() == 1);
  obj["c"] = value{"new"};
  CHECK(obj.find("c")->as_string() == "new");
}

TEST_CASE("dotted paths reach into nested objects", "[messages][value]") {
  value doc{object{{"profile", object{{"city", "Paris"}, {"zip", 75001}}}, {"name", "x"}}};
  SECTION("a present path") {
    REQUIRE(doc.find_path("profile.city") != nullptr);
    CHECK(doc.find_path("profile.city")->as_string() == "Paris");
    CHECK(doc.find_path("name")->as_string() == "x");
  }
  SECTION("a missing or non-object step gives nullptr") {
    CHECK(doc.find_path("profile.country") == nullptr);
    CHECK(doc.find_path("name.first") == nullptr);
    CHECK(doc.find_path("nothing.at.all") == nullptr);
    CHECK(value{3}.find_path("a") == nullptr);
  }
}

TEST_CASE("numbers compare by numeric value across integers and reals", "[messages][value]") {
  CHECK(value{1} == value{1.0});
  CHECK(compare(value{1}, value{1.5}) < 0);
  CHECK(compare(value{2}, value{1.5}) > 0);
  SECTION("exactly, where doubles cannot represent the integer") {
    int64_t big = (int64_t{1} << 53) + 1;
    double near = 9007199254740992.0; // 2^53
    CHECK(compare(value{big}, value{near}) > 0);
    CHECK(compare(value{big - 1}, value{near}) == 0);
    CHECK(compare_int_double(INT64_MAX, 9223372036854775808.0) < 0);
    CHECK(compare_int_double(INT64_MIN, -9223372036854775808.0) == 0);
    CHECK(compare_int_double(0, -0.0) == 0);
    CHECK(compare_int_double(-1, -0.5) < 0);
    CHECK(compare_int_double(-1, -1.5) > 0);
  }
  SECTION("the raw-number overloads give the order of compare, NaN last and equal to itself") {
    double nan = std::nan("");
    CHECK(compare_numbers(int64_t{3}, int64_t{4}) < 0);
    CHECK(compare_numbers(int64_t{(int64_t{1} << 53) + 1}, 9007199254740992.0) > 0);
    CHECK(compare_numbers(9007199254740992.0, int64_t{(int64_t{1} << 53) + 1}) < 0);
    CHECK(compare_numbers(-0.0, 0.0) == 0);
    CHECK(compare_numbers(nan, nan) == 0);
    CHECK(compare_numbers(nan, INFINITY) > 0);
    CHECK(compare_numbers(INFINITY, nan) < 0);
    CHECK(compare_numbers(INT64_MAX, nan) < 0);
    CHECK(compare_numbers(nan, INT64_MIN) > 0);
    for (value a : {value{1}, value{1.5}, value{nan}, value{INT64_MAX}, value{-INFINITY}})
      for (value b : {value{2}, value{1.5}, value{nan}, value{9223372036854775808.0}})
        CHECK(compare_numbers(a, b) == compare(a, b));
  }
}

TEST_CASE("the total order ranks types, then values", "[messages][value]") {
  std::vector<value> ordered{value{},         value{false},    value{true},
                             value{-1e300},   value{-3},       value{0},
                             value{0.5},      value{7},        value{""},
                             value{"a"},      value{"ab"},     value{"b"},
                             value{array{}},  value{array{1}}, value{array{1, 2}},
                             value{array{2}}, value{object{}}, value{object{{"a", 1}}}};
  for (size_t i = 0; i < ordered.size(); ++i)
    for (size_t j = 0; j < ordered.size(); ++j) {
      INFO("i=" << i << " j=" << j);
      int c = compare(ordered[i], ordered[j]);
      CHECK((i < j ? c < 0 : (i == j ? c == 0 : c > 0)));
    }
  CHECK(type_rank(value{1}) == type_rank(value{1.5}));
  CHECK(type_rank(value{"1"}) != type_rank(value{1}));
}

TEST_CASE("equality is structural and ignores member order", "[messages][value]") {
  value a{object{{"x", 1}, {"y", array{true, "s"}}}};
  value b{object{{"y", array{true, "s"}}, {"x", 1.0}}};
  CHECK(a == b);
  CHECK_FALSE(a == value{object{{"x", 1}}});
  CHECK_FALSE(value{"1"} == value{1});
  CHECK_FALSE(value{} == value{false});
}
