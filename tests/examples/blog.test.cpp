// apps/examples/blog/load.sh against a live debros-node: it loads the blog's demo data through
// the CLI, prints its queries, runs again without failing, and leaves data the HTTP API reads
// back (public posts of several users through the global index, nested relations).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "messages/json.hpp"
#include "net/http_client.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::test;

namespace {

struct script_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Runs load.sh in `cwd` with the environment of the test minus DEBROS_* and BLOG_* variables,
// plus `env` ("NAME=value"). stdin is /dev/null; stdout and stderr are captured.
script_result run_script(const std::string& cwd, const std::vector<std::string>& env) {
  temp_dir io;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, io.sub("out").c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, io.sub("err").c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::string script = DEBROS_BLOG_SCRIPT;
  std::vector<char*> args{script.data(), nullptr};
  std::vector<std::string> vars = env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "DEBROS_", 7) != 0 && std::strncmp(*e, "BLOG_", 5) != 0)
      vars.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& v : vars)
    envp.push_back(v.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, script.c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  waitpid(pid, &status, 0);
  script_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(io.sub("out"));
  r.err = slurp(io.sub("err"));
  return r;
}

// The text of the query section whose heading starts with "== PREFIX", up to the next heading.
std::string section(const std::string& out, const std::string& prefix) {
  auto start = out.find("== " + prefix);
  if (start == std::string::npos)
    return {};
  auto end = out.find("\n== ", start);
  return out.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// A node with authentication on, an admin HTTP client, and load.sh pointed at both.
struct blog_fixture {
  temp_dir dir;
  node_process node;
  net::http_client admin;

  blog_fixture() : node(dir.sub("data")), admin(client()) {}

  net::http_client client() {
    auto c = net::http_client::make(node.url());
    REQUIRE(c);
    c->set_default_header("Authorization", "Bearer " + node.admin_token());
    return std::move(*c);
  }

  script_result load(std::vector<std::string> env = {}) {
    env.push_back("DEBROS_NODE=" + node.url());
    env.push_back(std::string{"DEBROS_CLI="} + DEBROS_CLI_BIN);
    if (std::none_of(env.begin(), env.end(),
                     [](auto& v) { return v.starts_with("DEBROS_TOKEN="); }))
      env.push_back("DEBROS_TOKEN=" + node.admin_token());
    // From the temporary directory: the script must not depend on where it is started.
    auto r = run_script(dir.path(), env);
    UNSCOPED_INFO("load.sh exited " << r.exit_code << "\nstdout:\n"
                                    << r.out << "\nstderr:\n"
                                    << r.err);
    return r;
  }

  value call(std::string_view method, const std::string& target, const value* body = nullptr) {
    auto r = body != nullptr ? admin.json(method, target, *body) : admin.json(method, target);
    INFO(method << " " << target);
    REQUIRE(r);
    INFO(to_json(r->body));
    REQUIRE(r->status == 200);
    return std::move(r->body);
  }

  int64_t count(const std::string& model) {
    return call("GET", "/v1/models/" + model).find("count")->as_int();
  }
};

const std::vector<std::string> public_titles{"Fresh pasta without a machine",
                                             "Sourdough, attempt three",
                                             "What LMDB taught me about fsync",
                                             "Why I moved my blog off the cloud",
                                             "A week in Lisbon",
                                             "Actors all the way down"};
const std::vector<std::string> draft_titles{"Draft: sharding by user",
                                            "Draft: packing list for Porto"};

// `needles` occur in `text` in this order.
bool in_order(const std::string& text, const std::vector<std::string>& needles) {
  size_t at = 0;
  for (auto& n : needles) {
    auto found = text.find(n, at);
    if (found == std::string::npos)
      return false;
    at = found + n.size();
  }
  return true;
}

} // namespace

