// A node with authentication on and an admin client, for end-to-end tests.
#pragma once

#include <catch2/catch.hpp>

#include "messages/json.hpp"
#include "net/http_client.hpp"
#include "tests/support/node_process.hpp"

namespace debros::test {

inline value json_of(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v);
  return *v;
}

struct e2e_fixture {
  temp_dir dir;
  node_process node;
  net::http_client admin;

  explicit e2e_fixture(std::vector<std::string> args = {})
      : node(dir.sub("data"), std::move(args)), admin(client(node.admin_token())) {}

  net::http_client client(const std::string& token = {}) {
    auto c = net::http_client::make(node.url());
    REQUIRE(c);
    if (!token.empty())
      c->set_default_header("Authorization", "Bearer " + token);
    return std::move(*c);
  }

  /// Sends JSON text and returns status and parsed body.
  net::json_response call(net::http_client&& c, std::string_view method, std::string_view target,
                          std::string_view body = {}) {
    return call(c, method, target, body);
  }

  net::json_response call(net::http_client& c, std::string_view method, std::string_view target,
                          std::string_view body = {}) {
    auto r = c.request(method, target, body, {{"Content-Type", "application/json"}});
    INFO(method << " " << target);
    REQUIRE(r);
    net::json_response out;
    out.status = r->status;
    if (!r->body.empty()) {
      auto v = parse_json(r->body);
      INFO(r->body);
      REQUIRE(v);
      out.body = std::move(*v);
    }
    return out;
  }

  net::json_response call(std::string_view method, std::string_view target,
                          std::string_view body = {}) {
    return call(admin, method, target, body);
  }

  static std::string code(const net::json_response& r) {
    auto* e = r.body.find_path("error.code");
    return e != nullptr && e->is_string() ? e->as_string() : "";
  }

  std::string token_for(const std::string& user, int64_t ttl_s = 3600) {
    auto r =
        call("POST", "/v1/auth/tokens", to_json(value{object{{"user", user}, {"ttl_s", ttl_s}}}));
    REQUIRE(r.status == 201);
    return r.body.find("token")->as_string();
  }

  /// The value of an unlabelled metric in the node's /v1/metrics text.
  double metric(const std::string& name) {
    auto m = admin.request("GET", "/v1/metrics");
    REQUIRE(m);
    REQUIRE(m->status == 200);
    auto at = m->body.find("\n" + name + " ");
    INFO(name);
    REQUIRE(at != std::string::npos);
    return std::stod(m->body.substr(at + name.size() + 2));
  }
};

constexpr std::string_view post_model = R"({
  "fields": {
    "title": {"type": "string", "required": true, "minLength": 2},
    "views": {"type": "number", "default": 0},
    "tag": {"type": "string", "index": true}
  },
  "sharding": {"strategy": "hash", "count": 4}
})";

} // namespace debros::test
