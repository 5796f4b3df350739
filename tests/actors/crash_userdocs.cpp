// Test helper: writes user-scoped documents with a global index until killed, printing one line
// per acknowledged operation. Used by gindex_crash.test.cpp, which SIGKILLs it mid-stream.
//
// Usage: debros-test-crash-userdocs DIR SEED
// Keeps 16 operations in flight: creates (60%), updates flipping isPublic (25%) and deletes
// (15%) of documents it created, for 50 users.
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
             "isPublic": {"type": "boolean", "default": false, "index": "global"}}
})";

int main(int argc, char** argv) {
  if (argc != 3)
    return 2;
  runtime_options o;
  o.data_dir = argv[1];
  o.scheduler_threads = 2;
  auto rt = runtime::start(o);
  if (!rt || !(*rt)->define_json("Post", post_model)) {
    std::fprintf(stderr, "start failed\n");
    return 1;
  }
  auto& eng = (*rt)->engine();
  std::mutex mtx;
  std::mt19937_64 rng{std::stoull(argv[2])};
  std::vector<std::string> ids;
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
      auto user = "u" + std::to_string(rng() % 50);
      eng.create("Post",
                 value{object{{"userId", user}, {"title", "t"}, {"isPublic", rng() % 2 == 0}}},
                 [&, cb = done("create")](caf::expected<value> r) {
                   if (r) {
                     std::lock_guard<std::mutex> g{mtx};
                     ids.push_back(r->find("id")->as_string());
                   }
                   cb(r);
                 });
    } else if (pick < 85) {
      auto id = ids[rng() % ids.size()];
      eng.update("Post", id, value{object{{"isPublic", rng() % 2 == 0}}}, false, done("update"));
    } else {
      auto i = rng() % ids.size();
      auto id = ids[i];
      ids.erase(ids.begin() + static_cast<long>(i));
      eng.remove("Post", id, done("delete"));
    }
  };
  for (int i = 0; i < 16; ++i)
    next();
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
