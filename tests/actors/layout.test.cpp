// Store layout 2: every key in its partition's range (actors/doc_keys.hpp), per-partition write
// sequences, and the upgrade of a layout-1 store (actors/layout_upgrade.hpp).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/layout_upgrade.hpp"
#include "actors/placement.hpp"
#include "storage/key_codec.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/support/store_dump.hpp"

using namespace debros;
using namespace debros::test;

namespace {

std::string u16(uint32_t n) {
  std::string out;
  storage::append_u16(out, static_cast<uint16_t>(n));
  return out;
}

std::string ks(std::string_view s) {
  std::string out;
  storage::append_key_string(out, s);
  return out;
}

// A global model with a local index and a unique field, sharded by a field other than id (so
// its ids have directory entries); an event log (tombstones); a user-scoped model with a global
// index and a unique field.
constexpr std::string_view member_model = R"({
  "fields": {
    "email": {"type": "string", "unique": true},
    "team": {"type": "string", "index": true},
    "n": {"type": "number", "index": true}
  },
  "sharding": {"strategy": "hash", "count": 4, "key": "team"}
})";
constexpr std::string_view event_model =
    R"({"type": "eventlog", "fields": {"what": {"type": "string"}}})";
constexpr std::string_view note_model = R"({
  "scope": "user",
  "fields": {
    "text": {"type": "string"},
    "pub": {"type": "boolean", "default": false, "index": "global"},
    "handle": {"type": "string", "unique": true}
  }
})";

// Every table's entries, by table name.
using dump = std::map<std::string, std::map<std::string, std::string>>;

dump dump_tables(runtime& rt, const std::vector<std::string>& tables) {
  dump out;
  for (auto& name : tables)
    out[name] = table_entries(rt, name);
  return out;
}

// (The global index is left out: the upgrade does not touch it, and its partitions drain the
// outbox at their own pace.)
const std::vector<std::string> layout2_tables{"docs",       "shard_index", "claims", "directory",
                                              "tombstones", "users",       "counts"};
const std::vector<std::string> layout1_tables{"index", "unique", "owners"};

// Layout 2 back to layout 1, written by hand from the layout-1 description in
// actors/layout_upgrade.hpp (not with the upgrade's own code).
std::string v1_index_key(std::string_view k) {
  auto model = k.substr(0, 4);
  auto shard = k.substr(4, 2);
  auto rest = k.substr(6);
  auto start = rest;
  REQUIRE(storage::skip_key(rest)); // field
  REQUIRE(storage::skip_key(rest)); // value
  auto fvc = start.substr(0, start.size() - rest.size() + 11);
  return std::string{model} + std::string{fvc} + std::string{shard} + std::string{rest.substr(11)};
}

std::string drop_partition(std::string_view k) {
  return std::string{k.substr(0, 4)} + std::string{k.substr(6)};
}

void downgrade_to_layout1(runtime& rt, uint32_t user_model) {
  auto& env = rt.env();
  auto before = dump_tables(rt, layout2_tables);
  auto err = rt.writer().write([&](storage::write_txn& txn) -> caf::error {
    auto move = [&](const std::string& from, const std::string& to, auto convert) -> caf::error {
      for (auto& [k, v] : before[from]) {
        auto nk = convert(k);
        if (!nk)
          continue;
        if (auto gone = txn.del(env.get_table(from), k); !gone)
          return gone.error();
        if (auto e = txn.put(env.get_table(to), *nk, v))
          return e;
      }
      return caf::none;
    };
    using opt = std::optional<std::string>;
    if (auto e = move("shard_index", "index", [](auto& k) { return opt{v1_index_key(k)}; }))
      return e;
    if (auto e = move("claims", "unique", [](auto& k) { return opt{drop_partition(k)}; }))
      return e;
    if (auto e = move("directory", "owners", [](auto& k) { return opt{drop_partition(k)}; }))
      return e;
    if (auto e = move("tombstones", "tombstones", [](auto& k) { return opt{drop_partition(k)}; }))
      return e;
    if (auto e = move("docs", "docs", [&](const std::string& k) {
          return storage::read_u32(k) == user_model ? opt{drop_partition(k)} : opt{};
        }))
      return e;
    if (auto e = move("users", "users", [](auto& k) { return opt{k.substr(2)}; }))
      return e;
    if (auto gone = txn.del(env.get_table("meta"), layout_upgrade::version_key); !gone)
      return gone.error();
    return txn.put(env.get_table("meta"), "counts.version", "1");
  });
  REQUIRE_FALSE(err);
}

