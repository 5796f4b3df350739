// Bounds on the work partitions hold for later (issue 9 item 8): a shard's per-document queues
// and a global index partition's held queries fail new work with `unavailable` past their bound
// instead of growing without limit. The writer is held by a request of the test's own, so what
// queues up is known exactly.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "storage/outbox.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<runtime> start_with(const temp_dir& dir, partition_limits limits) {
  auto o = test_options(dir.path());
  o.partitions = limits;
  auto rt = runtime::start(o);
  REQUIRE(rt);
  return std::move(*rt);
}

// Holds the writer thread inside one request until released: every write submitted meanwhile
// waits in the writer's queue, so the document it writes stays busy in its shard.
struct writer_hold {
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::promise<void> started;
  bool released = false;

  explicit writer_hold(storage::writer& w) {
    auto running = started.get_future();
    // The writer thread keeps its own copy of the future: after release() it may still be
    // inside wait() while this object is destroyed.
    w.submit(
        [this, opened = opened](storage::write_txn&) -> caf::error {
          started.set_value();
          opened.wait();
          return caf::none;
        },
        [](const caf::error&) {});
    running.wait();
  }
  void release() {
    if (!released)
      gate.set_value();
    released = true;
  }
  ~writer_hold() { release(); }
};

// Results of asynchronous operations, gathered from actor threads.
template <class T>
struct results {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<caf::expected<T>> got;

  reply_fn<T> sink() {
    return [this](caf::expected<T> r) {
      std::lock_guard<std::mutex> guard{mtx};
      got.push_back(std::move(r));
      cv.notify_all();
    };
  }
  /// Waits (at most 20 s) until `n` results are in; returns how many are.
  size_t wait_for(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, 20s, [&] { return got.size() >= n; });
    return got.size();
  }
  size_t count(errc code) {
    std::lock_guard<std::mutex> guard{mtx};
    size_t k = 0;
    for (auto& r : got)
      k += !r && code_of(r.error()) == code ? 1 : 0;
    return k;
  }
  size_t ok() {
    std::lock_guard<std::mutex> guard{mtx};
    size_t k = 0;
    for (auto& r : got)
      k += r ? 1 : 0;
    return k;
  }
};

constexpr std::string_view note_model = R"({
  "fields": {"title": {"type": "string"}, "views": {"type": "number", "default": 0}},
  "sharding": {"strategy": "hash", "count": 1}
})";

} // namespace

TEST_CASE("operations waiting for a busy document are bounded per partition",
          "[actors][shard][backpressure]") {
  temp_dir dir;
  auto rt = start_with(dir, partition_limits{4, 16384});
  REQUIRE(rt->define_json("Note", note_model));
  auto notes = rt->model("Note");
  REQUIRE(notes.create(value{object{{"id", "n1"}, {"title", "first"}}}));
  REQUIRE(notes.create(value{object{{"id", "n2"}, {"title", "other"}}}));
  auto& eng = rt->engine();
  results<value> r; // declared first: it outlives the hold, whose release completes the writes
  writer_hold hold{rt->writer()};
  SECTION("past the bound, updates of the busy document fail at once with unavailable") {
    // The first update's write waits in the writer: n1 is busy; 4 wait behind it; 5 are refused.
    for (int i = 0; i < 10; ++i)
      eng.update("Note", "n1", value{object{{"title", "t" + std::to_string(i)}}}, false, r.sink());
    REQUIRE(r.wait_for(5) == 5);
    CHECK(r.count(errc::unavailable) == 5);
    {
      std::lock_guard<std::mutex> guard{r.mtx};
      REQUIRE_FALSE(r.got.front());
      CHECK_THAT(message_of(r.got.front().error()), Catch::Contains("retry later"));
    }
    hold.release();
    CHECK(r.wait_for(10) == 10);
    CHECK(r.ok() == 5); // the one in flight and the 4 that waited
    auto stored = notes.get("n1");
    REQUIRE(stored);
    CHECK(stored->find("title")->as_string() == "t4"); // the last one taken, applied in order
  }
  SECTION("within the bound every update waits and is applied in order") {
    for (int i = 0; i < 5; ++i)
      eng.update("Note", "n1", value{object{{"title", "t" + std::to_string(i)}}}, false, r.sink());
    hold.release();
    CHECK(r.wait_for(5) == 5);
    CHECK(r.ok() == 5);
    CHECK(notes.get("n1")->find("title")->as_string() == "t4");
  }
  SECTION("coalesced increments count one each against the bound") {
    for (int i = 0; i < 8; ++i)
      eng.increment("Note", "n1", "views", value{1}, r.sink());
    CHECK(r.wait_for(3) == 3);
    CHECK(r.count(errc::unavailable) == 3);
    hold.release();
    CHECK(r.wait_for(8) == 8);
    CHECK(r.ok() == 5);
    CHECK(notes.get("n1")->find("views")->as_int() == 5);
  }
  SECTION("an operation on a document without a write in flight is not refused") {
    for (int i = 0; i < 10; ++i)
      eng.update("Note", "n1", value{object{{"title", "t" + std::to_string(i)}}}, false, r.sink());
    CHECK(r.wait_for(5) == 5);
    results<value> other;
    eng.update("Note", "n2", value{object{{"title", "free"}}}, false, other.sink());
    hold.release();
    REQUIRE(other.wait_for(1) == 1);
    CHECK(other.ok() == 1);
    CHECK(r.wait_for(10) == 10);
  }
}

