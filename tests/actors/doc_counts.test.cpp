#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "actors/doc_counts.hpp"
#include "actors/doc_keys.hpp"
#include "storage/key_codec.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/runtime_fixture.hpp"

using namespace debros;
using namespace debros::test;

namespace {

constexpr std::string_view member_model = R"({
  "fields": {
    "name": {"type": "string", "required": true, "unique": true},
    "age": {"type": "number", "min": 0}
  },
  "sharding": {"strategy": "hash", "count": 4, "key": "id"}
})";

constexpr std::string_view note_model = R"({
  "scope": "user",
  "fields": {"text": {"type": "string"}, "tag": {"type": "string", "index": "global"}}
})";

// The kept count of `model`, checked against a count of its documents by a query (which reads
// them all): the two must always agree.
uint64_t kept(runtime_fixture& f, const std::string& model) {
  auto handle = f.rt->model(model);
  auto n = handle.document_count();
  REQUIRE(n);
  auto counted = handle.count();
  REQUIRE(counted);
  INFO("model " << model << ": kept " << *n << ", counted by a query " << *counted);
  CHECK(*n == *counted);
  return *n;
}

// Removes every count entry, and the version entry when `version_too`: the state of a store
// written before the counts were kept (or, without `version_too`, of counts that missed writes).
void forget_counts(runtime_fixture& f, bool version_too) {
  auto counts = f.rt->env().get_table("counts");
  auto meta = f.rt->env().get_table("meta");
  auto err = f.rt->writer().write([&](storage::write_txn& txn) -> caf::error {
    auto c = txn.open_cursor(counts);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->valid())
      if (auto e = c->del_current())
        return e;
    if (version_too)
      if (auto gone = txn.del(meta, doc_counts::version_key); !gone)
        return gone.error();
    return caf::none;
  });
  REQUIRE_FALSE(err);
}

value named(const std::string& name) {
  return value{object{{"name", name}}};
}

} // namespace

TEST_CASE("document count keys are byte-for-byte the documented layout",
          "[actors][counts][golden]") {
  // If these change, stores written before read wrong counts: version the layout instead.
  CHECK(hex(doc_keys::shard_count_key(7, 3)) == "00000007"
                                                "0003");
  CHECK(hex(doc_keys::user_count_key(7, 5)) == "00000007"
                                               "0005");
  CHECK(doc_counts::version_key == "counts.version");
  CHECK(doc_counts::version == "2");
  SECTION("a count is stored as 8 bytes big-endian under its shard's key") {
    runtime_fixture f;
    f.define("Member", member_model);
    auto created = f.rt->model("Member").create(named("ann"));
    REQUIRE(created);
    auto id = created->find("id")->as_string();
    auto entry = f.rt->engine().find("Member");
    REQUIRE(entry);
    auto where = f.rt->engine().locate(**entry, id);
    REQUIRE(where);
    REQUIRE(*where);
    auto txn = f.rt->env().read();
    REQUIRE(txn);
    auto stored = txn->get(f.rt->env().get_table("counts"),
                           doc_keys::shard_count_key((*entry)->id, (*where)->shard));
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK(hex(**stored) == "0000000000000001");
    auto version = txn->get(f.rt->env().get_table("meta"), "counts.version");
    REQUIRE(version);
    REQUIRE(*version);
    CHECK(**version == "2");
  }
}

