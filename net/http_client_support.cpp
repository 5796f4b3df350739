// The parts of http_client that need no Beast: URLs, header maps, error replies. Kept apart
// so that they compile in a second instead of the Beast translation unit's many.
#include <algorithm>
#include <cctype>

#include "messages/json.hpp"
#include "cluster/endpoint.hpp"
#include "net/http_client.hpp"

namespace debros::net {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string status_message(int status, std::string_view body) {
  std::string msg = "the server replied with HTTP status " + std::to_string(status);
  // A proxy's HTML page is not worth quoting at length; the start says what it is.
  constexpr size_t quote_max = 200;
  if (!body.empty()) {
    msg += ": ";
    msg += body.substr(0, quote_max);
    if (body.size() > quote_max)
      msg += "...";
  }
  return msg;
}

} // namespace

caf::expected<base_url> parse_base_url(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument,
                      "invalid URL '" + std::string{text} + "': " + why +
                          " (expected http://HOST:PORT or https://HOST:PORT)");
  };
  base_url out;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    out.tls = true;
    rest = text.substr(8);
  } else {
    return bad("the scheme must be http or https");
  }
  if (rest.ends_with('/'))
    rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos)
    return bad("a base URL has no path");
  if (rest.empty())
    return bad("empty host");
  // Without a port, append the scheme's so that parse_endpoint checks the host the same way.
  bool has_port = rest.back() != ']' && rest.find(':') != std::string_view::npos &&
                  (rest.front() != '[' || rest.find("]:") != std::string_view::npos);
  std::string hostport{rest};
  if (!has_port)
    hostport += out.tls ? ":443" : ":80";
  auto ep = parse_endpoint(hostport);
  if (!ep)
    return bad("the host or port is invalid");
  if (ep->port == 0)
    return bad("port 0 is not a server's port");
  out.host = std::move(ep->host);
  out.port = ep->port;
  return out;
}

std::string to_string(const base_url& url) {
  return (url.tls ? "https://" : "http://") + to_string(endpoint{url.host, url.port});
}

void header_map::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

const std::string* header_map::find(std::string_view name) const noexcept {
  for (auto& f : fields_)
    if (iequals(f.first, name))
      return &f.second;
  return nullptr;
}

std::string header_map::get(std::string_view name) const {
  auto v = find(name);
  return v != nullptr ? *v : std::string{};
}

errc errc_from_name(std::string_view name) noexcept {
  for (uint8_t i = 1; i <= errc_max; ++i)
    if (to_string(static_cast<errc>(i)) == name)
      return static_cast<errc>(i);
  return errc::internal;
}

errc errc_from_status(int status) noexcept {
  switch (status) {
  case 400:
    return errc::invalid_argument;
  case 401:
    return errc::unauthenticated;
  case 403:
    return errc::forbidden;
  case 404:
    return errc::not_found;
  case 409:
    return errc::conflict;
  case 413:
    return errc::too_large;
  case 422:
    return errc::validation_failed;
  case 501:
    return errc::unimplemented;
  case 503:
    return errc::unavailable;
  case 504:
    return errc::timeout;
  case 507:
    return errc::storage_full;
  default:
    return errc::internal;
  }
}

caf::error error_of(const json_response& reply) {
  auto err = reply.body.find("error");
  auto code = err != nullptr ? err->find("code") : nullptr;
  if (code == nullptr || !code->is_string())
    return make_error(
        errc_from_status(reply.status),
        status_message(reply.status, reply.body.is_null() ? "" : to_json(reply.body)));
  auto msg = err->find("message");
  std::string text = msg != nullptr && msg->is_string()
                         ? msg->as_string()
                         : std::string{default_message(errc_from_name(code->as_string()))};
  std::vector<error_detail> details;
  if (auto d = err->find("details"); d != nullptr && d->is_array()) {
    for (auto& x : d->as_array()) {
      auto field = x.find("field");
      auto message = x.find("message");
      details.push_back(
          {field != nullptr && field->is_string() ? field->as_string() : "",
           message != nullptr && message->is_string() ? message->as_string() : to_json(x)});
    }
  }
  auto ec = errc_from_name(code->as_string());
  if (details.empty())
    return make_error(ec, std::move(text));
  return make_error(ec, std::move(text), std::move(details));
}

caf::error error_of(const http_response& reply) {
  auto body = parse_json(reply.body);
  if (!body)
    return make_error(errc_from_status(reply.status), status_message(reply.status, reply.body));
  return error_of(json_response{reply.status, std::move(*body)});
}

} // namespace debros::net