TEST_CASE("the blog example loads its demo data and prints its queries", "[examples][blog][e2e]") {
  blog_fixture f;
  auto r = f.load();
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  for (auto model : {"User", "Category", "Post", "Comment"})
    CHECK_THAT(r.out, Catch::Contains(std::string{"created "} + model + "\n"));
  CHECK_THAT(r.out, Catch::Contains("created 8\n"));

  SECTION("public posts of every user, newest first, and no drafts") {
    auto s = section(r.out, "1. Public posts");
    REQUIRE_FALSE(s.empty());
    CHECK_THAT(s, Catch::Contains("debros query Post --where 'isPublic = true'"));
    CHECK(in_order(s, public_titles));
    for (auto& t : draft_titles)
      CHECK_THAT(s, !Catch::Contains(t));
  }
  SECTION("the most liked public posts of every user") {
    auto s = section(r.out, "2. The three most liked");
    REQUIRE_FALSE(s.empty());
    CHECK(in_order(s,
                   {"post-carol-cloud", "61", "post-alice-actors", "37", "post-alice-lmdb", "29"}));
    CHECK_THAT(s, !Catch::Contains("post-bob-lisbon"));
  }
  SECTION("one user's posts, drafts included, and nobody else's") {
    auto s = section(r.out, "3. One user's posts");
    REQUIRE_FALSE(s.empty());
    CHECK(in_order(
        s, {"Sourdough, attempt three", "A week in Lisbon", "Draft: packing list for Porto"}));
    CHECK_THAT(s, !Catch::Contains("Actors all the way down"));
    CHECK_THAT(s, !Catch::Contains("Fresh pasta"));
  }
  SECTION("posts with their author and category") {
    auto s = section(r.out, "4. Public technology posts");
    REQUIRE_FALSE(s.empty());
    CHECK(in_order(s, {"Alice Chen", "Technology", "What LMDB taught me about fsync"}));
    CHECK(in_order(s, {"Carol Díaz", "Technology", "Why I moved my blog off the cloud"}));
    CHECK_THAT(s, !Catch::Contains("Sourdough"));
  }
  SECTION("a post with its comments in order and their authors") {
    auto s = section(r.out, "5. A post with its comments");
    REQUIRE_FALSE(s.empty());
    CHECK(in_order(s, {"Actors all the way down", "Bob Okafor", "Clear intro.", "Alice Chen",
                       "Nothing acknowledged is lost", "Carol Díaz", "Bookmarked"}));
  }
  SECTION("a user with their posts") {
    auto s = section(r.out, "6. A user with their posts");
    REQUIRE_FALSE(s.empty());
    CHECK(in_order(s, {"Alice Chen", "What LMDB taught me about fsync", "Actors all the way down",
                       "Draft: sharding by user"}));
  }
  SECTION("the total likes of the public posts") {
    auto s = section(r.out, "7. Total likes");
    REQUIRE_FALSE(s.empty());
    CHECK_THAT(s, Catch::Contains("\nvalue  176\n"));
  }
  SECTION("the counts of every model") {
    auto s = section(r.out, "8. How many documents");
    CHECK(in_order(s, {"User      3", "Category  3", "Post      8", "Comment   6"}));
  }
  SECTION("the public posts of several users come back through the HTTP API") {
    value body{object{{"where", array{value{array{"isPublic", "=", true}}}},
                      {"orderBy", array{value{array{"publishedAt", "desc"}}}}}};
    auto reply = f.call("POST", "/v1/models/Post/query", &body);
    auto& docs = reply.find("docs")->as_array();
    REQUIRE(docs.size() == public_titles.size());
    std::set<std::string> owners;
    for (size_t i = 0; i < docs.size(); ++i) {
      CHECK(docs[i].find("title")->as_string() == public_titles[i]);
      CHECK(*docs[i].find("isPublic") == value{true});
      CHECK(docs[i].find("userId")->as_string() == docs[i].find("authorId")->as_string());
      owners.insert(docs[i].find("userId")->as_string());
    }
    CHECK(owners == std::set<std::string>{"alice", "bob", "carol"});
  }
  SECTION("a post read by id embeds its comments with their authors") {
    auto post =
        f.call("GET", "/v1/models/Post/docs/post-alice-actors?with=comments.author,category");
    CHECK(post.find_path("category.name")->as_string() == "Technology");
    auto& comments = post.find("comments")->as_array();
    REQUIRE(comments.size() == 3);
    std::vector<std::string> authors;
    for (auto& c : comments) {
      CHECK(c.find("postId")->as_string() == "post-alice-actors");
      // Each comment lives in its commenter's database; its author is that commenter.
      CHECK(c.find_path("author.id")->as_string() == c.find("userId")->as_string());
      authors.push_back(c.find_path("author.displayName")->as_string());
    }
    CHECK(authors == std::vector<std::string>{"Bob Okafor", "Alice Chen", "Carol Díaz"});
    CHECK(comments[1].find("parentId")->as_string() == comments[0].find("id")->as_string());
  }
}

TEST_CASE("the blog example runs again against the same node without failing or duplicating",
          "[examples][blog][e2e]") {
  blog_fixture f;
  REQUIRE(f.load().exit_code == 0);
  SECTION("the second run finds everything in place") {
    auto again = f.load();
    REQUIRE(again.exit_code == 0);
    CHECK(again.err.empty());
    for (auto model : {"User", "Category", "Post", "Comment"})
      CHECK_THAT(again.out, Catch::Contains(std::string{"unchanged "} + model + "\n"));
    CHECK_THAT(again.out, Catch::Contains("exists  User alice"));
    CHECK_THAT(again.out, Catch::Contains("8 posts were there already"));
    CHECK_THAT(again.out, Catch::Contains("exists  Comment comment-actors-1"));
    CHECK(in_order(section(again.out, "1. Public posts"), public_titles));
  }
  SECTION("the second run with the CLI's own tables") {
    auto again = f.load({"BLOG_VIEW=table"});
    REQUIRE(again.exit_code == 0);
    auto s = section(again.out, "1. Public posts");
    // The CLI's table quotes strings and shows every field.
    CHECK_THAT(s, Catch::Contains("\"Fresh pasta without a machine\""));
    CHECK_THAT(s, Catch::Contains("publishedAt"));
    for (auto& t : draft_titles)
      CHECK_THAT(s, !Catch::Contains(t));
    // Its cells are cut at a width: the comments column starts with the first comment.
    CHECK_THAT(section(again.out, "5. A post with its comments"),
               Catch::Contains(R"([{"id":"comment-actors-1")"));
  }
  CHECK(f.count("User") == 3);
  CHECK(f.count("Category") == 3);
  CHECK(f.count("Post") == 8);
  CHECK(f.count("Comment") == 6);
}

