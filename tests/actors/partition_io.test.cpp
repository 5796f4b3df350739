// Partitions exported as bounded chunks, imported into another runtime and dropped
// (actors/partition_io.hpp), with the same documents, index entries and query answers.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/partition_io.hpp"
#include "actors/placement.hpp"
#include "storage/key_codec.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/support/store_dump.hpp"

using namespace debros;
using namespace debros::test;
using doc_keys::partition_id;
using doc_keys::partition_kind;

namespace {

constexpr std::string_view member_model = R"({
  "fields": {
    "email": {"type": "string", "unique": true},
    "team": {"type": "string", "index": true},
    "n": {"type": "number", "index": true},
    "pad": {"type": "string"}
  },
  "sharding": {"strategy": "hash", "count": 4, "key": "team"}
})";
constexpr std::string_view note_model = R"({
  "scope": "user",
  "fields": {
    "text": {"type": "string"},
    "pub": {"type": "boolean", "default": false, "index": "global"}
  }
})";

struct two_models : runtime_fixture {
  explicit two_models(bool fill) {
    define("Member", member_model);
    define("Note", note_model);
    if (!fill)
      return;
    for (int i = 0; i < 120; ++i) {
      REQUIRE(rt->model("Member").create(value{object{{"email", "m" + std::to_string(i) + "@x"},
                                                      {"team", "t" + std::to_string(i % 9)},
                                                      {"n", i % 5},
                                                      {"pad", std::string(100, 'p')}}}));
      REQUIRE(rt->model("Note").create(value{object{{"userId", "u" + std::to_string(i % 11)},
                                                    {"text", "note " + std::to_string(i)},
                                                    {"pub", i % 2 == 0}}}));
    }
  }

  uint32_t id_of(const std::string& model) { return (*rt->engine().find(model))->id; }
};

// The entries of `tables` under `prefix`.
std::map<std::string, std::map<std::string, std::string>>
range_dump(runtime& rt, const std::vector<std::string>& tables, const std::string& prefix) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (auto& name : tables)
    out[name] = table_entries(rt, name, prefix);
  return out;
}

uint64_t seq_of(runtime& rt, const partition_id& p) {
  auto txn = rt.env().read();
  REQUIRE(txn);
  auto n = read_seq(*txn, rt.env().get_table("seqs"), p);
  REQUIRE(n);
  return *n;
}

// Copies `p` from `from` to `to` in chunks of about `bytes`; returns the number of chunks.
size_t copy_partition(runtime& from, runtime& to, const partition_id& p, size_t bytes) {
  size_t chunks = 0;
  auto consistent = export_all(
      from.engine(), p,
      [&](partition_chunk& c) {
        ++chunks;
        return import_chunk(to.engine(), c, chunks == 1);
      },
      bytes);
  REQUIRE(consistent);
  CHECK(*consistent);
  return chunks;
}

std::set<std::string> ids_of(const std::vector<value>& docs) {
  std::set<std::string> out;
  for (auto& d : docs)
    out.insert(d.find("id")->as_string());
  return out;
}

} // namespace

