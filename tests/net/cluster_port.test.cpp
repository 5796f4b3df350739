// The cluster port speaks only mutual TLS with a private cluster CA (docs/node.md "## 8. TLS and
// the cluster"): nodes sharing a cluster credential join, nothing else gets past the handshake,
// an unauthenticated connection costs the node nothing, bad credential files stop the start,
// and peers that stay down are forgotten.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/stat.h>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/net/e2e_fixture.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/tls_cert.hpp"

using namespace debros;
using namespace debros::test;

namespace {

array peers_of(node_process& n) {
  auto c = net::http_client::make(n.url());
  REQUIRE(c);
  auto r = c->json("GET", "/v1/peers");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->body.find("peers")->as_array();
}

// Polls (bounded) until `done` holds; returns whether it did.
template <class F>
bool eventually(F done, int tries = 200) {
  for (int i = 0; i < tries; ++i) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Copies the cluster credential of `from` into the (new) data directory `to`.
void share_credential(const node_process& from, const std::string& to) {
  std::filesystem::create_directories(to);
  auto src = from.data_dir() + "/cluster.pem";
  REQUIRE(std::filesystem::exists(src));
  std::filesystem::copy_file(src, to + "/cluster.pem");
  REQUIRE(chmod((to + "/cluster.pem").c_str(), 0600) == 0);
}

// VmRSS of a process in KiB (0 once it is gone).
long rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

struct exit_result {
  int code = -1; // -1: did not exit in time (killed)
  std::string err;
};

// Runs debros-node with `args` until it exits (or kills it after `wait_ms`); stderr is captured.
exit_result run_to_exit(const temp_dir& dir, std::vector<std::string> args, int wait_ms = 20000) {
  args.insert(args.begin(),
              {DEBROS_NODE_BIN, "--http", "127.0.0.1:0", "--cluster", "127.0.0.1:0", "--no-auth"});
  auto err_path = dir.sub("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  exit_result out;
  int status = 0;
  bool exited = false;
  for (int i = 0; i < wait_ms / 10 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited)
      usleep(10000);
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    out.code = WEXITSTATUS(status);
  }
  std::ifstream in{err_path};
  out.err.assign(std::istreambuf_iterator<char>{in}, {});
  return out;
}

} // namespace

TEST_CASE("nodes sharing a cluster.pem join; each node makes its own on first start",
          "[net][e2e][cluster]") {
  temp_dir dir;
  node_process a{dir.sub("a"), {"--no-auth"}};
  struct stat st {};
  REQUIRE(stat((dir.sub("a") + "/cluster.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  share_credential(a, dir.sub("b"));
  node_process b{dir.sub("b"), {"--no-auth", "--seeds", a.cluster()}};
  CHECK(eventually([&] { return peers_of(a).size() == 1 && peers_of(b).size() == 1; }));
  auto pa = peers_of(a);
  auto pb = peers_of(b);
  REQUIRE(pa.size() == 1);
  REQUIRE(pb.size() == 1);
  CHECK(pa[0].find("node")->as_string() == b.node_id());
  CHECK(pb[0].find("node")->as_string() == a.node_id());
  CHECK(pb[0].find("up")->as_bool());
  SECTION("the credential is kept across restarts") {
    b.restart();
    CHECK(eventually([&] {
      auto p = peers_of(b);
      return p.size() == 1 && p[0].find("up")->as_bool();
    }));
  }
}

TEST_CASE("a node with another cluster credential or a plaintext client cannot join",
          "[net][e2e][cluster]") {
  temp_dir dir;
  node_process a{dir.sub("a"), {"--no-auth"}};
  SECTION("a node with its own auto-generated cluster.pem") {
    node_process b{dir.sub("b"), {"--no-auth", "--seeds", a.cluster()}};
    // Greetings go out every 2 s: several rounds pass without either node listing the other.
    for (int i = 0; i < 14; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      CHECK(peers_of(a).empty());
      CHECK(peers_of(b).empty());
    }
  }
  SECTION("a plaintext CAF client gets no BASP handshake and is refused") {
    raw_socket s{a.cluster()};
    // A plaintext CAF node sends its BASP server handshake (operation 0x00) on accept; a TLS
    // server waits for the client's hello. Then a plaintext client handshake header follows.
    std::string header(24, '\0');
    header[0] = '\x01';
    s.send_all(header);
    auto got = s.read_all();
    INFO("first byte " << (got.empty() ? -1 : static_cast<int>(got[0])));
    // Nothing, or a TLS alert record (0x15).
    CHECK((got.empty() || got[0] == '\x15'));
    CHECK(peers_of(a).empty());
  }
}

TEST_CASE("a BASP header claiming ~4 GiB costs the node nothing before the handshake",
          "[net][e2e][cluster]") {
  temp_dir dir;
  std::vector<std::string> launcher;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Without the fix the node allocates (and touches) ~4 GiB per connection. The test kills it
  // as soon as its RSS grows by 64 MiB; as a backstop, its data segment is capped at 5 GiB so
  // that no more than one such buffer can ever exist. (A cap below 4 GiB would hide the defect:
  // the allocation would fail quietly. Sanitizers reserve more than any cap.)
  if (std::filesystem::exists("/usr/bin/prlimit"))
    launcher = {"/usr/bin/prlimit", "--data=5368709120"};
#endif
  node_process node{
      dir.sub("n"), {"--no-auth", "--scheduler-threads", "2", "--http-threads", "2"}, launcher};
  auto health = [&] {
    auto c = net::http_client::make(node.url());
    if (!c)
      return false;
    auto r = c->request("GET", "/v1/health");
    return r && r->status == 200;
  };
  REQUIRE(health());
  long base = rss_kib(node.pid());
  REQUIRE(base > 0);
  long peak = base;
  {
    std::vector<std::unique_ptr<raw_socket>> conns;
    for (int c = 0; c < 3; ++c) {
      conns.push_back(std::make_unique<raw_socket>(node.cluster()));
      // A client handshake claiming a 0xFFFFFFF0-byte payload: operation, 2 padding bytes,
      // flags, payload length, then operation data and two actor ids left zero. (In 0.17.6
      // actor ids are 64-bit, so the header is 32 bytes, not 24.)
      std::string header{"\x01\x00\x00\x00\xFF\xFF\xFF\xF0", 8};
      header.append(24, '\0');
      conns.back()->send_all(header);
    }
    // A trickle of payload bytes; stop at once (and kill the node) if memory runs away.
    for (int i = 0; i < 200 && peak <= base + 64 * 1024; ++i) {
      if (i % 5 == 0)
        for (auto& c : conns)
          c->send_all(std::string(1, 'x'));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      peak = std::max(peak, rss_kib(node.pid()));
    }
    if (peak > base + 64 * 1024)
      kill(node.pid(), SIGKILL);
    peak = std::max(peak, rss_kib(node.pid()));
    INFO("base " << base << " KiB, peak " << peak << " KiB");
    CHECK(peak < base + 8 * 1024);
    CHECK(health());
  }
  CHECK(health());
}

TEST_CASE("bad cluster credential files stop the node with exit 2 and name the file",
          "[net][cluster][robustness]") {
  temp_dir dir;
  write_self_signed(dir.sub("cert.pem"), dir.sub("key.pem"));
  write_self_signed(dir.sub("other.pem"), dir.sub("other-key.pem"));
  REQUIRE(chmod(dir.sub("key.pem").c_str(), 0600) == 0);
  REQUIRE(chmod(dir.sub("other-key.pem").c_str(), 0600) == 0);
  auto with = [&](const std::string& cert, const std::string& key, const std::string& ca) {
    return run_to_exit(dir, {"--data-dir", dir.sub("data"), "--cluster-cert", cert, "--cluster-key",
                             key, "--cluster-ca", ca});
  };
  SECTION("good files: the node starts") {
    auto r = run_to_exit(dir,
                         {"--data-dir", dir.sub("data"), "--cluster-cert", dir.sub("cert.pem"),
                          "--cluster-key", dir.sub("key.pem"), "--cluster-ca", dir.sub("cert.pem")},
                         3000);
    INFO(r.err);
    CHECK(r.code == -1); // still running after 3 s: killed by the helper
  }
  SECTION("a missing certificate") {
    auto r = with(dir.sub("nope.pem"), dir.sub("key.pem"), dir.sub("cert.pem"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("nope.pem")));
  }
  SECTION("a certificate file that holds no certificate") {
    std::ofstream{dir.sub("junk.pem")} << "not a certificate\n";
    auto r = with(dir.sub("junk.pem"), dir.sub("key.pem"), dir.sub("cert.pem"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("junk.pem")));
  }
  SECTION("a key that does not match the certificate") {
    auto r = with(dir.sub("cert.pem"), dir.sub("other-key.pem"), dir.sub("cert.pem"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("other-key.pem")));
    CHECK_THAT(r.err, Catch::Contains("does not match"));
  }
  SECTION("a key readable by others") {
    REQUIRE(chmod(dir.sub("key.pem").c_str(), 0644) == 0);
    auto r = with(dir.sub("cert.pem"), dir.sub("key.pem"), dir.sub("cert.pem"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("key.pem")));
    CHECK_THAT(r.err, Catch::Contains("readable"));
  }
  SECTION("a certificate the CA did not sign") {
    auto r = with(dir.sub("cert.pem"), dir.sub("key.pem"), dir.sub("other.pem"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("cert.pem")));
    CHECK_THAT(r.err, Catch::Contains(dir.sub("other.pem")));
  }
  SECTION("only some of the three options") {
    auto r =
        run_to_exit(dir, {"--data-dir", dir.sub("data"), "--cluster-cert", dir.sub("cert.pem")});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("--cluster-key"));
  }
  SECTION("a generated cluster.pem made readable by others") {
    { node_process n{dir.sub("data"), {"--no-auth"}}; }
    REQUIRE(chmod((dir.sub("data") + "/cluster.pem").c_str(), 0644) == 0);
    auto r = run_to_exit(dir, {"--data-dir", dir.sub("data")});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("data") + "/cluster.pem"));
  }
  SECTION("a damaged cluster.pem") {
    std::filesystem::create_directories(dir.sub("data"));
    { std::ofstream{dir.sub("data") + "/cluster.pem"} << "-----BEGIN CERTIFICATE-----\nxx\n"; }
    REQUIRE(chmod((dir.sub("data") + "/cluster.pem").c_str(), 0600) == 0);
    auto r = run_to_exit(dir, {"--data-dir", dir.sub("data")});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir.sub("data") + "/cluster.pem"));
  }
}

