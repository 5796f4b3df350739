#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "storage/record.hpp"

using namespace debros;
using namespace debros::storage;

TEST_CASE("records carry a version byte and read back", "[storage][record]") {
  value doc{object{{"title", "x"}, {"n", 3}}};
  auto bytes = encode_record(doc);
  REQUIRE(bytes);
  CHECK(static_cast<uint8_t>((*bytes)[0]) == record_version);
  auto back = decode_record(*bytes);
  REQUIRE(back);
  CHECK(*back == doc);
  auto body = record_body(*bytes);
  REQUIRE(body);
  CHECK(body->size() == bytes->size() - 1);
}

TEST_CASE("damaged records are reported as corruption", "[storage][record]") {
  auto bytes = *encode_record(value{object{{"title", "hello"}, {"tags", array{1, 2, 3}}}});
  auto expect_corrupt = [](std::string_view b) {
    auto r = decode_record(b, "document Post/1");
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::corruption);
    CHECK_THAT(message_of(r.error()), Catch::Contains("document Post/1"));
    auto body = record_body(b);
    REQUIRE_FALSE(body);
    CHECK(code_of(body.error()) == errc::corruption);
  };
  SECTION("empty") {
    expect_corrupt("");
  }
  SECTION("unknown version") {
    auto b = bytes;
    b[0] = 9;
    expect_corrupt(b);
  }
  SECTION("every truncation") {
    for (size_t n = 1; n < bytes.size(); ++n)
      expect_corrupt(std::string_view{bytes}.substr(0, n));
  }
  SECTION("trailing garbage") {
    expect_corrupt(bytes + "\xc0");
  }
}

TEST_CASE("records above the size limit are refused before writing", "[storage][record]") {
  auto r = encode_record(value{std::string(record_bytes_max, 'x')});
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::too_large);
}

// Golden bytes: a record is the version byte (1) and then msgpack (fixmap of one member here).
// Changing these bytes is a change of the on-disk format and needs a new record_version.
TEST_CASE("a record is byte-for-byte the version byte and msgpack", "[storage][record][golden]") {
  auto rec = encode_record(value{object{{"a", value{int64_t{1}}}, {"b", value{std::string{"x"}}}}});
  REQUIRE(rec);
  CHECK(*rec == std::string{"\x01\x82\xa1"
                            "a\x01\xa1"
                            "b\xa1"
                            "x"});
  auto back = decode_record(std::string_view{"\x01\x81\xa1k\xc3", 5});
  REQUIRE(back);
  CHECK(*back == value{object{{"k", value{true}}}});
}
