// Order-preserving encoding of typed values into LMDB keys.
//
// For any two values a and b, memcmp order of their encodings equals `compare(a, b)` from
// messages/value.hpp, so secondary indexes and sorted scans are plain LMDB range scans, and a
// composite key (several encodings concatenated) sorts by its first component, then the next.
//
// Layout, one tag byte per type so that each type has its own range:
//   0x05 null
//   0x10 false, 0x11 true
//   0x20 number: 8 bytes of a double rounded toward -infinity (sign-flipped big-endian IEEE 754)
//        then 2 bytes big-endian: the integer's distance above that double (0 for reals). This
//        orders int64 and double values exactly, and 1 and 1.0 encode the same. -0.0 is +0.0,
//        every NaN is one NaN above +infinity.
//   0x30 string: the bytes, 0x00 escaped as 0x00 0xff, then the terminator 0x00 0x01
//   0x40 array: the encoded elements, then 0x00
//   0x50 object: (encoded string key, encoded value) per member in order, then 0x00
// Fixed-width integers (append_u64 and friends) are big-endian and untagged, for sequence numbers
// and numeric ids inside keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

#include "messages/value.hpp"

namespace debros::storage {

namespace key_tag {
constexpr uint8_t null = 0x05;
constexpr uint8_t false_ = 0x10;
constexpr uint8_t true_ = 0x11;
constexpr uint8_t number = 0x20;
constexpr uint8_t string = 0x30;
constexpr uint8_t array = 0x40;
constexpr uint8_t object = 0x50;
/// Greater than every tag: a bound above all typed values.
constexpr uint8_t max = 0xff;
} // namespace key_tag

/// Appends the order-preserving encoding of `x`.
void append_key(std::string& out, const value& x);
void append_key_null(std::string& out);
void append_key_bool(std::string& out, bool x);
void append_key_int(std::string& out, int64_t x);
void append_key_double(std::string& out, double x);
void append_key_string(std::string& out, std::string_view x);

/// The encoding of `x` alone.
std::string key_of(const value& x);

/// Big-endian fixed-width integers (untagged).
void append_u64(std::string& out, uint64_t x);
void append_u32(std::string& out, uint32_t x);
void append_u16(std::string& out, uint16_t x);
uint64_t read_u64(std::string_view in) noexcept; // precondition: in.size() >= 8
uint32_t read_u32(std::string_view in) noexcept; // precondition: in.size() >= 4
uint16_t read_u16(std::string_view in) noexcept; // precondition: in.size() >= 2

/// Decodes one typed value from the front of `in` and advances past it. Numbers come back as
/// integers when they are integral and within int64, as reals otherwise. Errors: corruption.
caf::expected<value> read_key(std::string_view& in);

/// Skips one typed value at the front of `in`. Returns false when its framing is malformed
/// (empty or truncated input, an unknown tag, an unterminated string, array or object). It does
/// not decode what it skips: a number out of the int64 range or an object key that is not a
/// string passes here and is refused by read_key.
bool skip_key(std::string_view& in) noexcept;

/// The smallest key greater than every key that starts with `prefix` (empty when there is none,
/// i.e. the prefix is all 0xff bytes).
std::string prefix_end(std::string_view prefix);

} // namespace debros::storage
