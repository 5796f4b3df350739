#include "storage/key_codec.hpp"

#include <cmath>
#include <cstring>

#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros::storage {

namespace {

// Maps a double's bits so that unsigned comparison follows numeric order.
uint64_t ordered_bits(double d) noexcept {
  if (d == 0)
    d = 0.0; // fold -0.0 into +0.0
  if (std::isnan(d))
    d = std::numeric_limits<double>::quiet_NaN();
  uint64_t u;
  std::memcpy(&u, &d, 8);
  if (std::isnan(d))
    u = 0x7ff8000000000000ull; // one canonical NaN
  return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

double from_ordered_bits(uint64_t u) noexcept {
  u = (u & 0x8000000000000000ull) ? (u & ~0x8000000000000000ull) : ~u;
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

void append_number(std::string& out, double base, uint16_t residual) {
  out += static_cast<char>(key_tag::number);
  append_u64(out, ordered_bits(base));
  append_u16(out, residual);
}

} // namespace

void append_u64(std::string& out, uint64_t x) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(x & 0xff);
    x >>= 8;
  }
  out.append(b, 8);
}

void append_u32(std::string& out, uint32_t x) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(x & 0xff);
    x >>= 8;
  }
  out.append(b, 4);
}

void append_u16(std::string& out, uint16_t x) {
  out += static_cast<char>(x >> 8);
  out += static_cast<char>(x & 0xff);
}

uint64_t read_u64(std::string_view in) noexcept {
  DEBROS_ASSERT(in.size() >= 8); // every caller checks the length of what it read
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<unsigned char>(in[i]);
  return x;
}

uint32_t read_u32(std::string_view in) noexcept {
  DEBROS_ASSERT(in.size() >= 4);
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i)
    x = (x << 8) | static_cast<unsigned char>(in[i]);
  return x;
}

uint16_t read_u16(std::string_view in) noexcept {
  DEBROS_ASSERT(in.size() >= 2);
  return static_cast<uint16_t>((static_cast<unsigned char>(in[0]) << 8) |
                               static_cast<unsigned char>(in[1]));
}

void append_key_null(std::string& out) {
  out += static_cast<char>(key_tag::null);
}

void append_key_bool(std::string& out, bool x) {
  out += static_cast<char>(x ? key_tag::true_ : key_tag::false_);
}

void append_key_double(std::string& out, double x) {
  append_number(out, x, 0);
}

void append_key_int(std::string& out, int64_t x) {
  // The largest double not above x, and how far x is above it. Below 2^53 in magnitude every
  // integer is a double and the residual is 0; above, it is less than the spacing of doubles
  // there (at most 2^10 below 2^63), so it fits 16 bits.
  auto d = static_cast<double>(x); // round to nearest
  constexpr double two63 = 9223372036854775808.0;
  if (d >= two63 || static_cast<int64_t>(d) > x)
    d = std::nextafter(d, -INFINITY);
  auto residual = static_cast<uint64_t>(x - static_cast<int64_t>(d));
  // The bound argued above: a residual past 16 bits would be truncated and misorder the key.
  DEBROS_ASSERT(residual <= 0xffff);
  append_number(out, d, static_cast<uint16_t>(residual));
}

void append_key_string(std::string& out, std::string_view x) {
  out += static_cast<char>(key_tag::string);
  size_t run = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '\0') {
      out.append(x.data() + run, i - run + 1);
      out += '\xff';
      run = i + 1;
    }
  }
  out.append(x.data() + run, x.size() - run);
  out += '\0';
  out += '\x01';
}

void append_key(std::string& out, const value& x) {
  switch (x.type()) {
  case kind::null:
    append_key_null(out);
    return;
  case kind::boolean:
    append_key_bool(out, x.as_bool());
    return;
  case kind::integer:
    append_key_int(out, x.as_int());
    return;
  case kind::real:
    append_key_double(out, x.as_double());
    return;
  case kind::string:
    append_key_string(out, x.as_string());
    return;
  case kind::array:
    out += static_cast<char>(key_tag::array);
    for (auto& e : x.as_array())
      append_key(out, e);
    out += '\0';
    return;
  case kind::object:
    out += static_cast<char>(key_tag::object);
    for (auto& [k, v] : x.as_object()) {
      append_key_string(out, k);
      append_key(out, v);
    }
    out += '\0';
    return;
  }
}

