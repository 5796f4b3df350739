#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <random>

#include "messages/errc.hpp"
#include "storage/key_codec.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/in_child.hpp"
#include "tests/support/random_values.hpp"

using namespace debros;
using namespace debros::storage;
using test::hex;

namespace {

int sign(int x) {
  return x < 0 ? -1 : (x > 0 ? 1 : 0);
}

} // namespace

TEST_CASE("key order equals value order for thousands of random values", "[storage][keys]") {
  std::mt19937_64 rng{1234};
  std::vector<value> values;
  for (int i = 0; i < 4000; ++i)
    values.push_back(test::random_value(rng));
  std::vector<std::pair<std::string, size_t>> keys;
  for (size_t i = 0; i < values.size(); ++i)
    keys.emplace_back(key_of(values[i]), i);
  SECTION("pairwise") {
    for (int n = 0; n < 200000; ++n) {
      auto i = rng() % values.size();
      auto j = rng() % values.size();
      int by_value = sign(compare(values[i], values[j]));
      int by_key = sign(keys[i].first.compare(keys[j].first));
      INFO(to_string(values[i].type()) << " vs " << to_string(values[j].type()));
      REQUIRE(by_value == by_key);
    }
  }
  SECTION("sorted") {
    std::sort(keys.begin(), keys.end());
    for (size_t k = 1; k < keys.size(); ++k)
      REQUIRE(compare(values[keys[k - 1].second], values[keys[k].second]) <= 0);
  }
}

TEST_CASE("composite keys sort by their first component, then the next", "[storage][keys]") {
  auto composite = [](const value& a, const value& b) {
    std::string k;
    append_key(k, a);
    append_key(k, b);
    return k;
  };
  CHECK(composite("a", 9) < composite("ab", 0));
  CHECK(composite("a", 1) < composite("a", 2));
  CHECK(composite(std::string("a\0", 2), 0) > composite("a", 99));
  CHECK(composite(array{1}, 5) < composite(array{1, 0}, 0));
  CHECK(composite(5, "z") < composite(5.5, ""));
}

TEST_CASE("integers and reals interleave exactly", "[storage][keys]") {
  int64_t two53 = int64_t{1} << 53;
  CHECK(key_of(value{1}) == key_of(value{1.0}));
  CHECK(key_of(value{two53 + 1}) > key_of(value{9007199254740992.0}));
  CHECK(key_of(value{two53 + 1}) < key_of(value{9007199254740994.0}));
  CHECK(key_of(value{INT64_MAX}) < key_of(value{9223372036854775808.0}));
  CHECK(key_of(value{INT64_MIN}) == key_of(value{-9223372036854775808.0}));
  CHECK(key_of(value{INT64_MIN + 1}) > key_of(value{-9223372036854775808.0}));
  CHECK(key_of(value{-0.0}) == key_of(value{0}));
  CHECK(key_of(value{-1e300}) < key_of(value{INT64_MIN}));
  CHECK(key_of(value{std::nan("")}) > key_of(value{INFINITY}));
}

TEST_CASE("keys decode back to their values", "[storage][keys]") {
  std::mt19937_64 rng{77};
  for (int i = 0; i < 3000; ++i) {
    auto v = test::random_value(rng);
    auto k = key_of(v);
    std::string_view in{k};
    auto back = read_key(in);
    REQUIRE(back);
    CHECK(in.empty());
    CHECK(compare(*back, v) == 0);
    std::string_view skip_in{k};
    CHECK(skip_key(skip_in));
    CHECK(skip_in.empty());
  }
  SECTION("malformed keys are corruption errors") {
    for (std::string bad : {std::string{}, std::string{"\x20\x01"},
                            std::string{"\x30"
                                        "abc"},
                            std::string{"\x40\x05"}, std::string{"\x99"}}) {
      std::string_view in{bad};
      auto r = read_key(in);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::corruption);
      std::string_view in2{bad};
      CHECK_FALSE(skip_key(in2));
    }
  }
  SECTION("well-framed keys with malformed contents are corruption errors") {
    // The largest double below 2^63 with the largest residual: past INT64_MAX.
    std::string near_max;
    append_key_double(near_max, 9223372036854774784.0);
    near_max[near_max.size() - 2] = '\xff';
    near_max[near_max.size() - 1] = '\xff';
    for (std::string bad : {near_max,
                            // An object whose key is null, not a string.
                            std::string{"\x50\x05\x00", 3}}) {
      std::string_view in{bad};
      auto r = read_key(in);
      REQUIRE_FALSE(r);
      CHECK(code_of(r.error()) == errc::corruption);
      // skip_key walks the framing only (see key_codec.hpp): it passes over both.
      std::string_view in2{bad};
      CHECK(skip_key(in2));
      CHECK(in2.empty());
    }
  }
}

