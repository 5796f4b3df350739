// A five-minute tour of Debros embedded in a C++ program: define models, write documents, query
// them across shards, count, increment, hook, and map documents to your own structs.
//
// Build: `make build`; run: build/bin/debros-example-embedded [DATA_DIR]
// (default data directory: a fresh ./example-data, removed at the end).
#include <cstdio>
#include <filesystem>
#include <string>

#include "actors/runtime.hpp"
#include "messages/json.hpp"

using namespace debros;

// Stop the tour with a message when a call fails: every call returns caf::expected / caf::error.
template <class T>
T check(caf::expected<T> x, const char* what) {
  if (!x) {
    std::fprintf(stderr, "%s failed: %s\n", what, message_of(x.error()).c_str());
    std::exit(1);
  }
  return std::move(*x);
}

struct post {
  std::string id;
  std::string title;
  std::string author;
  int64_t likes = 0;
};

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "./example-data";
  bool cleanup = argc <= 1;

  // 1. Start a runtime on a data directory. Everything written is durable once a call returns.
  runtime_options opts;
  opts.data_dir = dir;
  auto rt = check(runtime::start(opts), "start");

  // 2. Define models: the JSON form of the HTTP API (or build a model_def in C++).
  check(rt->define_json("Post", R"({
    "fields": {
      "title":  {"type": "string", "required": true, "minLength": 3, "transform": "trim"},
      "author": {"type": "string", "required": true, "index": true},
      "likes":  {"type": "number", "default": 0, "min": 0},
      "tags":   {"type": "array", "default": []}
    },
    "sharding": {"strategy": "hash", "count": 4, "key": "id"}
  })"),
        "define Post");

  // 3. Hooks run in the actor that owns the document, before or after the write.
  rt->add_hook("Post", hook_point::before_create, before_hook{[](value& doc) {
                 auto& tags = doc.as_object()["tags"];
                 if (tags.is_array() && tags.as_array().empty())
                   tags.as_array().emplace_back("untagged");
                 return caf::error{};
               }});

  // 4. Write documents. Validation errors name every failing field.
  auto posts = rt->model("Post");
  for (auto [title, author] : {std::pair{"Hello Debros", "alice"},
                               {"Actors all the way", "bob"},
                               {"LMDB in practice", "alice"},
                               {"Sharding 101", "carol"}})
    check(posts.create(value{object{{"title", title}, {"author", author}}}), "create");
  auto bad = posts.create(value{object{{"title", "x"}}});
  std::printf("invalid post refused: %s\n", message_of(bad.error()).c_str());

  // 5. Query across shards: where / or_where / order_by / limit / offset, and aggregates.
  auto by_alice = check(posts.query()
                            .where("author", "=", "alice")
                            .order_by("createdAt", /*descending=*/true)
                            .limit(10)
                            .exec(),
                        "query");
  for (auto& doc : by_alice.docs)
    std::printf("alice wrote: %s\n", to_json(doc).c_str());
  std::printf(
      "posts by alice or carol: %llu\n",
      static_cast<unsigned long long>(check(
          posts.query().where("author", "=", "alice").or_where("author", "=", "carol").count(),
          "count")));

  // 6. Increments are never lost, even from many threads at once.
  auto first = by_alice.docs.front().find("id")->as_string();
  for (int i = 0; i < 3; ++i)
    check(posts.increment(first, "likes"), "increment");

  // 7. Map documents to your own structs.
  auto as_post = mapping<post>{}
                     .field("id", &post::id)
                     .field("title", &post::title)
                     .field("author", &post::author)
                     .field("likes", &post::likes);
  auto p = check(posts.get_as(first, as_post), "get");
  std::printf("%s by %s has %lld likes\n", p.title.c_str(), p.author.c_str(),
              static_cast<long long>(p.likes));

  rt->stop();
  if (cleanup)
    std::filesystem::remove_all(dir);
  return 0;
}