struct three_models : runtime_fixture {
  uint32_t member_id = 0, note_id = 0, event_id = 0;
  std::vector<std::string> member_ids, note_ids;

  three_models() {
    define("Member", member_model);
    define("Event", event_model);
    define("Note", note_model);
    for (int i = 0; i < 40; ++i) {
      auto m = rt->model("Member").create(value{object{{"email", "m" + std::to_string(i) + "@x"},
                                                       {"team", "t" + std::to_string(i % 7)},
                                                       {"n", i % 5}}});
      REQUIRE(m);
      member_ids.push_back(m->find("id")->as_string());
      auto n = rt->model("Note").create(value{object{{"userId", "u" + std::to_string(i % 9)},
                                                     {"text", "note " + std::to_string(i)},
                                                     {"pub", i % 2 == 0},
                                                     {"handle", "h" + std::to_string(i)}}});
      REQUIRE(n);
      note_ids.push_back(n->find("id")->as_string());
    }
    for (int i = 0; i < 6; ++i) {
      auto e = rt->model("Event").create(value{object{{"what", "e" + std::to_string(i)}}});
      REQUIRE(e);
      if (i % 2 == 0)
        REQUIRE_FALSE(rt->model("Event").remove(e->find("id")->as_string()));
    }
    member_id = (*rt->engine().find("Member"))->id;
    note_id = (*rt->engine().find("Note"))->id;
    event_id = (*rt->engine().find("Event"))->id;
  }

  // What users see: pages of queries on every model, documents by id.
  std::vector<value> answers() {
    std::vector<value> out;
    auto page = [&](caf::expected<query_result> r) {
      REQUIRE(r);
      out.push_back(value{array(r->docs.begin(), r->docs.end())});
    };
    page(rt->model("Member").query().where("n", "=", 3).order_by("createdAt", true).exec());
    page(rt->model("Member").query().where("team", "=", "t2").exec());
    page(rt->model("Member").query().where("n", ">", 1).order_by("n").limit(11).exec());
    page(rt->model("Note").query().where("pub", "=", true).order_by("createdAt").exec());
    page(rt->model("Note").query().user_in({"u3", "u4"}).order_by("createdAt").exec());
    page(rt->model("Note").query().order_by("createdAt", true).limit(100).exec());
    page(rt->model("Event").query().limit(100).exec());
    for (auto& id : member_ids) {
      auto d = rt->model("Member").get(id);
      REQUIRE(d);
      out.push_back(*d);
    }
    for (auto& id : note_ids) {
      auto d = rt->model("Note").get(id);
      REQUIRE(d);
      out.push_back(*d);
    }
    return out;
  }
};

} // namespace

