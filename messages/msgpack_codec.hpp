// msgpack encoding of document values, and a bounds-checked zero-copy reader of msgpack bytes.
//
// Encoding goes through msgpack-cxx's packer (canonical smallest forms). Decoding does not use
// msgpack-cxx's unpacker: that one throws, allocates a zone per object and cannot skip a value
// without building it. Query scans need to find one field in a stored record without decoding
// the rest, so `mp_reader` reads item headers in place and skips subtrees; `from_msgpack` is
// built on it. Tests cross-check it against msgpack-cxx on random inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "caf/expected.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"

#include "messages/value.hpp"

namespace debros {

/// Limits applied when decoding untrusted bytes.
struct decode_limits {
  /// Largest accepted input in bytes (16 MiB, the default HTTP body limit).
  size_t max_bytes = size_t{16} << 20;
  /// Deepest accepted nesting: the root value is at depth 1, its elements at depth 2, and no
  /// value may sit deeper than this.
  uint32_t max_depth = 64;
  /// Reject strings that are not valid UTF-8 (they could not be returned as JSON).
  bool check_utf8 = true;
};

/// Appends the msgpack encoding of `x` to `out`. Integers take their smallest form, reals are
/// always float64 (also integral ones: 1.0 stays a real), objects are maps with string keys in
/// member order.
void append_msgpack(std::string& out, const value& x);

/// The msgpack encoding of `x`.
std::string to_msgpack(const value& x);

/// Decodes exactly one value filling all of `bytes`. Errors (errc::invalid_argument, or
/// errc::too_large past `max_bytes`/`max_depth`) say what is wrong at which byte offset:
/// truncated input, trailing bytes, unsupported types (bin, ext, the reserved byte 0xc1),
/// non-string or duplicate map keys, integers above INT64_MAX, non-finite floats, bad UTF-8.
/// Never throws on bad input.
caf::expected<value> from_msgpack(std::string_view bytes, const decode_limits& limits = {});

/// True if `s` is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

namespace detail {

/// The big-endian integer or IEEE float of sizeof(T) bytes at `p` (which must hold them).
template <class T>
T load_be(const char* p) noexcept {
  T x;
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  uint64_t u = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    u = (u << 8) | b[i];
  if constexpr (sizeof(T) == 8) {
    std::memcpy(&x, &u, 8);
  } else if constexpr (sizeof(T) == 4) {
    auto v = static_cast<uint32_t>(u);
    std::memcpy(&x, &v, 4);
  } else if constexpr (sizeof(T) == 2) {
    auto v = static_cast<uint16_t>(u);
    std::memcpy(&x, &v, 2);
  } else {
    auto v = static_cast<uint8_t>(u);
    std::memcpy(&x, &v, 1);
  }
  return x;
}

} // namespace detail

/// A forward reader of msgpack items over borrowed bytes. Every read checks bounds; on the first
/// problem the reader stops, `failed()` turns true and `error()` says what and where. Returned
/// string views point into the input and live as long as it does.
class mp_reader {
public:
  enum class token : uint8_t { nil, boolean, integer, real, string, array, map };

  /// The header of one item. For arrays and maps, `count` is the number of elements or pairs
  /// that follow; the reader is positioned at the first of them.
  struct item {
    token type = token::nil;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0;
    std::string_view string;
    uint32_t count = 0;
  };

  explicit mp_reader(std::string_view bytes) noexcept : data_(bytes) {}

  /// Reads the next item header. Returns false (and sets the error) at the end of input or on
  /// an invalid or unsupported byte.
  bool next(item& out) noexcept;

  /// Skips one whole item including its nested elements. Returns false on error.
  bool skip() noexcept;

  /// Positioned at the elements of a map with `count` pairs: advances to the value of `key`
  /// (returns true) or past the whole map (returns false; check `failed()`).
  bool find_key(uint32_t count, std::string_view key) noexcept;

  bool at_end() const noexcept { return pos_ >= data_.size(); }
  bool failed() const noexcept { return error_ != nullptr; }
  size_t offset() const noexcept { return pos_; }
  /// What went wrong ("truncated", "unsupported type bin8", ...), or nullptr.
  const char* error() const noexcept { return error_; }
  /// The offset of the item that failed.
  size_t error_offset() const noexcept { return error_offset_; }

private:
  /// `next` for every case: other types, truncation and errors.
  bool next_slow(item& out) noexcept;
  bool fail(const char* what, size_t at) noexcept;
  bool take(size_t n, const char*& p) noexcept;

