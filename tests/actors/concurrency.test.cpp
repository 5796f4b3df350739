#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

// Waits (at most 30 s) until `done` reaches `n`; false on the deadline.
bool wait_for(const std::atomic<int>& done, int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (done.load() < n) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

} // namespace

TEST_CASE("concurrent increments are never lost", "[actors][concurrency]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"views": {"type": "number", "default": 0}},
                       "sharding": {"count": 4}})");
  auto posts = f.rt->model("Post");
  auto id = posts.create(value{object{}})->find("id")->as_string();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 10; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        if (!posts.increment(id, "views"))
          ++failures;
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  CHECK(posts.get(id)->find("views")->as_int() == 100);
  SECTION("asynchronous bursts are coalesced and still exact") {
    std::atomic<int> done{0};
    std::atomic<int> errors{0};
    for (int i = 0; i < 1000; ++i)
      f.rt->engine().increment("Post", id, "views", value{2}, [&](caf::expected<value> v) {
        if (!v)
          ++errors;
        ++done;
      });
    REQUIRE(wait_for(done, 1000));
    CHECK(errors == 0);
    CHECK(posts.get(id)->find("views")->as_int() == 2100);
    // Coalescing: far fewer commits than increments.
    CHECK(f.rt->writer().stats().commits < 1000);
  }
  SECTION("an increment past a maximum fails alone") {
    f.define("Capped", R"({"fields": {"n": {"type": "number", "default": 0, "max": 5}}})");
    auto capped = f.rt->model("Capped");
    auto cid = capped.create(value{object{}})->find("id")->as_string();
    CHECK(capped.increment(cid, "n", value{5}));
    auto over = capped.increment(cid, "n", value{1});
    REQUIRE_FALSE(over);
    CHECK(code_of(over.error()) == errc::validation_failed);
    CHECK(capped.get(cid)->find("n")->as_int() == 5);
  }
  SECTION("in a coalesced burst, exactly the increments past the maximum fail") {
    f.define("Capped", R"({"fields": {"n": {"type": "number", "default": 0, "max": 5}}})");
    auto capped = f.rt->model("Capped");
    auto cid = capped.create(value{object{}})->find("id")->as_string();
    std::atomic<int> done{0};
    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    for (int i = 0; i < 50; ++i)
      f.rt->engine().increment("Capped", cid, "n", value{1}, [&](caf::expected<value> v) {
        if (v)
          ++ok;
        else if (code_of(v.error()) == errc::validation_failed)
          ++refused;
        ++done;
      });
    REQUIRE(wait_for(done, 50));
    CHECK(ok == 5);
    CHECK(refused == 45);
    CHECK(capped.get(cid)->find("n")->as_int() == 5);
  }
}

TEST_CASE("stopping the runtime answers every operation in flight", "[actors][concurrency]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"views": {"type": "number", "default": 0}}})");
  auto id = f.rt->model("Post").create(value{object{}})->find("id")->as_string();
  std::atomic<int> done{0};
  std::atomic<int> ok{0};
  // Increments of one document queue up behind each other's writes; stop while they do.
  for (int i = 0; i < 500; ++i)
    f.rt->engine().increment("Post", id, "views", value{1}, [&](caf::expected<value> v) {
      if (v)
        ++ok;
      ++done;
    });
  f.rt->stop();
  CHECK(done == 500);
  // What was acknowledged is stored.
  f.restart();
  CHECK(f.rt->model("Post").get(id)->find("views")->as_int() == ok.load());
}

TEST_CASE("concurrent creates with the same unique value: exactly one wins",
          "[actors][concurrency]") {
  runtime_fixture f;
  f.define("User", R"({"fields": {"username": {"type": "string", "unique": true}},
                       "sharding": {"count": 4}})");
  auto users = f.rt->model("User");
  for (int round = 0; round < 5; ++round) {
    auto name = "name" + std::to_string(round);
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&] {
        auto r = users.create(value{object{{"username", name}}});
        if (r)
          ++wins;
        else if (code_of(r.error()) == errc::conflict)
          ++conflicts;
      });
    for (auto& t : threads)
      t.join();
    CHECK(wins == 1);
    CHECK(conflicts == 15);
  }
  CHECK(*users.count() == 5);
}