TEST_CASE("queries held by a global index partition are bounded",
          "[actors][gindex][backpressure]") {
  temp_dir dir;
  auto rt = start_with(dir, partition_limits{16384, 2});
  REQUIRE(rt->define_json("Tagged", R"({
    "scope": "user",
    "fields": {"tag": {"type": "string", "index": "global"}}
  })"));
  auto tagged = rt->model("Tagged");
  auto entry = rt->engine().find("Tagged");
  REQUIRE(entry);
  const uint32_t partition = doc_keys::gindex_partition_of(value{"hot"});
  const auto channel = gindex_channel((*entry)->id, partition);
  // One work item committed and not applied: the partition was not told (nobody nudges it), so
  // every query on "hot" must wait for it. It deletes a key that does not exist.
  // The partition's own first drain (at its start) is done once a query was answered.
  REQUIRE(tagged.query().where("tag", "=", value{"hot"}).count());
  storage::outbox box{rt->env().get_table("outbox")};
  auto op = encode_gindex_op(
      gindex_op{false, doc_keys::gindex_prefix((*entry)->id, partition) + "~none"});
  REQUIRE_FALSE(rt->writer().write([&](storage::write_txn& txn) -> caf::error {
    auto seq = box.append(txn, channel, op);
    return seq ? caf::none : seq.error();
  }));
  constexpr int asked = 6;
  // Declared before the hold: destroyed after it, so their wait always ends.
  std::vector<std::future<caf::expected<uint64_t>>> answers;
  // The drain a held query starts waits in the writer's queue.
  writer_hold hold{rt->writer()};
  for (int i = 0; i < asked; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      return tagged.query().where("tag", "=", value{"hot"}).count();
    }));
  // The refused ones come back while the writer is still held; the held ones cannot.
  auto refused = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<bool> done(asked, false);
  while (refused < asked - 2 && std::chrono::steady_clock::now() < deadline)
    for (int i = 0; i < asked; ++i)
      if (!done[i] && answers[i].wait_for(1ms) == std::future_status::ready) {
        done[i] = true;
        auto a = answers[i].get();
        REQUIRE_FALSE(a);
        CHECK(code_of(a.error()) == errc::unavailable);
        CHECK_THAT(message_of(a.error()), Catch::Contains("global index"));
        ++refused;
      }
  SECTION("past the bound, queries fail at once with unavailable") {
    CHECK(refused == asked - 2);
  }
  hold.release();
  SECTION("the held queries are answered once the work is applied") {
    for (int i = 0; i < asked; ++i)
      if (!done[i]) {
        REQUIRE(answers[i].wait_for(20s) == std::future_status::ready);
        auto a = answers[i].get();
        REQUIRE(a);
        CHECK(*a == 0);
      }
    auto again = tagged.query().where("tag", "=", value{"hot"}).count();
    REQUIRE(again);
    CHECK(*again == 0);
  }
}
