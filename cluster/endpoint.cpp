#include "cluster/endpoint.hpp"

#include <charconv>

#include "messages/errc.hpp"

namespace debros::net {

caf::expected<endpoint> parse_endpoint(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument, "invalid address '" + std::string{text} +
                                                  "': " + why + " (expected HOST:PORT)");
  };
  endpoint out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return bad("missing ']'");
    out.host = std::string{text.substr(1, close - 1)};
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return bad("missing ':PORT'");
    rest.remove_prefix(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return bad("missing ':PORT'");
    out.host = std::string{text.substr(0, colon)};
    if (out.host.find(':') != std::string::npos)
      return bad("IPv6 hosts need brackets");
    rest = text.substr(colon + 1);
  }
  if (out.host.empty())
    return bad("empty host");
  for (char c : out.host)
    if (c == ' ' || c == '/' || c == '\t')
      return bad("invalid character in host");
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (rest.empty() || ec != std::errc{} || ptr != rest.data() + rest.size() || port > 65535)
    return bad("port must be a number from 0 to 65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

caf::expected<std::vector<endpoint>> parse_endpoints(std::string_view text) {
  std::vector<endpoint> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty()) {
      auto e = parse_endpoint(item);
      if (!e)
        return e.error();
      out.push_back(std::move(*e));
    }
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string to_string(const endpoint& e) {
  if (e.host.find(':') != std::string::npos)
    return "[" + e.host + "]:" + std::to_string(e.port);
  return e.host + ":" + std::to_string(e.port);
}

} // namespace debros::net