  std::string_view data_;
  size_t pos_ = 0;
  const char* error_ = nullptr;
  size_t error_offset_ = 0;
};

// Query scans call `next` for every key and value they pass (find_key, skip, query_eval.cpp), so
// the item kinds documents are made of are read here, inline, when all their bytes are present.
// Everything else (other types, truncation, a reader that already failed) goes to `next_slow`
// with the reader untouched, so results and errors are exactly those of `next_slow`. GCC at -O2
// judges the switch too large to inline and keeps one out-of-line copy, which puts a call back on
// every item: forced, a filter on a 300-byte document runs about a third faster.
[[gnu::always_inline]] inline bool mp_reader::next(item& out) noexcept {
  if (error_ != nullptr || pos_ >= data_.size())
    return next_slow(out);
  const char* p = data_.data() + pos_;
  size_t rest = data_.size() - pos_ - 1; // bytes after the header byte
  auto c = static_cast<unsigned char>(*p);
  auto integer = [&](int64_t x, size_t bytes) {
    out.type = token::integer;
    out.integer = x;
    pos_ += 1 + bytes;
    return true;
  };
  if (c <= 0x7f)
    return integer(c, 0);
  if (c >= 0xe0)
    return integer(static_cast<int8_t>(c), 0);
  if (c <= 0xbf) { // fixmap, fixarray, fixstr
    if (c >= 0xa0) {
      uint32_t len = c & 0x1f;
      if (len > rest)
        return next_slow(out);
      out.type = token::string;
      out.string = std::string_view{p + 1, len};
      pos_ += 1 + len;
      return true;
    }
    // As in next_slow: each element needs at least one byte.
    token t = c <= 0x8f ? token::map : token::array;
    uint32_t n = c & 0x0f;
    if ((t == token::map ? 2u * n : n) > rest)
      return next_slow(out);
    out.type = t;
    out.count = n;
    pos_ += 1;
    return true;
  }
  switch (c) {
  case 0xc0:
    out.type = token::nil;
    pos_ += 1;
    return true;
  case 0xc2:
  case 0xc3:
    out.type = token::boolean;
    out.boolean = c == 0xc3;
    pos_ += 1;
    return true;
  case 0xcb:
    if (rest < 8)
      break;
    out.type = token::real;
    out.real = detail::load_be<double>(p + 1);
    pos_ += 9;
    return true;
  case 0xcc:
    if (rest < 1)
      break;
    return integer(detail::load_be<uint8_t>(p + 1), 1);
  case 0xcd:
    if (rest < 2)
      break;
    return integer(detail::load_be<uint16_t>(p + 1), 2);
  case 0xce:
    if (rest < 4)
      break;
    return integer(detail::load_be<uint32_t>(p + 1), 4);
  case 0xcf: { // how the encoder writes positive int64 beyond uint32, e.g. dates
    if (rest < 8)
      break;
    auto u = detail::load_be<uint64_t>(p + 1);
    if (u > static_cast<uint64_t>(INT64_MAX))
      break;
    return integer(static_cast<int64_t>(u), 8);
  }
  case 0xd0:
    if (rest < 1)
      break;
    return integer(detail::load_be<int8_t>(p + 1), 1);
  case 0xd1:
    if (rest < 2)
      break;
    return integer(detail::load_be<int16_t>(p + 1), 2);
  case 0xd2:
    if (rest < 4)
      break;
    return integer(detail::load_be<int32_t>(p + 1), 4);
  case 0xd3:
    if (rest < 8)
      break;
    return integer(detail::load_be<int64_t>(p + 1), 8);
  case 0xd9: {
    if (rest < 1)
      break;
    uint32_t len = detail::load_be<uint8_t>(p + 1);
    if (len > rest - 1)
      break;
    out.type = token::string;
    out.string = std::string_view{p + 2, len};
    pos_ += 2 + len;
    return true;
  }
  default:
    break;
  }
  return next_slow(out);
}

/// CAF serialization of a value: its msgpack bytes. Deserializing checks them with the
/// default decode_limits, so a peer cannot make a node build an invalid value.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, value& x) {
  if constexpr (Inspector::reads_state) {
    std::string bytes = to_msgpack(x);
    return f(caf::meta::type_name("debros::value"), bytes);
  } else {
    std::string bytes;
    auto load = caf::meta::load_callback([&]() -> caf::error {
      auto decoded = from_msgpack(bytes);
      if (!decoded)
        return std::move(decoded.error());
      x = std::move(*decoded);
      return caf::none;
    });
    return f(caf::meta::type_name("debros::value"), bytes, load);
  }
}

} // namespace debros