TEST_CASE("a peer down for --peer-forget-ms is forgotten", "[net][e2e][cluster]") {
  temp_dir dir;
  node_process a{dir.sub("a"), {"--no-auth", "--peer-forget-ms", "500"}};
  share_credential(a, dir.sub("b"));
  node_process b{dir.sub("b"), {"--no-auth", "--seeds", a.cluster()}};
  REQUIRE(eventually([&] { return peers_of(a).size() == 1; }));
  b.stop();
  // Reported down first, then gone.
  bool seen_down = false;
  bool gone = eventually([&] {
    auto p = peers_of(a);
    if (p.size() == 1 && !p[0].find("up")->as_bool())
      seen_down = true;
    return p.empty();
  });
  CHECK(gone);
  CHECK(seen_down);
  SECTION("an up peer is never forgotten") {
    node_process c{dir.sub("b"), {"--no-auth", "--seeds", a.cluster()}};
    REQUIRE(eventually([&] { return peers_of(a).size() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(peers_of(a).size() == 1);
  }
}

namespace {

struct tls_probe_options {
  std::string cert;       // client certificate and key (PEM, one file); empty: none
  std::string ca;         // CA to verify the server with; empty: no verification
  bool anonymous = false; // offer only anonymous (aNULL) TLS 1.2 suites
};

// Connects to the cluster port over TLS and reads what the node sends first inside TLS (its BASP
// server handshake). Returns the bytes read, or nothing when the handshake or the read failed.
std::optional<std::string> tls_probe(const std::string& hostport, const tls_probe_options& o) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_client_method()), SSL_CTX_free};
  REQUIRE(ctx);
  if (!o.cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), o.cert.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  if (!o.ca.empty()) {
    REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), o.ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (o.anonymous) {
    SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
    REQUIRE(SSL_CTX_set_cipher_list(ctx.get(), "aNULL@SECLEVEL=0") == 1);
  }
  auto colon = hostport.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
  inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::unique_ptr<SSL, void (*)(SSL*)> ssl{SSL_new(ctx.get()), SSL_free};
  SSL_set_fd(ssl.get(), fd);
  std::optional<std::string> out;
  if (SSL_connect(ssl.get()) == 1) {
    // With TLS 1.3 the server checks the client's certificate after the client's handshake is
    // done: a refusal shows up as a failed read.
    char buf[256];
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0)
      out = std::string(buf, static_cast<size_t>(n));
  }
  ERR_clear_error();
  close(fd);
  return out;
}

} // namespace

