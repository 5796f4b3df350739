// Supervision: a partition that fails is respawned over its LMDB state; exceptions from
// embedder code fail the request that ran it and nothing else.
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "caf/send.hpp"

#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const model_entry> entry_of(runtime& rt, const char* model) {
  auto e = rt.engine().find(model);
  REQUIRE(e);
  return *e;
}

// Waits up to 5 s for `changed` to hold.
template <class F>
bool eventually(F changed) {
  for (int i = 0; i < 500 && !changed(); ++i)
    std::this_thread::sleep_for(10ms);
  return changed();
}

} // namespace

TEST_CASE("a shard that fails is respawned and serves its documents again",
          "[actors][supervision]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"n": {"type": "number"}},
                       "sharding": {"strategy": "hash", "count": 2}})");
  auto posts = f.rt->model("Post");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto d = posts.create(value{object{{"n", i}}});
    REQUIRE(d);
    ids.push_back(d->find("id")->as_string());
  }
  auto before = entry_of(*f.rt, "Post");
  caf::anon_send_exit(before->shards[0], caf::exit_reason::kill);
  REQUIRE(eventually([&] { return entry_of(*f.rt, "Post")->shards[0] != before->shards[0]; }));
  CHECK(entry_of(*f.rt, "Post")->shards[1] == before->shards[1]);
  CHECK(f.rt->engine().respawns() == 1);
  // Every document, on either shard, is written through its shard again, and queries see all.
  for (auto& id : ids) {
    auto u = posts.update(id, value{object{{"n", 100}}});
    INFO(id);
    REQUIRE(u);
  }
  auto total = query_builder{*f.rt, "Post"}.where("n", "=", value{100}).count();
  REQUIRE(total);
  CHECK(*total == 20);
}

TEST_CASE("global index partitions that fail are respawned and answer queries",
          "[actors][supervision]") {
  runtime_fixture f;
  f.define("Note",
           R"({"scope": "user", "fields": {"tag": {"type": "string", "index": "global"}}})");
  auto notes = f.rt->model("Note");
  for (int i = 0; i < 30; ++i)
    REQUIRE(notes.create(value{object{{"userId", "u" + std::to_string(i % 3)}, {"tag", "x"}}}));
  auto before = entry_of(*f.rt, "Note");
  REQUIRE_FALSE(before->gindex.empty());
  for (auto& g : before->gindex)
    caf::anon_send_exit(g, caf::exit_reason::kill);
  REQUIRE(eventually([&] {
    auto now = entry_of(*f.rt, "Note");
    for (size_t i = 0; i < now->gindex.size(); ++i)
      if (now->gindex[i] == before->gindex[i])
        return false;
    return true;
  }));
  CHECK(f.rt->engine().respawns() == before->gindex.size());
  REQUIRE(notes.create(value{object{{"userId", "u9"}, {"tag", "x"}}}));
  auto found = query_builder{*f.rt, "Note"}.where("tag", "=", value{"x"}).count();
  REQUIRE(found);
  CHECK(*found == 31);
}

TEST_CASE("an exception from a result callback goes no further than the callback",
          "[actors][supervision]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"n": {"type": "number"}},
                       "sharding": {"strategy": "hash", "count": 1}})");
  auto before = entry_of(*f.rt, "Post");
  std::promise<void> called;
  f.rt->engine().create("Post", value{object{{"n", 1}}}, [&](caf::expected<value> r) {
    called.set_value();
    if (r)
      throw std::runtime_error{"an embedder's callback fails"};
  });
  REQUIRE(called.get_future().wait_for(5s) == std::future_status::ready);
  // The shard lives on: the same actor serves the next write, nothing was respawned.
  REQUIRE(f.rt->model("Post").create(value{object{{"n", 2}}}));
  CHECK(entry_of(*f.rt, "Post")->shards[0] == before->shards[0]);
  CHECK(f.rt->engine().respawns() == 0);
}

TEST_CASE("a validator that throws while a document is placed fails only that write",
          "[actors][supervision]") {
  runtime_fixture f;
  f.define("Note", R"({"scope": "user", "fields": {"tag": {"type": "string"}}})");
  REQUIRE_FALSE(f.rt->add_validator("Note", "tag", [](const value&, const value&) {
    throw std::runtime_error{"validator bug"};
    return std::optional<std::string>{};
  }));
  // No userId: the document is validated while it is placed, on the caller's thread.
  caf::expected<value> r = value{};
  CHECK_NOTHROW(r = f.rt->model("Note").create(value{object{{"tag", "x"}}}));
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::internal);
  CHECK_THAT(message_of(r.error()), Catch::Contains("a custom validator threw: validator bug"));
}