TEST_CASE("document counts follow creates, deletes and batches exactly", "[actors][counts]") {
  runtime_fixture f;
  f.define("Member", member_model);
  auto members = f.rt->model("Member");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto d = members.create(named("m" + std::to_string(i)));
    REQUIRE(d);
    ids.push_back(d->find("id")->as_string());
  }
  CHECK(kept(f, "Member") == 20);
  SECTION("a delete removes one; deleting a missing document changes nothing") {
    REQUIRE_FALSE(members.remove(ids[0]));
    REQUIRE_FALSE(members.remove(ids[1]));
    CHECK(kept(f, "Member") == 18);
    CHECK(members.remove(ids[0]));
    CHECK(kept(f, "Member") == 18);
  }
  SECTION("updates and replaces change no count") {
    REQUIRE(members.update(ids[0], value{object{{"age", 3}}}));
    REQUIRE(members.replace(ids[1], named("renamed")));
    CHECK(kept(f, "Member") == 20);
  }
  SECTION("a create refused for a unique value in use changes nothing") {
    auto dup = members.create(named("m3"));
    REQUIRE_FALSE(dup);
    CHECK(code_of(dup.error()) == errc::conflict);
    CHECK(kept(f, "Member") == 20);
  }
  SECTION("a create retried with the same id is refused and counted once") {
    REQUIRE(members.create(value{object{{"id", "fixed"}, {"name", "once"}}}));
    auto again = members.create(value{object{{"id", "fixed"}, {"name", "twice"}}});
    REQUIRE_FALSE(again);
    CHECK(code_of(again.error()) == errc::conflict);
    CHECK(kept(f, "Member") == 21);
  }
  SECTION("a create refused by validation changes nothing") {
    REQUIRE_FALSE(members.create(value{object{{"name", "neg"}, {"age", -1}}}));
    CHECK(kept(f, "Member") == 20);
  }
  SECTION("a batch adds its documents") {
    REQUIRE(members.create_batch({named("b1"), named("b2"), named("b3")}));
    CHECK(kept(f, "Member") == 23);
  }
  SECTION("a batch refused in its transaction adds none of its documents") {
    // b1 and b2 pass every check before the write; "m5" is in use, found while b1's and b2's
    // counts were already changed in the transaction: the whole request is dropped.
    auto r = members.create_batch({named("b1"), named("b2"), named("m5")});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
    CHECK(kept(f, "Member") == 20);
  }
  SECTION("a batch refused by validation adds nothing") {
    REQUIRE_FALSE(members.create_batch({named("b1"), value{object{{"age", 1}}}}));
    CHECK(kept(f, "Member") == 20);
  }
  SECTION("the counts survive a restart") {
    REQUIRE_FALSE(members.remove(ids[5]));
    f.restart();
    CHECK(kept(f, "Member") == 19);
    REQUIRE(f.rt->model("Member").create(named("after")));
    CHECK(kept(f, "Member") == 20);
  }
}

TEST_CASE("document counts of user-scoped models add up the databases of every user",
          "[actors][counts]") {
  runtime_fixture f;
  f.define("Note", note_model);
  auto notes = f.rt->model("Note");
  std::vector<std::string> ids;
  for (auto user : {"alice", "bob", "carol"})
    for (int i = 0; i < 3; ++i) {
      auto d = notes.create(value{object{{"userId", user}, {"text", "t"}, {"tag", "x"}}});
      REQUIRE(d);
      ids.push_back(d->find("id")->as_string());
    }
  CHECK(kept(f, "Note") == 9);
  REQUIRE_FALSE(notes.remove(ids[0]));
  REQUIRE(notes.update(ids[1], value{object{{"text", "u"}}}));
  CHECK(kept(f, "Note") == 8);
  REQUIRE(notes.create_batch({value{object{{"userId", "dave"}, {"text", "a"}}},
                              value{object{{"userId", "alice"}, {"text", "b"}}}}));
  CHECK(kept(f, "Note") == 10);
  f.restart();
  CHECK(kept(f, "Note") == 10);
}

TEST_CASE("document counts of keyvalue, counter and eventlog models", "[actors][counts]") {
  runtime_fixture f;
  SECTION("keyvalue: writing a key again replaces it and counts it once") {
    f.define("Setting", R"({"type": "keyvalue", "fields": {"v": {"type": "string"}}})");
    auto kv = f.rt->model("Setting");
    REQUIRE(kv.create(f.doc(R"({"id": "theme", "v": "dark"})")));
    REQUIRE(kv.create(f.doc(R"({"id": "theme", "v": "light"})")));
    CHECK(kept(f, "Setting") == 1);
  }
  SECTION("counter: the first increment creates it, the next ones do not") {
    f.define("Hits", R"({"type": "counter", "fields": {"n": {"type": "number", "default": 0}}})");
    auto hits = f.rt->model("Hits");
    REQUIRE(hits.increment("home", "n"));
    REQUIRE(hits.increment("home", "n"));
    REQUIRE(hits.increment("about", "n"));
    CHECK(kept(f, "Hits") == 2);
  }
  SECTION("eventlog: a delete counts, a refused re-create does not") {
    f.define("Event", R"({"type": "eventlog", "fields": {"what": {"type": "string"}}})");
    auto log = f.rt->model("Event");
    REQUIRE(log.create(f.doc(R"({"id": "e1", "what": "login"})")));
    REQUIRE(log.create(f.doc(R"({"id": "e2", "what": "login"})")));
    REQUIRE_FALSE(log.remove("e1"));
    REQUIRE_FALSE(log.create(f.doc(R"({"id": "e1", "what": "again"})")));
    CHECK(kept(f, "Event") == 1);
  }
  SECTION("a model without documents counts zero") {
    f.define("Empty", R"({"fields": {"v": {"type": "string"}}})");
    CHECK(kept(f, "Empty") == 0);
  }
}

