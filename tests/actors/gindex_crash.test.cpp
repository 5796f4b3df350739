#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "actors/doc_keys.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/power_loss.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/support/store_dump.hpp"

using namespace debros;
using namespace debros::test;

namespace {

std::set<std::string> ids_of(const query_result& r) {
  std::set<std::string> out;
  for (auto& d : r.docs)
    out.insert(d.find("id")->as_string());
  return out;
}

void check_claims_and_directory(runtime& rt) {
  for (auto name : {"Post", "Item"}) {
    INFO(name);
    auto entry = rt.engine().find(name);
    REQUIRE(entry);
    auto id = (*entry)->id;
    bool user_scoped = (*entry)->def().scope == model_scope::user;
    std::map<std::string, std::string> claims, directory;
    for (auto& [key, record] : table_entries(rt, "docs", doc_keys::model_prefix(id))) {
      auto doc = storage::decode_record(record, "document");
      REQUIRE(doc);
      auto& doc_id = doc->find("id")->as_string();
      claims.emplace(doc_keys::unique_key(id, "slug", *doc->find("slug")), doc_id);
      std::string owner;
      if (user_scoped)
        owner = doc->find("userId")->as_string();
      else
        storage::append_u32(owner, storage::read_u16(std::string_view{key}.substr(4)));
      directory.emplace(doc_keys::owner_key(id, doc_id), owner);
    }
    CHECK(table_entries(rt, "claims", doc_keys::model_prefix(id)) == claims);
    CHECK(table_entries(rt, "directory", doc_keys::model_prefix(id)) == directory);
  }
}

// With `power_cut`, the writer runs under the power-loss shim and each kill is followed by a
// simulated power loss (tests/support/power_loss.hpp): the store keeps only what was synced.
void kill_rounds(int rounds, uint32_t seed, bool power_cut = false) {
  temp_dir dir;
  std::mt19937 rng{seed};
  size_t rounds_with_pending_work = 0;
  for (int round = 0; round < rounds; ++round) {
    int kill_after = 50 + static_cast<int>(rng() % 600);
    INFO("round " << round << ", killed after " << kill_after << " acks");
    {
      std::vector<std::string> env;
      if (power_cut)
        env = test::power_loss::preload_environment(DEBROS_POWER_LOSS_SHIM);
      child_process child{{DEBROS_CRASH_USERDOCS, dir.path(), std::to_string(round + 1)}, env};
      std::string line;
      int acks = 0;
      while (child.read_line(line)) {
        REQUIRE(line.rfind("ack ", 0) == 0);
        if (++acks == kill_after)
          child.kill_now(SIGKILL);
      }
      int status = child.wait();
      REQUIRE(WIFSIGNALED(status));
    }
    if (power_cut)
      REQUIRE(test::power_loss::roll_back_unsynced(dir.path() + "/data.mdb").journal_found);
    {
      // What the kill left in the outbox, before a restart drains it (8 channel markers, 4 per
      // model, are not work): the test must exercise crashes between a document's commit and its
      // index's.
      storage::env_options eo;
      eo.path = dir.path();
      for (auto t = runtime_tables; *t != nullptr; ++t)
        eo.tables.emplace_back(*t);
      auto env = storage::environment::open(eo);
      REQUIRE(env);
      auto txn = (*env)->read();
      if (*txn->count((*env)->get_table("outbox")) > 8)
        ++rounds_with_pending_work;
    }
    auto opts = test_options(dir.path());
    auto rt = runtime::start(opts);
    REQUIRE(rt);
    // Through the index (partitions drain their outbox first) and by visiting every database
    // or shard (an `or` group is never answered by a global index).
    uint64_t documents = 0;
    for (auto name : {"Post", "Item"}) {
      INFO(name);
      auto model = (*rt)->model(name);
      for (bool flag : {true, false}) {
        auto indexed = model.query().where("isPublic", "=", flag).limit(10000).exec();
        REQUIRE(indexed);
        CHECK(indexed->stats.partitions == 1);
        CHECK(indexed->stats.indexed_partitions == 1);
        auto scanned = model.query()
                           .where_any({[&] {
                             query_expr c;
                             c.type = query_expr::kind::cond;
                             c.path = "isPublic";
                             c.op = query_op::eq;
                             c.operand = value{flag};
                             return c;
                           }()})
                           .limit(10000)
                           .exec();
        REQUIRE(scanned);
        CHECK(scanned->stats.partitions > 1);
        CHECK(ids_of(*indexed) == ids_of(*scanned));
      }
      auto n = model.count();
      REQUIRE(n);
      documents += *n;
      // The kept counts changed in the documents' transactions: a kill (or a power loss) at
      // any point leaves them equal to a count of the documents.
      auto kept = model.document_count();
      REQUIRE(kept);
      CHECK(*kept == *n);
    }
    // The claim and directory partitions agree with the documents: one claim per slug, naming
    // its document, and one directory entry per document, naming its user or shard.
    check_claims_and_directory(**rt);
    // Once drained, the indexes hold exactly one entry per document.
    auto r = (*rt)->env().read();
    REQUIRE(r);
    CHECK(*r->count((*rt)->env().get_table("gindex")) == documents);
    CHECK(*r->count((*rt)->env().get_table("outbox")) <= 8); // only channel markers remain
  }
  CHECK(rounds_with_pending_work > 0);
}

} // namespace

TEST_CASE("after SIGKILL at any point, the global index, claims and directory agree with the "
          "documents",
          "[actors][users][durability]") {
  kill_rounds(5, 20261122);
}

TEST_CASE("after SIGKILL and a simulated power loss, the global index, claims and directory agree "
          "with the documents",
          "[actors][users][durability][power_loss]") {
  kill_rounds(5, 20261203, true);
}

// make test-slow: many more kill points.
TEST_CASE("after 500 SIGKILLs, the global indexes, claims and directory agree with the documents",
          "[actors][users][durability][.slow]") {
  kill_rounds(500, 11);
}
