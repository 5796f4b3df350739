#include <catch2/catch.hpp>

#include "storage/record.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view post_model = R"({
  "fields": {
    "title": {"type": "string"},
    "category": {"type": "string", "index": true},
    "views": {"type": "number"}
  },
  "sharding": {"strategy": "hash", "count": 4, "key": "id"}
})";

constexpr std::string_view note_model = R"({
  "scope": "user",
  "fields": {"text": {"type": "string"}, "tag": {"type": "string", "index": "global"}}
})";

// Changes one character of `marker` inside the stored record that holds it, the way a bad disk
// or a stray write would: the msgpack stays well formed, so only the checksum can tell.
void damage_record_holding(runtime_fixture& f, std::string_view marker) {
  auto docs = f.rt->env().get_table("docs");
  int changed = 0;
  bool intact_before = false;
  // Runs on the writer thread: no Catch2 assertion in here (they are not thread-safe).
  auto err = f.rt->writer().write([&](storage::write_txn& txn) -> caf::error {
    auto c = txn.open_cursor(docs);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next()) {
      std::string rec{c->val()};
      auto at = rec.find(marker);
      if (at == std::string::npos)
        continue;
      intact_before = static_cast<bool>(storage::record_body(rec));
      rec[at] = static_cast<char>(rec[at] ^ 0x01);
      std::string key{c->key()};
      if (auto e = txn.put(docs, key, rec))
        return e;
      ++changed;
      break;
    }
    return caf::none;
  });
  REQUIRE_FALSE(err);
  REQUIRE(changed == 1);
  REQUIRE(intact_before);
}

template <class T>
void expect_corruption(const caf::expected<T>& r, std::string_view doc) {
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::corruption);
  CHECK_THAT(message_of(r.error()),
             Catch::Contains(std::string{doc}) && Catch::Contains("checksum mismatch"));
}

} // namespace

TEST_CASE("a damaged stored document is reported as corruption by every read of it",
          "[actors][corruption]") {
  runtime_fixture f;
  f.define("Post", post_model);
  auto posts = f.rt->model("Post");
  for (int i = 0; i < 20; ++i)
    REQUIRE(posts.create(value{object{{"id", "p" + std::to_string(i)},
                                      {"title", "title of post " + std::to_string(i)},
                                      {"category", i % 2 == 0 ? "even" : "odd"},
                                      {"views", i}}}));
  REQUIRE(posts.create(value{
      object{{"id", "victim"}, {"title", "DAMAGED-TITLE"}, {"category", "rare"}, {"views", 100}}}));
  damage_record_holding(f, "DAMAGED-TITLE");
  f.restart(); // nothing of the victim stays in memory
  posts = f.rt->model("Post");

  SECTION("get") {
    expect_corruption(posts.get("victim"), "Post/victim");
    CHECK(posts.get("p3")); // the others still read
  }
  SECTION("an indexed query that reaches it") {
    expect_corruption(posts.query().where("category", "=", "rare").exec(), "Post/victim");
    auto others = posts.query().where("category", "=", "odd").exec();
    REQUIRE(others);
    CHECK(others->docs.size() == 10);
  }
  SECTION("a scan") {
    expect_corruption(posts.query().where("views", ">", -1).limit(1000).exec(), "Post/victim");
    expect_corruption(posts.query().order_by("title").limit(5).exec(), "Post/victim");
  }
  SECTION("count, sum and withTotal") {
    expect_corruption(posts.count(), "Post/victim");
    expect_corruption(posts.query().sum("views"), "Post/victim");
    expect_corruption(posts.query().where("views", ">=", 0).limit(1).with_total().exec(),
                      "Post/victim");
  }
  SECTION("the kept count, which reads no document, still answers") {
    auto n = posts.document_count();
    REQUIRE(n);
    CHECK(*n == 21);
  }
}

TEST_CASE("a damaged document of a user database is corruption in scans and global indexes",
          "[actors][corruption]") {
  runtime_fixture f;
  f.define("Note", note_model);
  auto notes = f.rt->model("Note");
  for (int i = 0; i < 6; ++i)
    REQUIRE(notes.create(value{object{{"userId", "u" + std::to_string(i % 3)},
                                      {"text", "note " + std::to_string(i)},
                                      {"tag", "t" + std::to_string(i % 2)}}}));
  auto victim =
      notes.create(value{object{{"userId", "u1"}, {"text", "DAMAGED-TEXT"}, {"tag", "rare"}}});
  REQUIRE(victim);
  auto id = victim->find("id")->as_string();
  damage_record_holding(f, "DAMAGED-TEXT");
  f.restart();
  notes = f.rt->model("Note");

  SECTION("get") {
    expect_corruption(notes.get(id), "Note/" + id);
  }
  SECTION("a global index query") {
    expect_corruption(notes.query().where("tag", "=", "rare").exec(), "Note/" + id);
    auto others = notes.query().where("tag", "=", "t0").exec();
    REQUIRE(others);
    CHECK(others->docs.size() == 3);
  }
  SECTION("a scan of every user's database, and of the victim's") {
    expect_corruption(notes.count(), "Note/" + id);
    expect_corruption(notes.query().user_in({"u1"}).limit(100).exec(), "Note/" + id);
    auto fine = notes.query().user_in({"u0"}).limit(100).exec();
    REQUIRE(fine);
    CHECK(fine->docs.size() == 2);
  }
}
