#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include <msgpack.hpp>

#include "messages/errc.hpp"
#include "messages/msgpack_codec.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/random_values.hpp"

using namespace debros;

using test::hex;
using test::unhex;

namespace {

// The same random value built by msgpack-cxx's own object model, for cross-checking.
value from_msgpack_cxx(const msgpack::object& o) {
  switch (o.type) {
  case msgpack::type::NIL:
    return value{};
  case msgpack::type::BOOLEAN:
    return value{o.via.boolean};
  case msgpack::type::POSITIVE_INTEGER:
    return value{static_cast<int64_t>(o.via.u64)};
  case msgpack::type::NEGATIVE_INTEGER:
    return value{o.via.i64};
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    return value{o.via.f64};
  case msgpack::type::STR:
    return value{std::string{o.via.str.ptr, o.via.str.size}};
  case msgpack::type::ARRAY: {
    array xs;
    for (uint32_t i = 0; i < o.via.array.size; ++i)
      xs.push_back(from_msgpack_cxx(o.via.array.ptr[i]));
    return value{std::move(xs)};
  }
  case msgpack::type::MAP: {
    object obj;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      auto& kv = o.via.map.ptr[i];
      obj.set(std::string{kv.key.via.str.ptr, kv.key.via.str.size}, from_msgpack_cxx(kv.val));
    }
    return value{std::move(obj)};
  }
  default:
    throw std::runtime_error("unexpected msgpack-cxx type");
  }
}

bool same_kinds(const value& a, const value& b) {
  if (a.type() != b.type())
    return false;
  if (a.is_array()) {
    for (size_t i = 0; i < a.as_array().size(); ++i)
      if (!same_kinds(a.as_array()[i], b.as_array()[i]))
        return false;
  } else if (a.is_object()) {
    for (auto& [k, v] : a.as_object())
      if (!same_kinds(v, *b.find(k)))
        return false;
  }
  return true;
}

} // namespace

TEST_CASE("encoding produces the canonical msgpack bytes", "[messages][msgpack]") {
  value doc{object{{"a", 1}, {"b", array{true, nullptr, -1, 1.5, "x"}}}};
  CHECK(hex(to_msgpack(doc)) == "82a16101a16295c3c0ffcb3ff8000000000000a178");
  CHECK(hex(to_msgpack(value{127})) == "7f");
  CHECK(hex(to_msgpack(value{128})) == "cc80");
  CHECK(hex(to_msgpack(value{-33})) == "d0df");
  CHECK(hex(to_msgpack(value{65536})) == "ce00010000");
  CHECK(hex(to_msgpack(value{INT64_MIN})) == "d38000000000000000");
  CHECK(hex(to_msgpack(value{std::string(32, 'z')})).substr(0, 4) == "d920");
  CHECK(hex(to_msgpack(value{false})) == "c2");
  // Integral reals stay reals (msgpack-cxx's pack_double would write 1.0 as the integer 1).
  CHECK(hex(to_msgpack(value{1.0})) == "cb3ff0000000000000");
  CHECK(hex(to_msgpack(value{1e19})) == "cb43e158e460913d00");
}

TEST_CASE("values survive a round trip through msgpack", "[messages][msgpack]") {
  std::mt19937_64 rng{20261121};
  for (int i = 0; i < 3000; ++i) {
    auto v = test::random_value(rng, 0, true);
    auto bytes = to_msgpack(v);
    auto back = from_msgpack(bytes);
    REQUIRE(back);
    CHECK(*back == v);
    CHECK(same_kinds(*back, v));
  }
}

TEST_CASE("the decoder agrees with msgpack-cxx on valid input", "[messages][msgpack]") {
  std::mt19937_64 rng{7};
  for (int i = 0; i < 2000; ++i) {
    auto v = test::random_value(rng, 0, true);
    auto bytes = to_msgpack(v);
    auto oh = msgpack::unpack(bytes.data(), bytes.size());
    auto ours = from_msgpack(bytes);
    REQUIRE(ours);
    CHECK(*ours == from_msgpack_cxx(oh.get()));
  }
  SECTION("float32 input is widened to a real") {
    std::stringstream ss;
    msgpack::packer<std::stringstream> pk{ss};
    pk.pack_float(0.25f);
    auto r = from_msgpack(ss.str());
    REQUIRE(r);
    CHECK(r->is_double());
    CHECK(r->as_double() == 0.25);
  }
}

TEST_CASE("every truncation of a valid encoding is an error", "[messages][msgpack]") {
  value doc{object{{"title", "hello world"},
                   {"n", 123456789},
                   {"x", 2.5},
                   {"tags", array{"a", "bb", object{{"deep", array{1, 2, 3}}}}},
                   {"long", std::string(300, 'q')}}};
  auto bytes = to_msgpack(doc);
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = from_msgpack(std::string_view{bytes}.substr(0, len));
    INFO("length " << len);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
  CHECK(from_msgpack(bytes));
}