TEST_CASE("layout 2 keys are byte-for-byte the documented layout", "[actors][layout][golden]") {
  // If these change, stores written before read wrong: version the layout (layout_upgrade.hpp).
  auto model = std::string{"\x00\x00\x00\x07", 4};
  CHECK(doc_keys::index_key(7, 3, "f", value{"v"}, 5, "id1") ==
        model + u16(3) + ks("f") + storage::key_of(value{"v"}) +
            storage::key_of(value{int64_t{5}}) + "id1");
  auto uniq = ks("email") + storage::key_of(value{"a@x"});
  CHECK(doc_keys::unique_key(7, "email", value{"a@x"}) ==
        model + u16(stable_hash(uniq) % doc_keys::claim_partitions) + uniq);
  CHECK(doc_keys::owner_key(7, "id1") ==
        model + u16(stable_hash("id1") % doc_keys::directory_partitions) + "id1");
  CHECK(doc_keys::tombstone_key(7, "id1") == doc_keys::owner_key(7, "id1"));
  auto range = static_cast<uint32_t>(stable_hash(ks("alice")) % doc_keys::user_ranges);
  CHECK(doc_keys::user_range_of("alice") == range);
  CHECK(doc_keys::user_doc_key(7, "alice", "id1") == model + u16(range) + ks("alice") + "id1");
  CHECK(doc_keys::user_key("alice") == u16(range) + "alice");
  CHECK(hex(doc_keys::seq_key({7, doc_keys::partition_kind::claims, 9})) == "04"
                                                                            "00000007"
                                                                            "0009");
  CHECK(layout_upgrade::version_key == "layout.version");
  CHECK(layout_upgrade::version == "2");
  // A partition's keys are one range: a shard's index entries do not interleave with another's.
  CHECK(doc_keys::index_key(7, 3, "f", value{"z"}, 9, "z") <
        doc_keys::index_key(7, 4, "f", value{"a"}, 1, "a"));
}

TEST_CASE("every write advances the sequence of each partition it changes, in its transaction",
          "[actors][layout][seq]") {
  three_models f;
  using doc_keys::partition_id;
  using doc_keys::partition_kind;
  auto seq = [&](partition_id p) {
    auto txn = f.rt->env().read();
    REQUIRE(txn);
    auto n = read_seq(*txn, f.rt->env().get_table("seqs"), p);
    REQUIRE(n);
    return *n;
  };
  auto member = f.rt->model("Member");
  auto created = member.create(value{object{{"email", "new@x"}, {"team", "t1"}, {"n", 1}}});
  REQUIRE(created);
  auto id = created->find("id")->as_string();
  auto shard = shard_for_key((*f.rt->engine().find("Member"))->def().sharding, value{"t1"});
  partition_id shard_p{f.member_id, partition_kind::shard, shard};
  auto claim_key = doc_keys::unique_key(f.member_id, "email", value{"new@x"});
  partition_id claim_p{f.member_id, partition_kind::claims, storage::read_u16(claim_key.substr(4))};
  partition_id dir_p{f.member_id, partition_kind::directory,
                     storage::read_u16(doc_keys::owner_key(f.member_id, id).substr(4))};
  auto s0 = seq(shard_p), c0 = seq(claim_p), d0 = seq(dir_p);
  CHECK(s0 > 0);
  SECTION("an update that changes no claim advances only the shard") {
    REQUIRE(member.update(id, value{object{{"n", 2}}}));
    CHECK(seq(shard_p) == s0 + 1);
    CHECK(seq(claim_p) == c0);
    CHECK(seq(dir_p) == d0);
  }
  SECTION("a refused write advances nothing") {
    auto dup = member.create(value{object{{"email", "new@x"}, {"team", "t1"}}});
    REQUIRE_FALSE(dup);
    CHECK(code_of(dup.error()) == errc::conflict);
    CHECK(seq(shard_p) == s0);
    CHECK(seq(claim_p) == c0);
  }
  SECTION("a delete advances the shard, the claim and the directory partitions") {
    REQUIRE_FALSE(member.remove(id));
    CHECK(seq(shard_p) == s0 + 1);
    CHECK(seq(claim_p) == c0 + 1);
    CHECK(seq(dir_p) == d0 + 1);
  }
  SECTION("a user's first document advances its range, the users directory and the rest") {
    partition_id range_p{f.note_id, partition_kind::user_range, doc_keys::user_range_of("zed")};
    partition_id users_p{0, partition_kind::users, doc_keys::user_range_of("zed")};
    auto r0 = seq(range_p), u0 = seq(users_p);
    REQUIRE(f.rt->model("Note").create(
        value{object{{"userId", "zed"}, {"text", "hi"}, {"handle", "zz"}}}));
    CHECK(seq(range_p) == r0 + 1);
    CHECK(seq(users_p) == u0 + 1);
    REQUIRE(f.rt->model("Note").create(value{object{{"userId", "zed"}, {"text", "again"}}}));
    CHECK(seq(range_p) == r0 + 2);
    CHECK(seq(users_p) == u0 + 1); // known user: the users directory does not change
  }
}

