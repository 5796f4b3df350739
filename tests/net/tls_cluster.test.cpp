#include <filesystem>
#include <sys/stat.h>
#include <thread>

#include "tests/net/e2e_fixture.hpp"
#include "tests/support/tls_cert.hpp"

using namespace debros;
using namespace debros::test;

TEST_CASE("HTTPS with --tls-cert and --tls-key", "[net][e2e][tls]") {
  temp_dir dir;
  write_self_signed(dir.sub("cert.pem"), dir.sub("key.pem"));
  node_process node{
      dir.sub("data"),
      {"--no-auth", "--tls-cert", dir.sub("cert.pem"), "--tls-key", dir.sub("key.pem")}};
  SECTION("a client trusting the certificate is served") {
    net::http_client_options o;
    o.tls_ca_file = dir.sub("cert.pem");
    auto c = net::http_client::make("https://" + node.http(), o);
    REQUIRE(c);
    auto r = c->json("GET", "/v1/health");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  SECTION("plain HTTP on the TLS port does not get an answer") {
    auto c = net::http_client::make("http://" + node.http());
    REQUIRE(c);
    auto r = c->request("GET", "/v1/health");
    CHECK((!r || r->status != 200));
  }
}

TEST_CASE("nodes join through seeds and see each other as peers", "[net][e2e][cluster]") {
  temp_dir dir;
  SECTION("sharing the first node's generated cluster.pem") {
    node_process a{dir.sub("a"), {"--no-auth"}};
    std::filesystem::create_directories(dir.sub("b"));
    std::filesystem::copy_file(dir.sub("a") + "/cluster.pem", dir.sub("b") + "/cluster.pem");
    REQUIRE(chmod((dir.sub("b") + "/cluster.pem").c_str(), 0600) == 0);
    node_process b{dir.sub("b"), {"--no-auth", "--seeds", a.cluster()}};
    auto peers_of = [](node_process& n) {
      auto c = net::http_client::make(n.url());
      auto r = c->json("GET", "/v1/peers");
      REQUIRE(r);
      return r->body.find("peers")->as_array();
    };
    // Membership is asynchronous: poll (bounded) instead of sleeping a fixed time.
    array a_peers;
    array b_peers;
    for (int i = 0; i < 100 && (a_peers.empty() || b_peers.empty()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      a_peers = peers_of(a);
      b_peers = peers_of(b);
    }
    REQUIRE(b_peers.size() == 1);
    CHECK(b_peers[0].find("node")->as_string() == a.node_id());
    CHECK(b_peers[0].find("up")->as_bool());
    REQUIRE(a_peers.size() == 1);
    CHECK(a_peers[0].find("node")->as_string() == b.node_id());
    // Both stay up: the seed watches the joining node's member actor, not the short-lived
    // actor that greeted it.
    for (int i = 0; i < 15; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto p = peers_of(a);
      REQUIRE(p.size() == 1);
      CHECK(p[0].find("up")->as_bool());
    }
    CHECK(peers_of(b).at(0).find("up")->as_bool());
    SECTION("a stopped peer is reported down") {
      b.stop();
      bool down = false;
      for (int i = 0; i < 100 && !down; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto p = peers_of(a);
        down = p.size() == 1 && !p[0].find("up")->as_bool();
      }
      CHECK(down);
    }
  }
  SECTION("HTTPS nodes with one cluster certificate given as files") {
    // The HTTPS certificate doubles as the cluster certificate and its own cluster CA.
    write_self_signed(dir.sub("cert.pem"), dir.sub("key.pem"));
    REQUIRE(chmod(dir.sub("key.pem").c_str(), 0600) == 0);
    std::vector<std::string> tls{"--no-auth",         "--tls-cert",       dir.sub("cert.pem"),
                                 "--tls-key",         dir.sub("key.pem"), "--cluster-cert",
                                 dir.sub("cert.pem"), "--cluster-key",    dir.sub("key.pem"),
                                 "--cluster-ca",      dir.sub("cert.pem")};
    node_process a{dir.sub("ta"), tls};
    auto with_seed = tls;
    with_seed.insert(with_seed.end(), {"--seeds", a.cluster()});
    node_process b{dir.sub("tb"), with_seed};
    net::http_client_options o;
    o.tls_ca_file = dir.sub("cert.pem");
    auto c = net::http_client::make("https://" + b.http(), o);
    REQUIRE(c);
    array peers;
    for (int i = 0; i < 100 && peers.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto r = c->json("GET", "/v1/peers");
      REQUIRE(r);
      peers = r->body.find("peers")->as_array();
    }
    REQUIRE(peers.size() == 1);
    CHECK(peers[0].find("node")->as_string() == a.node_id());
    CHECK(peers[0].find("up")->as_bool());
  }
}
