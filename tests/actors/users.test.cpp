#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "storage/outbox.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view post_model = R"({
  "scope": "user",
  "fields": {
    "title": {"type": "string", "required": true},
    "isPublic": {"type": "boolean", "default": false, "index": "global"},
    "n": {"type": "number", "default": 0},
    "handle": {"type": "string", "unique": true}
  }
})";

// alice, bob and carol with 5, 4 and 3 posts; post i of a user is public when i is even.
struct three_users : runtime_fixture {
  std::map<std::string, std::vector<std::string>> ids;

  three_users() {
    define("Post", post_model);
    auto posts = rt->model("Post");
    for (auto [user, count] : {std::pair{"alice", 5}, {"bob", 4}, {"carol", 3}})
      for (int i = 0; i < count; ++i) {
        auto d = posts.create(value{object{{"userId", user},
                                           {"title", std::string{user} + std::to_string(i)},
                                           {"isPublic", i % 2 == 0},
                                           {"n", i}}});
        if (!d)
          FAIL(message_of(d.error()));
        ids[user].push_back(d->find("id")->as_string());
      }
  }

  std::multiset<std::string> owners(const query_result& r) {
    std::multiset<std::string> out;
    for (auto& d : r.docs)
      out.insert(d.find("userId")->as_string());
    return out;
  }
};

} // namespace

TEST_CASE("userIn returns exactly those users' documents", "[actors][users]") {
  three_users f;
  auto r = f.rt->model("Post").query().user_in({"alice", "bob"}).exec();
  REQUIRE(r);
  CHECK(r->docs.size() == 9);
  CHECK(f.owners(*r).count("carol") == 0);
  CHECK(r->stats.partitions == 2);
  SECTION("sorted and limited like any query") {
    auto top =
        f.rt->model("Post").query().user_in({"bob", "carol"}).order_by("n", true).limit(3).exec();
    REQUIRE(top);
    CHECK(ints(top->docs, "n") == std::vector<int64_t>{3, 2, 2});
  }
  SECTION("an unknown user has no documents") {
    auto none = f.rt->model("Post").query().user_in({"nobody"}).exec();
    REQUIRE(none);
    CHECK(none->docs.empty());
  }
}

TEST_CASE("a cross-user query goes through the global index, which follows writes",
          "[actors][users]") {
  three_users f;
  auto posts = f.rt->model("Post");
  auto public_posts = [&] {
    auto r = posts.query().where("isPublic", "=", true).order_by("createdAt", true).exec();
    REQUIRE(r);
    return *r;
  };
  auto r = public_posts();
  CHECK(r.docs.size() == 3 + 2 + 2);
  CHECK(r.stats.partitions == 1);
  CHECK(r.stats.indexed_partitions == 1);
  CHECK_FALSE(r.stats.all_users);
  // Newest first; documents of one millisecond are ordered by id, descending like createdAt.
  for (size_t i = 1; i < r.docs.size(); ++i) {
    auto a = r.docs[i - 1].find("createdAt")->as_int();
    auto b = r.docs[i].find("createdAt")->as_int();
    CHECK(a >= b);
    if (a == b)
      CHECK(r.docs[i - 1].find("id")->as_string() > r.docs[i].find("id")->as_string());
  }
  SECTION("an update moves the entry") {
    REQUIRE(posts.update(f.ids["alice"][0], value{object{{"isPublic", false}}}));
    REQUIRE(posts.update(f.ids["bob"][1], value{object{{"isPublic", true}}}));
    auto after = public_posts();
    CHECK(after.docs.size() == 7);
    std::set<std::string> titles;
    for (auto& d : after.docs)
      titles.insert(d.find("title")->as_string());
    CHECK(titles.count("alice0") == 0);
    CHECK(titles.count("bob1") == 1);
  }
  SECTION("a delete removes it") {
    REQUIRE_FALSE(posts.remove(f.ids["carol"][2]));
    CHECK(public_posts().docs.size() == 6);
  }
  SECTION("a query no index narrows visits every user's database and says so") {
    auto scan = posts.query().where("n", ">=", 3).exec();
    REQUIRE(scan);
    CHECK(scan->docs.size() == 3); // alice 3, 4 and bob 3
    CHECK(scan->stats.all_users);
    auto count = posts.query().where_any({}).count();
    REQUIRE(count);
    CHECK(*count == 0);
    CHECK(*posts.count() == 12);
  }
}