std::string key_of(const value& x) {
  std::string out;
  append_key(out, x);
  return out;
}

namespace {

bool read_string(std::string_view& in, std::string* out) noexcept {
  // `in` starts after the tag.
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '\0') {
      if (out)
        *out += in[i];
      ++i;
      continue;
    }
    if (i + 1 >= in.size())
      return false;
    if (in[i + 1] == '\x01') {
      in.remove_prefix(i + 2);
      return true;
    }
    if (in[i + 1] != '\xff')
      return false;
    if (out)
      *out += '\0';
    i += 2;
  }
  return false;
}

caf::error corrupt(const char* what) {
  return make_error(errc::corruption, std::string{"malformed key: "} + what);
}

} // namespace

caf::expected<value> read_key(std::string_view& in) {
  if (in.empty())
    return corrupt("empty");
  auto tag = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  switch (tag) {
  case key_tag::null:
    return value{};
  case key_tag::false_:
    return value{false};
  case key_tag::true_:
    return value{true};
  case key_tag::number: {
    if (in.size() < 10)
      return corrupt("truncated number");
    double d = from_ordered_bits(read_u64(in));
    uint16_t residual = read_u16(in.substr(8));
    in.remove_prefix(10);
    constexpr double two63 = 9223372036854775808.0;
    if (std::isfinite(d) && d == std::floor(d) && d >= -two63 && d < two63) {
      // A residual that carries past INT64_MAX was never written by append_key_int.
      int64_t i = 0;
      if (__builtin_add_overflow(static_cast<int64_t>(d), static_cast<int64_t>(residual), &i))
        return corrupt("integer above the int64 range");
      return value{i};
    }
    if (residual != 0)
      return corrupt("residual on a non-integral number");
    return value{d};
  }
  case key_tag::string: {
    std::string s;
    if (!read_string(in, &s))
      return corrupt("unterminated string");
    return value{std::move(s)};
  }
  case key_tag::array: {
    array xs;
    while (!in.empty() && in[0] != '\0') {
      auto e = read_key(in);
      if (!e)
        return e;
      xs.push_back(std::move(*e));
    }
    if (in.empty())
      return corrupt("unterminated array");
    in.remove_prefix(1);
    return value{std::move(xs)};
  }
  case key_tag::object: {
    object obj;
    while (!in.empty() && in[0] != '\0') {
      if (static_cast<uint8_t>(in[0]) != key_tag::string)
        return corrupt("object key is not a string");
      in.remove_prefix(1);
      std::string k;
      if (!read_string(in, &k))
        return corrupt("unterminated object key");
      auto v = read_key(in);
      if (!v)
        return v;
      obj.append_unchecked(std::move(k), std::move(*v));
    }
    if (in.empty())
      return corrupt("unterminated object");
    in.remove_prefix(1);
    return value{std::move(obj)};
  }
  default:
    return corrupt("unknown tag");
  }
}

bool skip_key(std::string_view& in) noexcept {
  // Iterative over nesting: `open` counts arrays and objects not yet closed.
  size_t open = 0;
  do {
    if (in.empty())
      return false;
    auto tag = static_cast<uint8_t>(in[0]);
    if (tag == 0 && open > 0) {
      in.remove_prefix(1);
      --open;
      continue;
    }
    in.remove_prefix(1);
    switch (tag) {
    case key_tag::null:
    case key_tag::false_:
    case key_tag::true_:
      break;
    case key_tag::number:
      if (in.size() < 10)
        return false;
      in.remove_prefix(10);
      break;
    case key_tag::string:
      if (!read_string(in, nullptr))
        return false;
      break;
    case key_tag::array:
      ++open;
      break;
    case key_tag::object:
      // Keys are untagged-looking strings with a string tag; values follow; both are items.
      ++open;
      break;
    default:
      return false;
    }
  } while (open > 0);
  return true;
}

std::string prefix_end(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty()) {
    auto c = static_cast<unsigned char>(out.back());
    if (c != 0xff) {
      out.back() = static_cast<char>(c + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

} // namespace debros::storage