TEST_CASE("a layout-1 store is upgraded when it opens: same keys, same answers",
          "[actors][layout][upgrade]") {
  three_models f;
  auto before_answers = f.answers();
  auto before = dump_tables(*f.rt, layout2_tables);
  downgrade_to_layout1(*f.rt, f.note_id);
  {
    auto old = dump_tables(*f.rt, layout1_tables);
    CHECK(old["index"].size() == before["shard_index"].size());
    CHECK(old["unique"].size() == before["claims"].size());
    CHECK(old["owners"].size() == before["directory"].size());
    CHECK(before["tombstones"].size() == 3);
    CHECK(before["users"].size() == 9);
    auto now = dump_tables(*f.rt, layout2_tables);
    CHECK(now["shard_index"].empty());
    CHECK(now["claims"].empty());
    CHECK(now["directory"].empty());
  }
  SECTION("in one start") {
    f.restart();
  }
  SECTION("interrupted between batches, then finished by the next start") {
    std::vector<doc_counts::model_ref> refs{
        {f.member_id, false}, {f.event_id, false}, {f.note_id, true}};
    layout_upgrade::options opt;
    opt.batch_entries = 7;
    opt.max_batches = 9;
    auto part = layout_upgrade::ensure(f.rt->env(), f.rt->writer(), refs, opt);
    REQUIRE(part);
    CHECK(part->upgraded);
    CHECK_FALSE(part->finished);
    CHECK(part->entries > 0);
    auto mid = dump_tables(*f.rt, layout1_tables);
    CHECK(mid["index"].size() + mid["unique"].size() + mid["owners"].size() > 0);
    f.restart();
  }
  auto after = dump_tables(*f.rt, layout2_tables);
  CHECK(after == before);
  for (auto& [table, entries] : dump_tables(*f.rt, layout1_tables))
    CHECK(entries.empty());
  CHECK(f.answers() == before_answers);
  // Claims, the directory and counts work on the upgraded store.
  auto dup = f.rt->model("Member").create(value{object{{"email", "m3@x"}, {"team", "t0"}}});
  REQUIRE_FALSE(dup);
  CHECK(code_of(dup.error()) == errc::conflict);
  auto again = f.rt->model("Note").create(value{object{{"userId", "u1"}, {"handle", "h5"}}});
  REQUIRE_FALSE(again);
  CHECK(code_of(again.error()) == errc::conflict);
  auto counts = f.rt->engine().document_count(**f.rt->engine().find("Note"));
  REQUIRE(counts);
  CHECK(*counts == 40);
  auto user = f.rt->engine().get_user("u4");
  REQUIRE(user);
  CHECK(user->find_path("models.Note.documents")->as_int() == 4);
}

TEST_CASE("a store whose layout entry names an unknown layout does not open",
          "[actors][layout][upgrade]") {
  runtime_fixture f;
  REQUIRE_FALSE(f.rt->writer().write([&](storage::write_txn& txn) {
    return txn.put(f.rt->env().get_table("meta"), layout_upgrade::version_key, "9");
  }));
  f.rt.reset();
  auto r = runtime::start(test_options(f.dir.path()));
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::corruption);
  CHECK_THAT(message_of(r.error()), Catch::Contains("layout 9"));
}
