// Cursors: a sort tuple and the orderBy it belongs to, as an opaque URL-safe string.
#include "messages/query.hpp"

#include "messages/base64.hpp"
#include "messages/query_detail.hpp"

namespace debros {

using detail::order_by_value;

// -- cursors -----------------------------------------------------------------------------------

namespace {

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
