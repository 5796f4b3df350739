#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "storage/checksum.hpp"
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
  CHECK(body->size() == bytes->size() - record_header_bytes);
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
  SECTION("every byte changed in every way, including changes that leave valid msgpack") {
    // A flipped bit inside a string keeps the msgpack well formed: only the checksum finds it.
    for (size_t i = 0; i < bytes.size(); ++i)
      for (int x = 1; x < 256; ++x) {
        auto b = bytes;
        b[i] = static_cast<char>(static_cast<uint8_t>(b[i]) ^ x);
        if (i == 0 && static_cast<uint8_t>(b[0]) == 1)
          continue; // reads as a version 1 record: see the version 1 section below
        expect_corrupt(b);
      }
  }
  SECTION("a version 1 record is checked by walking its msgpack") {
    auto v1 = std::string{"\x01"} + std::string{bytes.substr(record_header_bytes)};
    REQUIRE(decode_record(v1));
    expect_corrupt(v1.substr(0, v1.size() - 1));
    expect_corrupt(v1 + "\xc0");
    // The header of a version 2 record read as version 1 is not one msgpack item.
    auto b = bytes;
    b[0] = 1;
    expect_corrupt(b);
  }
}

TEST_CASE("records above the size limit are refused before writing", "[storage][record]") {
  auto r = encode_record(value{std::string(record_bytes_max, 'x')});
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::too_large);
}

// Golden bytes: a record is the version byte (2), the CRC-32C of the body (little-endian), then
// msgpack (a fixmap of two members here). Changing these bytes is a change of the on-disk format
// and needs a new record_version; version 1 records (no checksum) stay readable.
TEST_CASE("a record is byte-for-byte the version byte, its checksum and msgpack",
          "[storage][record][golden]") {
  auto rec = encode_record(value{object{{"a", value{int64_t{1}}}, {"b", value{std::string{"x"}}}}});
  REQUIRE(rec);
  CHECK(*rec == std::string{"\x02\x70\xe5\x93\x8b"
                            "\x82\xa1"
                            "a\x01\xa1"
                            "b\xa1"
                            "x"});
  auto v1 = decode_record(std::string_view{"\x01\x81\xa1k\xc3", 5});
  REQUIRE(v1);
  CHECK(*v1 == value{object{{"k", value{true}}}});
}

// If this value changes, every stored record reads as damaged.
TEST_CASE("the record checksum is CRC-32C, the same in hardware and in software",
          "[storage][record][golden]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c_portable("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  std::string s;
  for (size_t n = 0; n < 300; ++n) {
    CHECK(crc32c(s) == crc32c_portable(s));
    s += static_cast<char>((n * 131 + 7) & 0xFF);
  }
}
