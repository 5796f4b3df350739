#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "storage/key_codec.hpp"
#include "storage/outbox.hpp"
#include "storage/writer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace debros;
using namespace debros::storage;

namespace {

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<environment> env;
  table docs;
  outbox box{table{}};

  fixture() {
    env_options opts;
    opts.path = dir.path();
    opts.tables = {"docs", "outbox"};
    opts.sync = durability::process;
    env = std::move(*environment::open(opts));
    docs = env->get_table("docs");
    box = outbox{env->get_table("outbox")};
  }
};

} // namespace

TEST_CASE("outbox entries commit with the write that caused them", "[storage][outbox]") {
  fixture f;
  writer w{*f.env};
  SECTION("committed together") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      if (auto e = txn.put(f.docs, "doc1", "body"))
        return e;
      auto seq = f.box.append(txn, "index/Post", "add doc1");
      return seq ? caf::none : seq.error();
    }));
    auto r = f.env->read();
    auto items = f.box.read(*r, "index/Post", 0, 10);
    REQUIRE(items);
    REQUIRE(items->size() == 1);
    CHECK((*items)[0].seq == 1);
    CHECK((*items)[0].payload == "add doc1");
  }
  SECTION("refused together") {
    auto err = w.write([&](write_txn& txn) -> caf::error {
      if (auto e = txn.put(f.docs, "doc1", "body"))
        return e;
      if (auto seq = f.box.append(txn, "index/Post", "add doc1"); !seq)
        return seq.error();
      return make_error(errc::validation_failed, "the document was refused");
    });
    CHECK(err);
    auto r = f.env->read();
    CHECK(f.box.read(*r, "index/Post", 0, 10)->empty());
    CHECK_FALSE(*r->get(f.docs, "doc1"));
  }
}

TEST_CASE("a removal in a refused request leaves the outbox unchanged", "[storage][outbox]") {
  fixture f;
  writer w{*f.env};
  for (int i = 1; i <= 3; ++i)
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto seq = f.box.append(txn, "a", "a" + std::to_string(i));
      return seq ? caf::none : seq.error();
    }));
  // remove_through deletes through a cursor: those deletes must count as changes, or the writer
  // would commit them although the request refused.
  auto err = w.write([&](write_txn& txn) -> caf::error {
    auto n = f.box.remove_through(txn, "a", 2);
    if (!n)
      return n.error();
    if (*n != 2)
      return make_error(errc::internal, "removed " + std::to_string(*n) + " entries, not 2");
    return make_error(errc::validation_failed, "refused after removing");
  });
  CHECK(code_of(err) == errc::validation_failed);
  auto r = f.env->read();
  auto a = f.box.read(*r, "a", 0, 100);
  REQUIRE(a);
  REQUIRE(a->size() == 3);
  CHECK((*a)[0].seq == 1);
  CHECK(*f.box.depth(*r, "a") == 3);
}

TEST_CASE("outbox channels are ordered, separate and drain by sequence", "[storage][outbox]") {
  fixture f;
  writer w{*f.env};
  for (int i = 1; i <= 5; ++i)
    REQUIRE_FALSE(w.write([&, i](write_txn& txn) -> caf::error {
      if (auto s = f.box.append(txn, "a", "a" + std::to_string(i)); !s)
        return s.error();
      if (i % 2 == 0)
        if (auto s = f.box.append(txn, "b", "b" + std::to_string(i)); !s)
          return s.error();
      return caf::none;
    }));
  {
    auto r = f.env->read();
    auto a = f.box.read(*r, "a", 0, 100);
    REQUIRE(a);
    REQUIRE(a->size() == 5);
    for (size_t i = 0; i < 5; ++i)
      CHECK((*a)[i].seq == i + 1);
    CHECK(f.box.read(*r, "a", 3, 100)->size() == 2);
    CHECK(f.box.read(*r, "a", 0, 2)->size() == 2);
    CHECK(*f.box.depth(*r, "b") == 2);
    CHECK(*f.box.channels(*r) == std::vector<std::string>{"a", "b"});
  }
  REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
    auto n = f.box.remove_through(txn, "a", 3);
    if (!n)
      return n.error();
    CHECK(*n == 3);
    return caf::none;
  }));
  SECTION("removal is idempotent") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto n = f.box.remove_through(txn, "a", 3);
      if (!n)
        return n.error();
      CHECK(*n == 0);
      return caf::none;
    }));
  }
  SECTION("sequence numbers are not reused after a channel drains") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto n = f.box.remove_through(txn, "b", 100);
      if (!n)
        return n.error();
      CHECK(*n == 2);
      auto seq = f.box.append(txn, "b", "again");
      if (!seq)
        return seq.error();
      CHECK(*seq == 3);
      return caf::none;
    }));
  }
  SECTION("a drained channel is not listed") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto n = f.box.remove_through(txn, "b", 100);
      if (!n)
        return n.error();
      CHECK(*n == 2);
      return caf::none;
    }));
    auto r = f.env->read();
    CHECK(*f.box.channels(*r) == std::vector<std::string>{"a"});
  }
  auto r = f.env->read();
  auto a = f.box.read(*r, "a", 0, 100);
  REQUIRE(a);
  REQUIRE(a->size() == 2);
  CHECK((*a)[0].seq == 4);
}