TEST_CASE("fixed-width integers and prefix bounds", "[storage][keys]") {
  std::string a, b;
  append_u64(a, 255);
  append_u64(b, 256);
  CHECK(a < b);
  CHECK(read_u64(b) == 256);
  std::string c;
  append_u32(c, 0xdeadbeef);
  CHECK(read_u32(c) == 0xdeadbeef);
  CHECK(prefix_end("ab") == "ac");
  CHECK(prefix_end(std::string{"a\xff"}) == "b");
  CHECK(prefix_end(std::string{"\xff\xff"}).empty());
}

// Golden bytes, written by hand from the layout in storage/key_codec.hpp: every stored index and
// document key depends on them, so any change here is a change of the on-disk format.
TEST_CASE("key encodings are byte-for-byte the documented layout", "[storage][keys][golden]") {
  CHECK(hex(key_of(value{})) == "05");
  CHECK(hex(key_of(value{false})) == "10");
  CHECK(hex(key_of(value{true})) == "11");
  // Numbers: 0x20, the double rounded toward -infinity with its sign bit flipped (all bits for
  // negatives), then the integer's distance above that double.
  CHECK(hex(key_of(value{int64_t{0}})) == "2080000000000000000000");
  CHECK(hex(key_of(value{int64_t{1}})) == "20bff00000000000000000");
  CHECK(hex(key_of(value{1.0})) == "20bff00000000000000000");
  CHECK(hex(key_of(value{int64_t{-1}})) == "20400fffffffffffff0000");
  CHECK(hex(key_of(value{-0.0})) == "2080000000000000000000");
  // 2^63 - 1 lies 1023 above the double 2^63 - 1024 (0x43dfffffffffffff).
  CHECK(hex(key_of(value{std::numeric_limits<int64_t>::max()})) == "20c3dfffffffffffff03ff");
  CHECK(hex(key_of(value{std::string{"ab"}})) == "3061620001");
  CHECK(hex(key_of(value{std::string{"a\0b", 3}})) == "306100ff620001");
  CHECK(hex(key_of(value{std::string{}})) == "300001");
  array arr{value{int64_t{1}}, value{std::string{"a"}}};
  CHECK(hex(key_of(value{arr})) == "4020bff00000000000000000"
                                   "30610001"
                                   "00");
  object obj{{"k", value{true}}};
  CHECK(hex(key_of(value{obj})) == "50"
                                   "306b0001"
                                   "11"
                                   "00");
  std::string fixed;
  append_u64(fixed, 0x0102030405060708);
  append_u32(fixed, 0x0a0b0c0d);
  append_u16(fixed, 0xfeff);
  CHECK(hex(fixed) == "0102030405060708"
                      "0a0b0c0d"
                      "feff");
  CHECK(hex(prefix_end("a\xff")) == "62");
}

// A caller that reads a fixed-width integer checks the length first (bytes from disk that are
// too short are corruption, reported): reading too few bytes is a programmer error and aborts.
TEST_CASE("a fixed-width read of too few bytes aborts, naming the check",
          "[storage][keys][assert]") {
  auto out = test::in_child([] { static_cast<void>(read_u64(std::string_view{"1234567"})); });
  CHECK(out.aborted());
  CHECK_THAT(out.err, Catch::Contains("key_codec.cpp") && Catch::Contains("in.size() >= 8"));
  // Enough bytes: no abort.
  auto fine = test::in_child([] { static_cast<void>(read_u16(std::string_view{"12"})); });
  CHECK(WIFEXITED(fine.status));
  CHECK(fine.err.empty());
}
