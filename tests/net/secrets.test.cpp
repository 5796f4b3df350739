// Secrets of a node on disk (docs/node.md sections 2 and 4): the token-signing key in its own
// 0600 file, a private store, key rotation, and refusing to start with readable or weak secrets.
#include <fstream>
#include <sys/stat.h>

#include "net/auth.hpp"
#include "storage/environment.hpp"
#include "tests/net/e2e_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/tls_cert.hpp"

using namespace debros;
using namespace debros::test;

namespace {

int mode_of(const std::string& path) {
  struct ::stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// The store's meta / auth.key, as versions before token.key kept it (std::nullopt when absent).
// The store of `data_dir` with its table "meta".
std::unique_ptr<storage::environment> open_meta(const std::string& data_dir) {
  storage::env_options eo;
  eo.path = data_dir;
  eo.tables = {"meta"};
  auto env = storage::environment::open(eo);
  REQUIRE(env);
  return std::move(*env);
}

std::optional<std::string> stored_key(const std::string& data_dir) {
  auto env = open_meta(data_dir);
  auto txn = env->read();
  REQUIRE(txn);
  auto v = txn->get(env->get_table("meta"), "auth.key");
  REQUIRE(v);
  return *v ? std::optional<std::string>{std::string{**v}} : std::nullopt;
}

void plant_stored_key(const std::string& data_dir, const std::string& key) {
  auto env = open_meta(data_dir);
  auto txn = env->begin_write();
  REQUIRE(txn);
  REQUIRE(!txn->put(env->get_table("meta"), "auth.key", key));
  REQUIRE(!txn->commit());
}

// Runs debros-node to its exit (it must refuse to start); returns the exit code and stderr.
std::pair<int, std::string> refused_start(const temp_dir& dir, std::vector<std::string> args) {
  auto log = dir.sub("refused.log");
  std::string cmd = std::string{"exec "} + DEBROS_NODE_BIN + " --data-dir '" + dir.sub("data") +
                    "' --http 127.0.0.1:0 --cluster 127.0.0.1:0";
  for (auto& a : args)
    cmd += " '" + a + "'";
  cmd += " 2>'" + log + "'";
  child_process node{{"/bin/sh", "-c", cmd}};
  // A node that starts prints its ready line (and is then killed: it did not refuse); one that
  // refuses closes its output.
  std::string line;
  if (node.read_line(line))
    return {-1, "started: " + line};
  int status = node.wait();
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), read_file(log)};
}

} // namespace

TEST_CASE("the token-signing key lives in its own private file and the store is private",
          "[net][e2e][auth][secrets]") {
  e2e_fixture f;
  auto data = f.node.data_dir();
  auto key_path = data + "/token.key";
  CHECK(mode_of(key_path) == 0600);
  CHECK(read_file(key_path).size() == 32);
  CHECK(mode_of(data + "/data.mdb") == 0600);
  CHECK(mode_of(data + "/lock.mdb") == 0600);
  auto alice = f.token_for("alice");
  REQUIRE(f.call(f.client(alice), "GET", "/v1/models").status == 200);
  f.node.stop();
  CHECK_FALSE(stored_key(data)); // no copy of the key in data.mdb (and so in its backups)
  SECTION("user tokens survive a restart") {
    auto key = read_file(key_path);
    f.node.restart();
    CHECK(read_file(key_path) == key);
    CHECK(f.call(f.client(alice), "GET", "/v1/models").status == 200);
  }
  SECTION("a store created 0640 by an older version is made 0600 at start") {
    REQUIRE(::chmod((data + "/data.mdb").c_str(), 0640) == 0);
    REQUIRE(::chmod((data + "/lock.mdb").c_str(), 0644) == 0);
    f.node.restart();
    CHECK(mode_of(data + "/data.mdb") == 0600);
    CHECK(mode_of(data + "/lock.mdb") == 0600);
  }
}

