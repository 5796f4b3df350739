// Test helper: writes documents with a global index until killed, printing one line per
// acknowledged operation. Used by gindex_crash.test.cpp, which SIGKILLs it mid-stream.
//
// Usage: debros-test-crash-userdocs DIR SEED
// Keeps 16 operations in flight: creates (60%), updates flipping isPublic and changing the unique
// slug (25%) and deletes (15%) of documents it created, in a user-scoped model (50 users) and a
// global one (4 shards by title, so its ids have directory entries).
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "actors/engine.hpp"
#include "actors/runtime.hpp"
#include "messages/errc.hpp"

using namespace debros;

constexpr std::string_view post_model = R"({
  "scope": "user",
  "fields": {"title": {"type": "string"},
             "slug": {"type": "string", "unique": true},
             "isPublic": {"type": "boolean", "default": false, "index": "global"}}
})";

constexpr std::string_view item_model = R"({
  "fields": {"title": {"type": "string"},
             "slug": {"type": "string", "unique": true},
             "isPublic": {"type": "boolean", "default": false, "index": "global"}},
  "sharding": {"strategy": "hash", "count": 4, "key": "title"}
})";

int main(int argc, char** argv) {
  if (argc != 3)
    return 2;
  runtime_options o;
  o.data_dir = argv[1];
  o.scheduler_threads = 2;
  auto rt = runtime::start(o);
  if (!rt || !(*rt)->define_json("Post", post_model) || !(*rt)->define_json("Item", item_model)) {
    std::fprintf(stderr, "start failed\n");
    return 1;
  }
  auto& eng = (*rt)->engine();
  std::mutex mtx;
  std::mt19937_64 rng{std::stoull(argv[2])};
  std::vector<std::pair<std::string, std::string>> ids; // model, id
  // Unique slugs: this run's seed and a counter (every run of a test has its own seed).
  uint64_t slugs = 0;
  auto slug = [&] { return "s" + std::string{argv[2]} + "-" + std::to_string(++slugs); };
  std::function<void()> next;
  next = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    auto pick = rng() % 100;
    auto done = [&](const char* what) {
      return [&, what](auto result) {
        {
          std::lock_guard<std::mutex> g{mtx};
          std::printf("ack %s %s\n", what, result ? "ok" : "error");
          std::fflush(stdout);
        }
        next();
      };
    };
    if (ids.empty() || pick < 60) {
      std::string model = rng() % 2 == 0 ? "Post" : "Item";
      object doc{{"title", "t" + std::to_string(rng() % 7)},
                 {"slug", slug()},
                 {"isPublic", rng() % 2 == 0}};
      if (model == "Post")
        doc.set("userId", "u" + std::to_string(rng() % 50));
      eng.create(model, value{std::move(doc)},
                 [&, model, cb = done("create")](caf::expected<value> r) {
                   if (r) {
                     std::lock_guard<std::mutex> g{mtx};
                     ids.emplace_back(model, r->find("id")->as_string());
                   }
                   cb(r);
                 });
    } else if (pick < 85) {
      auto [model, id] = ids[rng() % ids.size()];
      eng.update(model, id, value{object{{"isPublic", rng() % 2 == 0}, {"slug", slug()}}}, false,
                 done("update"));
    } else {
      auto i = rng() % ids.size();
      auto [model, id] = ids[i];
      ids.erase(ids.begin() + static_cast<long>(i));
      eng.remove(model, id, done("delete"));
    }
  };
  for (int i = 0; i < 16; ++i)
    next();
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