TEST_CASE("concurrent creates and deletes through the group commit keep counts exact",
          "[actors][counts][concurrency]") {
  runtime_fixture f;
  f.define("Member", member_model);
  f.define("Note", note_model);
  constexpr int n = 400;
  std::atomic<int> done{0};
  std::atomic<int> members_created{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other_errors{0};
  std::mutex mtx;
  std::vector<std::string> note_ids;
  auto wait = [&](int target) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (done.load() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    REQUIRE(done.load() == target);
  };
  auto member_done = [&](caf::expected<value> r) {
    if (r)
      ++members_created;
    else if (code_of(r.error()) == errc::conflict)
      ++conflicts;
    else
      ++other_errors;
    ++done;
  };
  // Every name twice, from documents placed on different shards: the writer applies them in
  // some order, and exactly one of each pair is stored.
  for (int i = 0; i < n; ++i) {
    for (int twice = 0; twice < 2; ++twice)
      f.rt->engine().create("Member", named("c" + std::to_string(i)), member_done);
    f.rt->engine().create("Note",
                          value{object{{"userId", "u" + std::to_string(i % 17)}, {"text", "t"}}},
                          [&](caf::expected<value> r) {
                            if (r) {
                              std::lock_guard<std::mutex> guard{mtx};
                              note_ids.push_back(r->find("id")->as_string());
                            } else {
                              ++other_errors;
                            }
                            ++done;
                          });
  }
  wait(3 * n);
  CHECK(other_errors == 0);
  CHECK(members_created == n);
  CHECK(conflicts == n);
  REQUIRE(note_ids.size() == static_cast<size_t>(n));
  // The writer batched them: fewer commits than writes, so one transaction changed an entry
  // many times.
  CHECK(f.rt->writer().stats().commits < static_cast<uint64_t>(3 * n));
  CHECK(kept(f, "Member") == n);
  CHECK(kept(f, "Note") == n);
  // Every other note deleted twice at once: one delete finds it, the other does not.
  std::atomic<int> removed{0};
  for (size_t i = 0; i < note_ids.size(); i += 2)
    for (int twice = 0; twice < 2; ++twice)
      f.rt->engine().remove("Note", note_ids[i], [&](caf::expected<bool> r) {
        if (r)
          ++removed;
        ++done;
      });
  wait(3 * n + n);
  CHECK(removed == n / 2);
  CHECK(kept(f, "Note") == n / 2);
}

TEST_CASE("a store without document counts is counted once when it opens", "[actors][counts]") {
  runtime_fixture f;
  f.define("Member", member_model);
  f.define("Note", note_model);
  for (int i = 0; i < 30; ++i)
    REQUIRE(f.rt->model("Member").create(named("m" + std::to_string(i))));
  for (int i = 0; i < 7; ++i)
    REQUIRE(f.rt->model("Note").create(
        value{object{{"userId", "u" + std::to_string(i % 3)}, {"text", "t"}}}));
  forget_counts(f, true);
  // Now like a store of a version that kept no counts.
  CHECK(*f.rt->model("Member").document_count() == 0);
  CHECK(*f.rt->model("Note").document_count() == 0);
  SECTION("the next start counts the documents and stores the counts") {
    f.restart();
    CHECK(kept(f, "Member") == 30);
    CHECK(kept(f, "Note") == 7);
    REQUIRE(f.rt->model("Member").create(named("new")));
    CHECK(kept(f, "Member") == 31);
    SECTION("and the start after that trusts them") {
      // Counts made wrong behind the store's back stay wrong: with the version present,
      // nothing is counted again (the count is once, not at every start).
      forget_counts(f, false);
      f.restart();
      CHECK(*f.rt->model("Member").document_count() == 0);
    }
  }
  SECTION("a delete below zero keeps zero and has the next start count again") {
    // The version back, the counts still missing: counts that missed writes.
    REQUIRE_FALSE(f.rt->writer().write([&](storage::write_txn& txn) {
      return txn.put(f.rt->env().get_table("meta"), doc_counts::version_key, doc_counts::version);
    }));
    auto some = f.rt->model("Member").query().limit(1).exec();
    REQUIRE(some);
    REQUIRE(some->docs.size() == 1);
    REQUIRE_FALSE(f.rt->model("Member").remove(some->docs[0].find("id")->as_string()));
    CHECK(*f.rt->model("Member").document_count() == 0);
    f.restart();
    CHECK(kept(f, "Member") == 29);
    CHECK(kept(f, "Note") == 7);
  }
}
