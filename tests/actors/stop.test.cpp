// Stopping the runtime: bounded, whatever else holds the actor system, and nothing in flight is
// left without an answer; requests between actors have deadlines.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;
using namespace std::chrono_literals;

namespace {

// Runs `f` on its own thread and returns its result. If it has not returned within `limit`,
// the test binary exits 1 with a message: a stop that hangs must fail the test, not hang it.
template <class F>
auto within(std::chrono::seconds limit, const char* what, F f) {
  auto fut = std::async(std::launch::async, std::move(f));
  if (fut.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: %s did not return within %lld s\n", what,
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  return fut.get();
}

// Waits up to 5 s for the actor system to have no running actor.
bool no_actor_runs(caf::actor_system& sys) {
  for (int i = 0; i < 2500 && sys.registry().running() > 0; ++i)
    std::this_thread::sleep_for(2ms);
  return sys.registry().running() == 0;
}

// The result of an asynchronous operation, once it arrives.
template <class R>
struct outcome {
  std::promise<caf::expected<R>> p;
  std::future<caf::expected<R>> f = p.get_future();
  reply_fn<R> fn() {
    return [this](caf::expected<R> x) { p.set_value(std::move(x)); };
  }
  bool arrives_within(std::chrono::milliseconds t) {
    return f.wait_for(t) == std::future_status::ready;
  }
};

} // namespace

TEST_CASE("runtime::stop returns within its bound while a scoped_actor exists, and says so",
          "[actors][stop]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"title": {"type": "string"}}})");
  auto self = std::make_unique<caf::scoped_actor>(f.rt->system());
  auto report =
      within(20s, "runtime::stop with a scoped_actor alive", [&] { return f.rt->stop(300ms); });
  CHECK(report.stopped_now);
  CHECK(report.actors_left == 1);
  CHECK(report.took < 5000ms);
  // Stopped: operations fail at once, and a second stop reports nothing.
  auto created = f.rt->model("Post").create(value{object{{"title", "late"}}});
  REQUIRE_FALSE(created);
  CHECK(is(created.error(), errc::shutting_down));
  CHECK_FALSE(f.rt->stop().stopped_now);
  // Once the application's actor is gone, the runtime is destroyed in full, on the thread that
  // started it (runtime.hpp: CAF 0.17's actor system waits for its logger, which the starting
  // thread references).
  self.reset();
  CHECK(no_actor_runs(f.rt->system()));
  f.rt.reset();
}

TEST_CASE("runtime::stop returns within its bound while an application actor is alive",
          "[actors][stop]") {
  runtime_fixture f;
  auto& sys = f.rt->system();
  // An argument, because CAF 0.17.6 binds a functor without one to a null tuple.
  auto app = sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior { return {[](int x) { return x; }}; }, 0);
  auto report = within(20s, "runtime::stop with an application actor alive",
                       [&] { return f.rt->stop(300ms); });
  CHECK(report.actors_left == 1);
  CHECK(report.took < 5000ms);
  caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  app = nullptr;
  CHECK(no_actor_runs(sys));
  f.rt.reset(); // on the thread that started it (runtime.hpp)
}

TEST_CASE("an operation sent to a partition that has stopped is answered unavailable",
          "[actors][stop]") {
  runtime_fixture f;
  f.define("Post", R"({"fields": {"title": {"type": "string"}}})");
  f.rt->engine().stop_actors();
  std::this_thread::sleep_for(200ms); // the shards have quit
  outcome<value> created;
  f.rt->engine().create("Post", value{object{{"title", "orphan"}}}, created.fn());
  REQUIRE(created.arrives_within(5000ms));
  auto r = created.f.get();
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::unavailable);
}

TEST_CASE("a partition that does not answer in time fails the query as unavailable, naming it",
          "[actors][stop]") {
  temp_dir dir;
  auto opts = test_options(dir.path());
  opts.call_timeout = 300ms;
  auto started = runtime::start(opts);
  REQUIRE(started);
  auto& rt = **started;
  REQUIRE(rt.define_json("Note", R"({"scope": "user", "fields": {"n": {"type": "number"}}})"));
  // Alice's database is busy for 2 s in an embedder's hook.
  std::atomic<bool> hook_done{false};
  REQUIRE_FALSE(rt.add_hook("Note", hook_point::before_create, before_hook{[&](value&) {
                              std::this_thread::sleep_for(2000ms);
                              hook_done = true;
                              return caf::error{};
                            }}));
  outcome<value> created;
  rt.engine().create("Note", value{object{{"userId", "alice"}, {"n", 1}}}, created.fn());
  std::this_thread::sleep_for(100ms); // the create is in the hook
  query q;
  q.model = "Note";
  q.user_in = {"alice"};
  outcome<query_result> asked;
  rt.engine().run_query(q, asked.fn());
  REQUIRE(asked.arrives_within(10000ms));
  auto r = asked.f.get();
  // The answer came from the request's deadline, while the database was still busy.
  CHECK_FALSE(hook_done.load());
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::unavailable);
  CHECK(message_of(r.error()) == "partition Note/user/alice did not answer within 300 ms");
  // The create has the same deadline: it is answered `timeout` ("may or may not have taken
  // effect"), and it does take effect once the hook returns.
  REQUIRE(created.arrives_within(10000ms));
  auto c = created.f.get();
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == errc::timeout);
  for (int i = 0; i < 100 && !hook_done.load(); ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE(hook_done.load());
  for (int i = 0; i < 100; ++i) {
    auto later = rt.model("Note").query().user_in({"alice"}).exec();
    REQUIRE(later);
    if (later->docs.size() == 1)
      break;
    std::this_thread::sleep_for(20ms);
  }
  auto stored = rt.model("Note").query().user_in({"alice"}).exec();
  REQUIRE(stored);
  CHECK(stored->docs.size() == 1);
}

TEST_CASE("queries held by a global index partition at stop are answered, and stop is prompt",
          "[actors][stop]") {
  runtime_fixture f;
  f.define("Note",
           R"({"scope": "user", "fields": {"tag": {"type": "string", "index": "global"}}})");
  auto& eng = f.rt->engine();
  // Writes keep the partitions draining; queries arriving meanwhile wait in them.
  constexpr int writes = 3000, queries = 200;
  std::atomic<int> answered_writes{0}, answered_queries{0};
  for (int i = 0; i < writes; ++i)
    eng.create("Note", value{object{{"userId", "u" + std::to_string(i % 50)}, {"tag", "t"}}},
               [&](caf::expected<value>) { ++answered_writes; });
  query q;
  q.model = "Note";
  query_expr c;
  c.type = query_expr::kind::cond;
  c.path = "tag";
  c.operand = value{"t"};
  q.where.children.push_back(c);
  for (int i = 0; i < queries; ++i)
    eng.run_query(q, [&](caf::expected<query_result>) { ++answered_queries; });
  auto report = within(60s, "runtime::stop", [&] { return f.rt->stop(10000ms); });
  CHECK(report.actors_left == 0);
  CHECK(answered_writes.load() == writes);
  CHECK(answered_queries.load() == queries);
}