TEST_CASE("application actors use the runtime by typed messages", "[actors][concurrency]") {
  runtime_fixture f;
  f.define("Note", R"({"fields": {"text": {"type": "string"}}, "sharding": {"count": 2}})");
  caf::scoped_actor self{f.rt->system()};
  auto rt = f.rt->actor();
  std::string id;
  self->request(rt, std::chrono::seconds(10), doc_create{"Note", value{object{{"text", "hi"}}}, {}})
      .receive([&](value& doc) { id = doc.find("id")->as_string(); },
               [&](caf::error& err) { FAIL(message_of(err)); });
  REQUIRE(id.size() == 26);
  self->request(rt, std::chrono::seconds(10), doc_get{"Note", id})
      .receive([&](value& doc) { CHECK(doc.find("text")->as_string() == "hi"); },
               [&](caf::error& err) { FAIL(message_of(err)); });
  query q;
  q.model = "Note";
  q.where.type = query_expr::kind::all;
  self->request(rt, std::chrono::seconds(10), q)
      .receive([&](query_result& r) { CHECK(r.docs.size() == 1); },
               [&](caf::error& err) { FAIL(message_of(err)); });
  self->request(rt, std::chrono::seconds(10), doc_get{"Note", "missing"})
      .receive([&](value&) { FAIL("expected not_found"); },
               [&](caf::error& err) { CHECK(code_of(err) == errc::not_found); });
}

TEST_CASE("a write made for a user is checked against the stored owner by the shard",
          "[actors][concurrency][authz]") {
  runtime_fixture f;
  f.define("Note", R"({"fields": {"text": {"type": "string"}}, "sharding": {"count": 2}})");
  f.define("Kv", R"({"type": "keyvalue", "fields": {"text": {"type": "string"}}})");
  f.define("Hits", R"({"type": "counter", "fields": {"n": {"type": "number"}}})");
  caf::scoped_actor self{f.rt->system()};
  auto rt = f.rt->actor();
  auto expect_code = [&](auto op, errc code) {
    auto refused = [&](caf::error& err) { CHECK(code_of(err) == code); };
    if constexpr (std::is_same_v<decltype(op), doc_remove>)
      self->request(rt, std::chrono::seconds(10), std::move(op))
          .receive([&](bool) { FAIL("expected " << to_string(code)); }, refused);
    else
      self->request(rt, std::chrono::seconds(10), std::move(op))
          .receive([&](value&) { FAIL("expected " << to_string(code)); }, refused);
  };
  std::string id;
  self->request(rt, std::chrono::seconds(10),
                doc_create{"Note", value{object{{"text", "a"}, {"userId", "alice"}}}, "alice"})
      .receive([&](value& doc) { id = doc.find("id")->as_string(); },
               [&](caf::error& err) { FAIL(message_of(err)); });
  REQUIRE(!id.empty());
  // Another user's update, replace, delete and increment are refused where they are applied.
  expect_code(doc_update{"Note", id, value{object{{"text", "b"}}}, false, "bob"}, errc::forbidden);
  expect_code(doc_update{"Note", id, value{object{{"text", "b"}}}, true, "bob"}, errc::forbidden);
  expect_code(doc_remove{"Note", id, "bob"}, errc::forbidden);
  // A create for one user naming another as owner.
  expect_code(doc_create{"Note", value{object{{"text", "x"}, {"userId", "alice"}}}, "bob"},
              errc::forbidden);
  // A key-value create over a document owned by nobody (a trusted write) is not a user's.
  self->request(rt, std::chrono::seconds(10), doc_create{"Kv", value{object{{"id", "k"}}}, {}})
      .receive([](value&) {}, [&](caf::error& err) { FAIL(message_of(err)); });
  expect_code(doc_create{"Kv", value{object{{"id", "k"}, {"userId", "bob"}}}, "bob"},
              errc::forbidden);
  // The first increment of a missing counter names its owner; then only the owner counts.
  self->request(rt, std::chrono::seconds(10), doc_increment{"Hits", "h", "n", value{1}, "alice"})
      .receive([](value&) {}, [&](caf::error& err) { FAIL(message_of(err)); });
  expect_code(doc_increment{"Hits", "h", "n", value{1}, "bob"}, errc::forbidden);
  self->request(rt, std::chrono::seconds(10), doc_get{"Hits", "h"})
      .receive(
          [&](value& doc) {
            CHECK(doc.find("userId")->as_string() == "alice");
            CHECK(doc.find("n")->as_int() == 1);
          },
          [&](caf::error& err) { FAIL(message_of(err)); });
  // The owner and trusted writes go through.
  self->request(rt, std::chrono::seconds(10),
                doc_update{"Note", id, value{object{{"text", "c"}}}, false, "alice"})
      .receive([&](value& doc) { CHECK(doc.find("text")->as_string() == "c"); },
               [&](caf::error& err) { FAIL(message_of(err)); });
  self->request(rt, std::chrono::seconds(10), doc_remove{"Note", id, {}})
      .receive([](bool) {}, [&](caf::error& err) { FAIL(message_of(err)); });
}