TEST_CASE("count tells pending work from markers and dead letters", "[storage][outbox]") {
  fixture f;
  writer w{*f.env};
  auto counts = [&] {
    auto txn = f.env->read();
    REQUIRE(txn);
    auto c = f.box.count(*txn, "dead/");
    REQUIRE(c);
    return *c;
  };
  CHECK(counts().pending == 0);
  REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
    for (auto ch : {"a", "b", "dead/a"})
      for (int i = 0; i < 3; ++i)
        if (auto seq = f.box.append(txn, ch, "x"); !seq)
          return seq.error();
    return caf::none;
  }));
  CHECK(counts().pending == 9);
  CHECK(counts().dead == 3);
  // Drained channels keep their markers, which are not work.
  REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
    for (auto ch : {"a", "b"})
      if (auto n = f.box.remove_through(txn, ch, 3); !n)
        return n.error();
    return caf::none;
  }));
  CHECK(counts().pending == 3);
  CHECK(counts().dead == 3);
  SECTION("an entry without its channel's marker is corruption") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      std::string key;
      append_key_string(key, "orphan");
      append_u64(key, 1);
      return txn.put(f.env->get_table("outbox"), key, "x");
    }));
    auto txn = f.env->read();
    REQUIRE(txn);
    auto c = f.box.count(*txn, "dead/");
    REQUIRE_FALSE(c);
    CHECK(code_of(c.error()) == errc::corruption);
  }
}

TEST_CASE("last_seq names the last number appended, also after the channel drained",
          "[storage][outbox]") {
  fixture f;
  writer w{*f.env};
  auto last = [&](std::string_view channel) {
    auto txn = f.env->read();
    REQUIRE(txn);
    auto seq = f.box.last_seq(*txn, channel);
    REQUIRE(seq);
    return *seq;
  };
  CHECK(last("a") == 0);
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto seq = f.box.append(txn, "a", "x");
      return seq ? caf::none : seq.error();
    }));
  CHECK(last("a") == 3);
  CHECK(last("b") == 0);
  SECTION("a snapshot taken before an append does not see it") {
    auto before = f.env->read();
    REQUIRE(before);
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto seq = f.box.append(txn, "a", "x");
      return seq ? caf::none : seq.error();
    }));
    CHECK(*f.box.last_seq(*before, "a") == 3);
    CHECK(last("a") == 4);
  }
  SECTION("removing the entries keeps the number") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      auto n = f.box.remove_through(txn, "a", 3);
      return n ? caf::none : n.error();
    }));
    CHECK(last("a") == 3);
  }
  SECTION("a malformed marker is corruption") {
    REQUIRE_FALSE(w.write([&](write_txn& txn) -> caf::error {
      std::string key;
      append_key_string(key, "a");
      return txn.put(f.env->get_table("outbox"), key, "short");
    }));
    auto txn = f.env->read();
    REQUIRE(txn);
    auto seq = f.box.last_seq(*txn, "a");
    REQUIRE_FALSE(seq);
    CHECK(code_of(seq.error()) == errc::corruption);
  }
}