TEST_CASE("a shard exported in chunks and imported elsewhere has the same documents, index "
          "entries and answers",
          "[actors][partitions]") {
  two_models a{true}, b{false};
  auto member = a.id_of("Member");
  REQUIRE(member == b.id_of("Member"));
  uint32_t shard = shard_for_key((*a.rt->engine().find("Member"))->def().sharding, value{"t4"});
  partition_id p{member, partition_kind::shard, shard};
  auto chunks = copy_partition(*a.rt, *b.rt, p, 2048);
  CHECK(chunks > 3); // the bound made several chunks
  auto prefix = doc_keys::shard_prefix(member, shard);
  auto original = range_dump(*a.rt, {"docs", "shard_index", "counts"}, prefix);
  CHECK(!original["docs"].empty());
  CHECK(!original["shard_index"].empty());
  CHECK(range_dump(*b.rt, {"docs", "shard_index", "counts"}, prefix) == original);
  CHECK(seq_of(*b.rt, p) == seq_of(*a.rt, p));
  // Nothing else came along.
  CHECK(range_dump(*b.rt, {"docs", "shard_index"}, doc_keys::model_prefix(member))["docs"] ==
        original["docs"]);

  // Queries answer alike, restricted to the shard's documents.
  auto in_shard = [&](runtime& rt, query_builder qb) {
    auto r = qb.limit(1000).exec();
    REQUIRE(r);
    std::vector<value> out;
    for (auto& d : r->docs)
      if (shard_for_key((*rt.engine().find("Member"))->def().sharding, *d.find("team")) == shard)
        out.push_back(d);
    return out;
  };
  auto q = [](runtime& rt) {
    return rt.model("Member").query().where("n", "=", 3).order_by("createdAt", true);
  };
  auto want = in_shard(*a.rt, q(*a.rt));
  auto got = q(*b.rt).limit(1000).exec();
  REQUIRE(got);
  CHECK(!want.empty());
  CHECK(got->docs == want);
  auto counts = b.rt->engine().document_count(**b.rt->engine().find("Member"));
  REQUIRE(counts);
  CHECK(*counts == original["docs"].size());

  SECTION("importing into a partition that is not empty is a conflict") {
    auto again = export_chunk(a.rt->engine(), p, {});
    REQUIRE(again);
    auto err = import_chunk(b.rt->engine(), *again, true);
    CHECK(code_of(err) == errc::conflict);
    CHECK_THAT(message_of(err), Catch::Contains("is not empty"));
  }
  SECTION("dropping it removes every entry of the shard and nothing else") {
    auto before_other = range_dump(*a.rt, {"docs"}, doc_keys::model_prefix(member))["docs"].size();
    auto removed = drop_partition(a.rt->engine(), p, 7);
    REQUIRE(removed);
    size_t expected = 0;
    for (auto& [t, m] : original)
      expected += m.size();
    CHECK(*removed == expected);
    CHECK(range_dump(*a.rt, {"docs", "shard_index", "counts"}, prefix) ==
          decltype(original){{"docs", {}}, {"shard_index", {}}, {"counts", {}}});
    CHECK(range_dump(*a.rt, {"docs"}, doc_keys::model_prefix(member))["docs"].size() ==
          before_other - original["docs"].size());
    CHECK(seq_of(*a.rt, p) == 0);
    auto left = q(*a.rt).limit(1000).exec();
    REQUIRE(left);
    CHECK(in_shard(*a.rt, q(*a.rt)).empty());
    CHECK(!left->docs.empty());
    auto empty = export_chunk(a.rt->engine(), p, {});
    REQUIRE(empty);
    CHECK(empty->entries.empty());
    CHECK(empty->last);
  }
}

TEST_CASE("a user range and its global index partition move with the same answers",
          "[actors][partitions]") {
  two_models a{true}, b{false};
  auto note = a.id_of("Note");
  auto range = doc_keys::user_range_of("u3");
  copy_partition(*a.rt, *b.rt, partition_id{note, partition_kind::user_range, range}, 4096);
  auto users_in_range = [&] {
    std::vector<std::string> out;
    for (int u = 0; u < 11; ++u)
      if (doc_keys::user_range_of("u" + std::to_string(u)) == range)
        out.push_back("u" + std::to_string(u));
    return out;
  }();
  auto by_users = [&](runtime& rt) {
    auto r = rt.model("Note").query().user_in(users_in_range).order_by("createdAt").exec();
    REQUIRE(r);
    return r->docs;
  };
  auto want = by_users(*a.rt);
  CHECK(want.size() >= 10);
  CHECK(by_users(*b.rt) == want);
  // The global index partitions of `pub` hold entries of every user; each moves as a whole.
  for (uint32_t g = 0; g < doc_keys::gindex_partitions; ++g)
    copy_partition(*a.rt, *b.rt, partition_id{note, partition_kind::gindex, g}, 1024);
  auto pub = b.rt->model("Note").query().where("pub", "=", true).order_by("createdAt").exec();
  REQUIRE(pub);
  // The index names every public note; only those of the moved range have their documents here.
  std::set<std::string> expected_pub;
  for (auto& d : want)
    if (d.find("pub")->as_bool())
      expected_pub.insert(d.find("id")->as_string());
  CHECK(ids_of(pub->docs) == expected_pub);
}