TEST_CASE("rotating the token-signing key ends every user token issued before",
          "[net][e2e][auth][secrets]") {
  e2e_fixture f;
  auto data = f.node.data_dir();
  auto old_token = f.token_for("alice");
  REQUIRE(f.call(f.client(old_token), "GET", "/v1/models").status == 200);
  auto old_key = read_file(data + "/token.key");
  f.node.stop();
  node_process node{data, {"--rotate-token-key"}};
  CHECK_THAT(node.log(), Catch::Contains("user tokens issued before no longer work"));
  auto key = read_file(data + "/token.key");
  CHECK(key.size() == 32);
  CHECK(key != old_key);
  CHECK(mode_of(data + "/token.key") == 0600);
  auto client = [&](const std::string& token) {
    auto c = net::http_client::make(node.url());
    REQUIRE(c);
    c->set_default_header("Authorization", "Bearer " + token);
    return std::move(*c);
  };
  auto old_reply = client(old_token).request("GET", "/v1/models");
  REQUIRE(old_reply);
  CHECK(old_reply->status == 401);
  // The admin token is not the signing key: it still works and issues tokens that do.
  auto admin = client(node.admin_token());
  auto issued = admin.request("POST", "/v1/auth/tokens", R"({"user": "alice"})",
                              {{"Content-Type", "application/json"}});
  REQUIRE(issued);
  REQUIRE(issued->status == 201);
  auto fresh = parse_json(issued->body);
  REQUIRE(fresh);
  auto fresh_reply = client(fresh->find("token")->as_string()).request("GET", "/v1/models");
  REQUIRE(fresh_reply);
  CHECK(fresh_reply->status == 200);
}

TEST_CASE("a signing key kept in the store by an older version moves to token.key",
          "[net][e2e][auth][secrets]") {
  e2e_fixture f;
  auto data = f.node.data_dir();
  auto alice = f.token_for("alice");
  f.node.stop();
  // The layout of older versions: the key in meta / auth.key, no token.key file.
  auto key = read_file(data + "/token.key");
  REQUIRE(key.size() == 32);
  plant_stored_key(data, key);
  REQUIRE(std::filesystem::remove(data + "/token.key"));
  f.node.restart();
  CHECK(read_file(data + "/token.key") == key);
  CHECK(mode_of(data + "/token.key") == 0600);
  CHECK(f.call(f.client(alice), "GET", "/v1/models").status == 200);
  f.node.stop();
  CHECK_FALSE(stored_key(data));
  SECTION("a copy left in the store after the file was written is removed too") {
    plant_stored_key(data, key);
    f.node.restart();
    CHECK(f.call(f.client(alice), "GET", "/v1/models").status == 200);
    f.node.stop();
    CHECK_FALSE(stored_key(data));
  }
}

TEST_CASE("the node refuses to start with secrets others can read or a weak admin token",
          "[net][auth][secrets]") {
  temp_dir dir;
  auto data = dir.sub("data");
  std::filesystem::create_directories(data);
  auto token_path = data + "/admin.token";
  auto strong = std::string{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
  SECTION("an admin.token of mode 0644") {
    write_file(token_path, strong + "\n", 0644);
    auto [code, log] = refused_start(dir, {});
    CHECK(code == 2);
    CHECK_THAT(log, Catch::Contains(token_path) && Catch::Contains("chmod 600"));
    CHECK_FALSE(std::filesystem::exists(data + "/data.mdb")); // nothing was opened
  }
  SECTION("a TLS key of mode 0644") {
    write_self_signed(dir.sub("cert.pem"), dir.sub("key.pem"));
    REQUIRE(::chmod(dir.sub("key.pem").c_str(), 0644) == 0);
    auto [code, log] =
        refused_start(dir, {"--tls-cert", dir.sub("cert.pem"), "--tls-key", dir.sub("key.pem")});
    CHECK(code == 2);
    CHECK_THAT(log, Catch::Contains(dir.sub("key.pem")) && Catch::Contains("TLS key"));
  }
  SECTION("a token-signing key of mode 0640") {
    write_file(data + "/token.key", std::string(32, 'k'), 0640);
    auto [code, log] = refused_start(dir, {});
    CHECK(code == 2);
    CHECK_THAT(log, Catch::Contains(data + "/token.key"));
  }
  SECTION("weak admin tokens") {
    for (auto weak : {std::string{"short-token"}, std::string(40, 'a'),
                      std::string{"abababababababababababababababababababab"},
                      std::string{"0123456789abcdef 0123456789abcdef0123456789"}}) {
      write_file(token_path, weak + "\n", 0600);
      auto [code, log] = refused_start(dir, {});
      INFO(weak);
      CHECK(code == 2);
      CHECK_THAT(log, Catch::Contains(token_path) && Catch::Contains("weak"));
    }
  }
  SECTION("a strong token of the operator's own, 0600, is accepted") {
    write_file(token_path, strong + "\n", 0600);
    node_process node{data};
    CHECK(node.admin_token() == strong);
  }
  SECTION("a generated admin token is 0600 and strong") {
    node_process node{data};
    CHECK(mode_of(token_path) == 0600);
    auto token = node.admin_token();
    CHECK(token.size() == 64);
    CHECK_FALSE(net::auth::check_admin_token(token, token_path));
  }
}
