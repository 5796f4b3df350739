// Cursors: a sort tuple and the orderBy it belongs to, as an opaque URL-safe string.
#include "messages/query.hpp"

#include "messages/query_detail.hpp"

namespace debros {

using detail::order_by_value;

// -- cursors -----------------------------------------------------------------------------------

namespace {

constexpr char base64url_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += base64url_digits[(acc >> bits) & 63];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0)
    out += base64url_digits[(acc << (6 - bits)) & 63];
  return out;
}

int base64url_digit(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

// Accepts only the canonical unpadded form, so every cursor has exactly one spelling.
bool base64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1)
    return false;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int d = base64url_digit(c);
    if (d < 0)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
    acc &= (1u << bits) - 1;
  }
  return acc == 0;
}

bool is_order_by_value(const value& x) noexcept {
  if (!x.is_array())
    return false;
  for (auto& k : x.as_array()) {
    if (!k.is_array() || k.as_array().size() != 2)
      return false;
    auto& parts = k.as_array();
    if (!parts[0].is_string() || !parts[1].is_string())
      return false;
    if (parts[1].as_string() != "asc" && parts[1].as_string() != "desc")
      return false;
  }
  return true;
}

} // namespace

std::string encode_cursor(const std::vector<value>& tuple, const std::vector<sort_key>& keys) {
  array body{order_by_value(keys), value{array(tuple.begin(), tuple.end())}};
  return base64url_encode(to_msgpack(value{std::move(body)}));
}

caf::expected<std::vector<value>> decode_cursor(std::string_view text,
                                                const std::vector<sort_key>& keys) {
  auto invalid = [] { return make_error(errc::invalid_argument, "invalid cursor"); };
  std::string bytes;
  if (!base64url_decode(text, bytes))
    return invalid();
  auto decoded = from_msgpack(bytes);
  if (!decoded || !decoded->is_array() || decoded->as_array().size() != 2)
    return invalid();
  auto& parts = decoded->as_array();
  if (!is_order_by_value(parts[0]) || !parts[1].is_array())
    return invalid();
  if (!(parts[0] == order_by_value(keys)))
    return make_error(errc::invalid_argument, "cursor belongs to a different orderBy");
  if (parts[1].as_array().size() != keys.size() + 1)
    return invalid();
  return std::move(parts[1].as_array());
}

} // namespace debros