TEST_CASE("user-scoped documents are found by id alone and keep their owner", "[actors][users]") {
  three_users f;
  auto posts = f.rt->model("Post");
  auto id = f.ids["bob"][2];
  auto doc = posts.get(id);
  REQUIRE(doc);
  CHECK(doc->find("userId")->as_string() == "bob");
  CHECK(f.rt->engine().get("Post", id, "bob"));
  CHECK(code_of(f.rt->engine().get("Post", id, "alice").error()) == errc::not_found);
  SECTION("the owner cannot change") {
    auto r = posts.update(id, value{object{{"userId", "alice"}}});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_argument);
  }
  SECTION("a document needs a userId") {
    auto r = posts.create(value{object{{"title", "orphan"}}});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::validation_failed);
  }
  SECTION("ids are unique across users") {
    auto r = posts.create(value{object{{"id", id}, {"userId", "carol"}, {"title", "dup"}}});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
  }
  SECTION("unique values hold across users") {
    REQUIRE(posts.create(value{object{{"userId", "alice"}, {"title", "h"}, {"handle", "@x"}}}));
    auto r = posts.create(value{object{{"userId", "bob"}, {"title", "h"}, {"handle", "@x"}}});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
  }
  SECTION("increments and deletes reach the owner's database") {
    CHECK(posts.increment(id, "n", value{10})->as_int() == 12);
    REQUIRE_FALSE(posts.remove(id));
    CHECK(code_of(posts.get(id).error()) == errc::not_found);
  }
}

TEST_CASE("users are registered by their first document or explicitly", "[actors][users]") {
  three_users f;
  auto& eng = f.rt->engine();
  auto alice = eng.get_user("alice");
  REQUIRE(alice);
  CHECK(alice->find_path("models.Post.documents")->as_int() == 5);
  CHECK(alice->find("createdAt")->is_int());
  CHECK(code_of(eng.get_user("dave").error()) == errc::not_found);
  auto created = f.rt->await<bool>([&](reply_fn<bool> done) { eng.ensure_user("dave", done); });
  REQUIRE(created);
  CHECK(*created);
  auto again = f.rt->await<bool>([&](reply_fn<bool> done) { eng.ensure_user("dave", done); });
  CHECK_FALSE(*again);
  CHECK(eng.get_user("dave")->find_path("models.Post.documents")->as_int() == 0);
  CHECK(code_of(eng.get_user("a/b").error()) == errc::invalid_argument);
}

TEST_CASE("a user's entry is counted without blocking, in slices, as the blocking call counts it",
          "[actors][users][slices]") {
  three_users f;
  f.define("Note", R"({"scope": "user", "fields": {"text": {"type": "string"}}})");
  for (int i = 0; i < 25; ++i)
    REQUIRE(f.rt->model("Note").create(
        value{object{{"userId", "alice"}, {"text", "note " + std::to_string(i)}}}));
  auto& eng = f.rt->engine();
  eng.set_scan_slice_entries(4); // 25 notes take 7 slices
  auto async = [&](const std::string& user) {
    return f.rt->await<value>([&](reply_fn<value> done) { eng.get_user_async(user, done); });
  };
  auto alice = async("alice");
  REQUIRE(alice);
  CHECK(alice->find_path("models.Post.documents")->as_int() == 5);
  CHECK(alice->find_path("models.Note.documents")->as_int() == 25);
  CHECK(*alice == *eng.get_user("alice"));
  auto carol = async("carol");
  REQUIRE(carol);
  CHECK(carol->find_path("models.Note.documents")->as_int() == 0);
  CHECK(code_of(async("dave").error()) == errc::not_found);
  CHECK(code_of(async("a/b").error()) == errc::invalid_argument);
}

TEST_CASE("live user databases stay within their bound", "[actors][users]") {
  temp_dir dir;
  auto opts = test_options(dir.path());
  opts.user_db_hosts = 2;
  opts.user_db_live_max = 8;
  auto rt = runtime::start(opts);
  REQUIRE(rt);
  REQUIRE((*rt)->define_json("Post", post_model));
  auto posts = (*rt)->model("Post");
  std::vector<std::string> ids;
  for (int u = 0; u < 60; ++u) {
    auto d = posts.create(value{object{{"userId", "user" + std::to_string(u)}, {"title", "t"}}});
    REQUIRE(d);
    ids.push_back(d->find("id")->as_string());
  }
  auto& stats = (*rt)->engine().user_databases();
  CHECK(stats.live.load() <= 8);
  CHECK(stats.peak_live.load() <= 9);
  CHECK(stats.activations.load() >= 60);
  CHECK(stats.passivations.load() >= 50);
  // Passivated databases come back with their data.
  for (int u = 0; u < 60; u += 7)
    CHECK(posts.update(ids[static_cast<size_t>(u)], value{object{{"n", u}}})->find("n")->as_int() ==
          u);
  CHECK(*posts.count() == 60);
}

