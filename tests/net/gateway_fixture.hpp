// The gateway in the test process, over a runtime on a temporary directory: for tests that need
// to reach inside (WebSocket factories, stopping the gateway while a response is written).
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "net/api.hpp"
#include "net/auth.hpp"
#include "net/gateway.hpp"
#include "net/http_client.hpp"
#include "tests/support/runtime_fixture.hpp"

namespace debros::test {

struct gateway_fixture : runtime_fixture {
  std::unique_ptr<net::auth> a;
  net::metrics m;
  std::unique_ptr<net::api> api;
  std::unique_ptr<net::gateway> gw;

  /// Starts the gateway on a free loopback port with one thread, authentication on or off, the
  /// limits of `o` (also the api's) and the WebSocket `routes`.
  void start_gateway(bool auth_on, net::gateway_options o = {},
                     std::vector<std::pair<std::string, net::ws_factory>> routes = {}) {
    auto opened = net::auth::open(*rt, dir.path(), auth_on);
    REQUIRE(opened);
    a = std::move(*opened);
    api =
        std::make_unique<net::api>(*rt, *a, m, net::api_limits{o.body_bytes_max, o.json_depth_max});
    o.listen = net::endpoint{"127.0.0.1", 0};
    o.threads = 1;
    auto g = net::gateway::start(*api, m, o, std::move(routes));
    REQUIRE(g);
    gw = std::move(*g);
  }

  /// "127.0.0.1:PORT"
  std::string address() const { return net::to_string(gw->local()); }

  /// The admin token (authentication on).
  std::string admin_token() const {
    std::ifstream in{dir.sub("admin.token")};
    std::string token;
    std::getline(in, token);
    return token;
  }

  net::http_client client(const std::string& token = {}) {
    auto c = net::http_client::make("http://" + address());
    REQUIRE(c);
    if (!token.empty())
      c->set_default_header("Authorization", "Bearer " + token);
    return std::move(*c);
  }
};

} // namespace debros::test