TEST_CASE("malformed msgpack is refused with a message naming the problem", "[messages][msgpack]") {
  auto refuse = [](std::string bytes, const std::string& needle) {
    auto r = from_msgpack(bytes);
    INFO(hex(bytes));
    REQUIRE_FALSE(r);
    CHECK_THAT(message_of(r.error()), Catch::Contains(needle));
  };
  SECTION("trailing bytes") {
    refuse(unhex("c0c0"), "trailing");
  }
  SECTION("the reserved byte") {
    refuse(unhex("c1"), "0xc1");
  }
  SECTION("bin") {
    refuse(unhex("c40161"), "bin");
  }
  SECTION("ext") {
    refuse(unhex("d40100"), "ext");
  }
  SECTION("integer above INT64_MAX") {
    refuse(unhex("cfffffffffffffffff"), "INT64_MAX");
  }
  SECTION("non-string map key") {
    refuse(unhex("810101"), "not a string");
  }
  SECTION("duplicate key") {
    refuse(unhex("82a16101a16102"), "duplicate");
  }
  SECTION("NaN") {
    refuse(unhex("cb7ff8000000000000"), "non-finite");
  }
  SECTION("float32 NaN and infinities") {
    refuse(unhex("ca7fc00000"), "non-finite");
    refuse(unhex("ca7f800000"), "non-finite");
    refuse(unhex("caff800000"), "non-finite");
  }
  SECTION("invalid UTF-8") {
    refuse(unhex("a2c328"), "UTF-8");
  }
  SECTION("a map key that is invalid UTF-8") {
    refuse(unhex("81a2c32801"), "map key is not valid UTF-8");
  }
  SECTION("with check_utf8 off, invalid UTF-8 passes and every other rule still holds") {
    decode_limits lenient;
    lenient.check_utf8 = false;
    auto s = from_msgpack(unhex("a2c328"), lenient);
    REQUIRE(s);
    CHECK(s->as_string() == std::string{"\xc3\x28"});
    auto m = from_msgpack(unhex("81a2c32801"), lenient);
    REQUIRE(m);
    CHECK(m->find(std::string{"\xc3\x28"})->as_int() == 1);
    for (auto bytes : {"cb7ff8000000000000", "ca7f800000", "82a2c32801a2c32802", "810101", "c1"}) {
      INFO(bytes);
      CHECK_FALSE(from_msgpack(unhex(bytes), lenient));
    }
  }
  SECTION("a count larger than the input") {
    refuse(unhex("dd7fffffff"), "truncated");
  }
  SECTION("many duplicate keys in a large map") {
    std::string b = unhex("de0014"); // map16 with 20 pairs, all the same key
    for (int i = 0; i < 20; ++i)
      b += unhex("a16100");
    refuse(b, "duplicate");
  }
}

TEST_CASE("nesting past the limit is refused without recursion trouble", "[messages][msgpack]") {
  SECTION("at the limit it decodes") {
    std::string b(63, '\x91'); // 63 nested single-element arrays, then a scalar at depth 64
    b += '\x01';
    CHECK(from_msgpack(b));
  }
  SECTION("one deeper is too_large") {
    std::string b(64, '\x91');
    b += '\x01';
    auto r = from_msgpack(b);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::too_large);
  }
  SECTION("a million levels are refused and skip() survives them") {
    std::string b(1000000, '\x91');
    b += '\x01';
    auto r = from_msgpack(b);
    REQUIRE_FALSE(r);
    mp_reader reader{b};
    CHECK(reader.skip());
    CHECK(reader.at_end());
  }
  SECTION("oversized input") {
    decode_limits lim;
    lim.max_bytes = 10;
    auto r = from_msgpack(to_msgpack(value{std::string(20, 'a')}), lim);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::too_large);
  }
}

TEST_CASE("random bytes give values or errors, never crashes", "[messages][msgpack]") {
  std::mt19937_64 rng{99};
  size_t errors = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b(rng() % 40, '\0');
    for (auto& c : b)
      c = static_cast<char>(rng());
    auto r = from_msgpack(b);
    if (!r) {
      ++errors;
      CHECK(code_of(r.error()) != errc::internal);
    } else {
      // Whatever decoded must encode and decode to itself.
      auto again = from_msgpack(to_msgpack(*r));
      REQUIRE(again);
      CHECK(*again == *r);
    }
  }
  CHECK(errors > 10000);
}

TEST_CASE("the reader finds a key without decoding the rest", "[messages][msgpack]") {
  value doc{object{{"a", array{1, 2, object{{"z", 1}}}}, {"b", "found"}, {"c", 3}}};
  auto bytes = to_msgpack(doc);
  mp_reader r{bytes};
  mp_reader::item it;
  REQUIRE(r.next(it));
  REQUIRE(it.type == mp_reader::token::map);
  SECTION("present") {
    REQUIRE(r.find_key(it.count, "b"));
    mp_reader::item v;
    REQUIRE(r.next(v));
    CHECK(v.type == mp_reader::token::string);
    CHECK(v.string == "found");
  }
  SECTION("absent") {
    CHECK_FALSE(r.find_key(it.count, "zz"));
    CHECK_FALSE(r.failed());
    CHECK(r.at_end());
  }
}