namespace {

void users_within_bound(int users) {
  temp_dir dir;
  auto opts = test_options(dir.path());
  opts.user_db_live_max = 2000;
  auto rt = runtime::start(opts);
  REQUIRE(rt);
  REQUIRE((*rt)->define_json("Post", post_model));
  auto& eng = (*rt)->engine();
  // 64 creates in flight, each issuing the next from its completion (as actors would).
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::function<void()> issue = [&] {
    auto u = next.fetch_add(1);
    if (u >= users)
      return;
    eng.create("Post", value{object{{"userId", "user" + std::to_string(u)}, {"title", "hello"}}},
               [&](caf::expected<value> r) {
                 if (!r)
                   ++failed;
                 ++done;
                 issue();
               });
  };
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i)
    issue();
  while (done.load() < users)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(failed == 0);
  auto& stats = eng.user_databases();
  CHECK(stats.live.load() <= 2000);
  CHECK(stats.peak_live.load() <= 2000 + 64);
  CHECK(stats.activations.load() >= static_cast<uint64_t>(users));
  CHECK(*(*rt)->model("Post").count() == static_cast<uint64_t>(users));
  std::ifstream status{"/proc/self/status"};
  std::string line;
  double rss_mb = 0;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      rss_mb = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  WARN(users << " users: " << static_cast<int>(users / secs) << " creates/s, peak live databases "
             << stats.peak_live.load() << ", peak RSS " << static_cast<int>(rss_mb) << " MB");
}

} // namespace

TEST_CASE("100,000 users with one document each stay within the live bound",
          "[actors][users][scale]") {
  users_within_bound(100000);
}

// make test-slow: a million users.
TEST_CASE("1,000,000 users with one document each stay within the live bound",
          "[actors][users][scale][.slow]") {
  users_within_bound(1000000);
}

TEST_CASE("a global model's global index answers from its partitions and follows writes",
          "[actors][users][gindex]") {
  runtime_fixture f;
  f.define("Item", R"({"fields": {"n": {"type": "number", "index": "global"},
                                  "tag": {"type": "string"}},
                       "sharding": {"strategy": "hash", "count": 8}})");
  auto items = f.rt->model("Item");
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto d = items.create(value{object{{"n", i % 5}, {"tag", "t" + std::to_string(i)}}});
    REQUIRE(d);
    ids.push_back(d->find("id")->as_string());
  }
  auto with_n = [&](int64_t n) {
    auto r = items.query().where("n", "=", n).order_by("createdAt", true).limit(100).exec();
    REQUIRE(r);
    CHECK(r->stats.partitions == 1);
    CHECK(r->stats.indexed_partitions == 1);
    return r->docs.size();
  };
  CHECK(with_n(3) == 8);
  SECTION("a range asks every index partition, not the 8 shards") {
    auto r = items.query().where("n", ">=", 3).exec();
    REQUIRE(r);
    CHECK(r->docs.size() == 16);
    CHECK(r->stats.partitions == doc_keys::gindex_partitions);
  }
  SECTION("updates move entries, deletes remove them, and the index survives a restart") {
    REQUIRE(items.update(ids[3], value{object{{"n", 4}}})); // 3 -> 4
    REQUIRE_FALSE(items.remove(ids[8]));                    // a 3
    CHECK(with_n(3) == 6);
    CHECK(with_n(4) == 9);
    f.restart();
    items = f.rt->model("Item");
    CHECK(with_n(3) == 6);
    CHECK(with_n(4) == 9);
  }
  SECTION("the shard key still picks its one shard") {
    auto r = items.query().where("id", "=", ids[0]).where("n", "=", 0).exec();
    REQUIRE(r);
    CHECK(r->docs.size() == 1);
    CHECK(r->stats.partitions == 1);
    CHECK(r->stats.indexed_partitions == 1);
  }
}