TEST_CASE("the cluster port verifies the client's certificate and offers no anonymous TLS",
          "[net][e2e][cluster]") {
  temp_dir dir;
  node_process a{dir.sub("a"), {"--no-auth"}};
  node_process stranger{dir.sub("s"), {"--no-auth"}};
  auto mine = dir.sub("a") + "/cluster.pem";
  auto theirs = dir.sub("s") + "/cluster.pem";
  SECTION("a client with the cluster credential completes the handshake") {
    auto got = tls_probe(a.cluster(), {mine, mine});
    REQUIRE(got);
    CHECK(!got->empty());
  }
  SECTION("a client without a certificate is refused") {
    CHECK(!tls_probe(a.cluster(), {"", mine}));
  }
  SECTION("a client with another cluster's certificate is refused") {
    CHECK(!tls_probe(a.cluster(), {theirs, ""}));
  }
  SECTION("the node's certificate does not verify against another cluster's CA") {
    CHECK(!tls_probe(a.cluster(), {mine, theirs}));
  }
  SECTION("an anonymous (aNULL) client finds no common suite") {
    CHECK(!tls_probe(a.cluster(), {"", "", true}));
  }
}

TEST_CASE("a seed that accepts but never completes the TLS handshake delays no other seed",
          "[net][e2e][cluster]") {
  temp_dir dir;
  // A listening socket that the kernel accepts connections on and nobody ever answers.
  auto [silent, silent_port] = listen_on_loopback();
  auto silent_seed = "127.0.0.1:" + std::to_string(silent_port);
  node_process a{dir.sub("a"), {"--no-auth"}};
  share_credential(a, dir.sub("b"));
  node_process b{dir.sub("b"), {"--no-auth", "--seeds", silent_seed + "," + a.cluster()}};
  // The greeting of the silent seed gives up after 5 s; then a is met.
  CHECK(eventually([&] { return peers_of(b).size() == 1; }, 300));
  close(silent);
}