TEST_CASE("the blog example reuses a user created before it ran", "[examples][blog][e2e]") {
  // What `make run` suggests trying first: a User alice with a generated id.
  blog_fixture f;
  value model = [] {
    std::ifstream in{DEBROS_BLOG_MODELS "/User.json"};
    std::stringstream buf;
    buf << in.rdbuf();
    auto v = parse_json(buf.str());
    REQUIRE(v);
    return *v;
  }();
  auto defined = f.admin.json("PUT", "/v1/models/User", model);
  REQUIRE(defined);
  REQUIRE(defined->status == 201);
  value alice{object{{"username", "alice"}, {"email", "alice@example.com"}}};
  auto created = f.admin.json("POST", "/v1/models/User/docs", alice);
  REQUIRE(created);
  REQUIRE(created->status == 201);
  auto alice_id = created->body.find("id")->as_string();

  auto r = f.load();
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("exists  User " + alice_id));
  CHECK(f.count("User") == 3);
  value body{object{{"where", array{value{array{"authorId", "=", alice_id}}}}}};
  auto posts = f.call("POST", "/v1/models/Post/query", &body);
  CHECK(posts.find("docs")->as_array().size() == 3);
}

TEST_CASE("the blog models refuse invalid documents", "[examples][blog][e2e]") {
  blog_fixture f;
  REQUIRE(f.load().exit_code == 0);
  // Sends `doc` to be created in `model` and returns the fields the 422 reply names.
  auto refused = [&](const std::string& model, const std::string& doc) {
    auto parsed = parse_json(doc);
    REQUIRE(parsed);
    auto r = f.admin.json("POST", "/v1/models/" + model + "/docs", *parsed);
    REQUIRE(r);
    INFO(model << " " << doc << " -> " << to_json(r->body));
    CHECK(r->status == 422);
    std::set<std::string> fields;
    if (auto* details = r->body.find_path("error.details"); details != nullptr)
      for (auto& d : details->as_array())
        fields.insert(d.find("field")->as_string());
    return fields;
  };
  SECTION("a user without an email, with a malformed username") {
    auto fields = refused("User", R"({"username": "no spaces"})");
    CHECK(fields == std::set<std::string>{"username", "email"});
  }
  SECTION("a post without its owner reports its other failures too") {
    auto fields = refused("Post", R"({"title": "t", "slug": "t", "content": "c",
        "authorId": "alice", "status": "deleted"})");
    CHECK(fields == std::set<std::string>{"userId", "status"});
  }
  SECTION("a post with an unknown status and a negative like count") {
    auto fields = refused("Post", R"({"userId": "alice", "title": "t", "slug": "t",
        "content": "c", "authorId": "alice", "status": "deleted", "likeCount": -1})");
    CHECK(fields == std::set<std::string>{"status", "likeCount"});
  }
  SECTION("a comment without its post, with a field no model defines") {
    auto fields = refused("Comment", R"({"userId": "bob", "authorId": "bob", "content": "hi",
        "rating": 5})");
    CHECK(fields == std::set<std::string>{"postId", "rating"});
  }
  SECTION("a second user with a username already taken, in another case") {
    auto r = f.admin.json("POST", "/v1/models/User/docs",
                          value{object{{"username", "ALICE"}, {"email", "a2@example.com"}}});
    REQUIRE(r);
    CHECK(r->status == 409);
  }
}

TEST_CASE("the blog example fails loudly on a real error", "[examples][blog][e2e]") {
  blog_fixture f;
  SECTION("a wrong token") {
    auto r = f.load({"DEBROS_TOKEN=not-the-token"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("debros: unauthenticated"));
    CHECK_THAT(r.err, Catch::Contains("load.sh: failed"));
    CHECK(f.call("GET", "/v1/models").find("models")->as_array().empty());
  }
  SECTION("a Post model defined differently already") {
    value other{
        object{{"scope", "user"}, {"fields", object{{"title", object{{"type", "string"}}}}}}};
    auto defined = f.admin.json("PUT", "/v1/models/Post", other);
    REQUIRE(defined);
    REQUIRE(defined->status == 201);
    auto r = f.load();
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("debros: conflict: model Post exists"));
    CHECK_THAT(r.out, !Catch::Contains("== 1."));
  }
  SECTION("no node at the address") {
    f.node.stop();
    auto r = f.load();
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("no node answers at " + f.node.url()));
  }
}