TEST_CASE("a write whose derived keys LMDB cannot store is refused before it is acknowledged",
          "[actors][users][gindex]") {
  // The probe's reproduction: a 64-byte global-indexed field name, a 128-byte id, a 128-byte
  // userId and a 250-byte value make a 546-byte global index key. It used to be acknowledged,
  // then wedge its index partition for good (every query on it 413, also after a restart).
  runtime_fixture f;
  std::string field(64, 'f');
  f.define("Wide", R"({"scope": "user", "fields": {")" + field +
                       R"(": {"type": "string", "index": "global"}}})");
  auto wide = f.rt->model("Wide");
  std::string id(128, 'i');
  std::string user(128, 'u');
  auto big =
      wide.create(value{object{{"id", id}, {"userId", user}, {field, std::string(250, 'v')}}});
  REQUIRE_FALSE(big);
  CHECK(code_of(big.error()) == errc::invalid_argument);
  CHECK_THAT(message_of(big.error()),
             Catch::Contains("the global index key of field '" + field + "' would be") &&
                 Catch::Contains("at most 511 bytes"));
  CHECK(code_of(wide.get(id).error()) == errc::not_found);
  // An update that would grow a key past the limit is refused too; the document is unchanged.
  auto small = wide.create(value{object{{"id", id}, {"userId", user}, {field, "v"}}});
  REQUIRE(small);
  auto grown = wide.update(id, value{object{{field, std::string(250, 'v')}}});
  REQUIRE_FALSE(grown);
  CHECK(code_of(grown.error()) == errc::invalid_argument);
  CHECK(wide.get(id)->find(field)->as_string() == "v");
  // The partition still answers.
  auto r = wide.query().where(field, "=", value{"v"}).exec();
  REQUIRE(r);
  CHECK(r->docs.size() == 1);
}

TEST_CASE("a global index partition quarantines work it can never apply and keeps draining",
          "[actors][users][gindex]") {
  runtime_fixture f;
  f.define("Tagged",
           R"({"scope": "user", "fields": {"tag": {"type": "string", "index": "global"}}})");
  auto tagged = f.rt->model("Tagged");
  REQUIRE(tagged.create(value{object{{"userId", "alice"}, {"tag", "a"}}}));
  auto entry = f.rt->engine().find("Tagged");
  REQUIRE(entry);
  // Plant poison in every partition's channel, as older data or damage could leave it: a key
  // longer than LMDB allows, and a payload that does not decode.
  auto outbox = storage::outbox{f.rt->env().get_table("outbox")};
  std::promise<caf::error> planted;
  f.rt->writer().submit(
      [&](storage::write_txn& txn) -> caf::error {
        for (uint32_t p = 0; p < doc_keys::gindex_partitions; ++p) {
          auto channel = gindex_channel((*entry)->id, p);
          auto long_key = encode_gindex_op(gindex_op{true, std::string(600, 'k')});
          if (auto seq = outbox.append(txn, channel, long_key); !seq)
            return seq.error();
          if (auto seq = outbox.append(txn, channel, "\x07garbage"); !seq)
            return seq.error();
        }
        return caf::none;
      },
      [&](const caf::error& err) { planted.set_value(err); });
  REQUIRE_FALSE(planted.get_future().get());
  // New writes after the poison are indexed and queries answer (they wait for the drain).
  REQUIRE(tagged.create(value{object{{"userId", "bob"}, {"tag", "a"}}}));
  auto r = tagged.query().where("tag", "=", value{"a"}).exec();
  REQUIRE(r);
  CHECK(r->docs.size() == 2);
  // A range asks (and so drains) every partition.
  auto all = tagged.query().where("tag", ">=", value{""}).exec();
  REQUIRE(all);
  CHECK(all->docs.size() == 2);
  CHECK(all->stats.partitions == doc_keys::gindex_partitions);
  auto txn = f.rt->env().read();
  REQUIRE(txn);
  auto counts = outbox.count(*txn, dead_letter_prefix);
  REQUIRE(counts);
  CHECK(counts->dead == 2 * doc_keys::gindex_partitions);
  CHECK(counts->pending == counts->dead); // nothing else waits
  auto dead = outbox.read(*txn, dead_letter_channel(gindex_channel((*entry)->id, 0)), 0, 10);
  REQUIRE(dead);
  CHECK(dead->size() == 2);
}

TEST_CASE("user ids follow the API's one name rule in the engine too", "[actors][users]") {
  // Embedders reach the engine without the gateway: the same rule of messages/names.hpp holds.
  runtime_fixture f;
  for (std::string bad : {std::string{}, std::string{"a/b"}, std::string{"nl\n"},
                          std::string{"nul\0x", 5}, std::string(129, 'u')}) {
    INFO(bad);
    CHECK(code_of(engine::check_user_id(bad)) == errc::invalid_argument);
  }
  CHECK_FALSE(engine::check_user_id(std::string(128, 'u')));
  CHECK_FALSE(engine::check_user_id("alice"));
}