TEST_CASE("imports refuse chunks of another catalog or outside their partition",
          "[actors][partitions]") {
  two_models a{true};
  runtime_fixture other; // models defined in the other order: ids differ
  other.define("Note", note_model);
  other.define("Member", member_model);
  auto member = a.id_of("Member");
  partition_id p{member, partition_kind::shard, 0};
  auto chunk = export_chunk(a.rt->engine(), p, {});
  REQUIRE(chunk);
  auto err = import_chunk(other.rt->engine(), *chunk, true);
  CHECK(code_of(err) == errc::invalid_argument);
  CHECK_THAT(message_of(err), Catch::Contains("define the models in the same order"));

  two_models b{false};
  auto hostile = *chunk;
  hostile.entries.push_back(partition_entry{0, doc_keys::doc_key(member, 1, "x"), "y"});
  err = import_chunk(b.rt->engine(), hostile, true);
  CHECK(code_of(err) == errc::invalid_argument);
  CHECK_THAT(message_of(err), Catch::Contains("outside"));
  // Nothing was written.
  CHECK(range_dump(*b.rt, {"docs"}, doc_keys::model_prefix(member))["docs"].empty());

  CHECK(code_of(export_chunk(a.rt->engine(), partition_id{member, partition_kind::shard, 4}, {})
                    .error()) == errc::invalid_argument);
  CHECK(code_of(export_chunk(a.rt->engine(), partition_id{999, partition_kind::shard, 0}, {})
                    .error()) == errc::not_found);
  CHECK(code_of(export_chunk(a.rt->engine(), p, std::string{"\x07junk"}).error()) ==
        errc::invalid_argument);
}

TEST_CASE("an export during writes to its partition says it is not a consistent copy",
          "[actors][partitions]") {
  two_models a{true};
  auto member = a.id_of("Member");
  uint32_t shard = shard_for_key((*a.rt->engine().find("Member"))->def().sharding, value{"t4"});
  partition_id p{member, partition_kind::shard, shard};
  size_t chunks = 0;
  auto consistent = export_all(
      a.rt->engine(), p,
      [&](partition_chunk&) -> caf::error {
        if (++chunks == 2) {
          auto r = a.rt->model("Member").create(value{object{{"team", "t4"}, {"n", 1}}});
          if (!r)
            return r.error();
        }
        return caf::none;
      },
      1024);
  REQUIRE(consistent);
  CHECK(chunks > 2);
  CHECK_FALSE(*consistent);
}

TEST_CASE("the placement directory resolves each partition that has an actor to it",
          "[actors][partitions][directory]") {
  two_models a{false};
  auto& eng = a.rt->engine();
  auto member = a.id_of("Member"), note = a.id_of("Note");
  std::set<caf::actor_id> shards;
  for (uint32_t s = 0; s < 4; ++s) {
    auto actor = eng.resolve(partition_id{member, partition_kind::shard, s});
    REQUIRE(actor);
    CHECK(*actor == caf::actor_cast<caf::actor>((*eng.find("Member"))->shards[s]));
    shards.insert(actor->id());
  }
  CHECK(shards.size() == 4);
  for (uint32_t g = 0; g < doc_keys::gindex_partitions; ++g) {
    auto actor = eng.resolve(partition_id{note, partition_kind::gindex, g});
    REQUIRE(actor);
    CHECK(*actor == caf::actor_cast<caf::actor>((*eng.find("Note"))->gindex[g]));
  }
  // A user range resolves to the host that activates its users' databases.
  auto range = doc_keys::user_range_of("alice");
  auto host = eng.resolve(partition_id{note, partition_kind::user_range, range});
  REQUIRE(host);
  CHECK(*host == eng.host_of("alice"));
  auto beyond = eng.resolve(partition_id{member, partition_kind::shard, 4});
  REQUIRE_FALSE(beyond);
  CHECK(code_of(beyond.error()) == errc::unavailable);
  CHECK_THAT(message_of(beyond.error()), Catch::Contains("shard 4"));
  auto claims = eng.resolve(partition_id{member, partition_kind::claims, 0});
  REQUIRE_FALSE(claims);
  CHECK(code_of(claims.error()) == errc::unavailable);
  CHECK(code_of(eng.resolve(partition_id{999, partition_kind::shard, 0}).error()) ==
        errc::not_found);
  // A global model has no user ranges.
  CHECK_FALSE(eng.resolve(partition_id{member, partition_kind::user_range, 0}));
}
