#include <catch2/catch.hpp>

#include <algorithm>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/make_message.hpp"

#include "messages/errc.hpp"
#include "messages/init.hpp"
#include "messages/plan.hpp"
#include "messages/type_ids.hpp"
#include "tests/support/hex.hpp"

using namespace debros;

namespace {

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  system_fixture() {
    cfg.set("scheduler.max-threads", 1);
    register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  // Serializes `x` inside a message, the way the middleman sends it, and reads it back.
  template <class T>
  T round_trip(const T& x) {
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto err = msg.save(sink);
    INFO(sys->render(err));
    REQUIRE_FALSE(err);
    caf::message back;
    caf::binary_deserializer source{*sys, buf};
    REQUIRE_FALSE(back.load(source));
    REQUIRE(back.match_element<T>(0));
    return back.get_as<T>(0);
  }

  // Serializes `x` alone (no message header) and renders the bytes as hex.
  template <class T>
  std::string bytes_of(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto err = sink(x);
    INFO(sys->render(err));
    REQUIRE_FALSE(err);
    return hex(buf);
  }

  // Reads a `T` from the bytes that `h` spells, and checks nothing is left over.
  template <class T>
  T from_bytes(std::string_view h) {
    auto buf = unhex(h);
    T x;
    caf::binary_deserializer source{*sys, buf};
    auto err = source(x);
    INFO(sys->render(err));
    REQUIRE_FALSE(err);
    CHECK(source.remaining() == 0);
    return x;
  }

  static std::string hex(const std::vector<char>& bytes) {
    return test::hex({bytes.data(), bytes.size()});
  }

  // Hex digits, spaces allowed between bytes.
  static std::vector<char> unhex(std::string_view h) {
    auto bytes = test::unhex(h);
    return {bytes.begin(), bytes.end()};
  }
};

} // namespace

TEST_CASE("every wire type is registered and survives serialization", "[messages][wire]") {
  system_fixture f;
  auto& names = f.cfg.type_names_by_rtti;
  // Every type of the block, by the name CAF registers it under.
  std::vector<std::string> expected{"debros::value",
                                    "debros::error_detail",
                                    "std::vector<debros::error_detail>",
                                    "debros::query_expr",
                                    "debros::sort_key",
                                    "debros::query",
                                    "debros::aggregate_state",
                                    "debros::doc_create",
                                    "debros::doc_get",
                                    "debros::doc_update",
                                    "debros::doc_remove",
                                    "debros::doc_increment",
                                    "debros::query_hit",
                                    "debros::partition_query",
                                    "debros::partition_stats",
                                    "debros::partition_result",
                                    "debros::query_stats",
                                    "debros::query_result",
                                    "std::vector<debros::value>",
                                    "std::vector<std::string>",
                                    "debros::node_info",
                                    "debros::grouped_query",
                                    "debros::partition_plan",
                                    "debros::for_user<debros::doc_create>",
                                    "debros::for_user<debros::doc_get>",
                                    "debros::for_user<debros::doc_update>",
                                    "debros::for_user<debros::doc_remove>",
                                    "debros::for_user<debros::doc_increment>",
                                    "debros::for_user<debros::partition_query>"};
  CHECK(expected.size() == caf::id_block::debros::end - caf::id_block::debros::begin);
  for (auto& name : expected) {
    bool found = false;
    for (auto& [ti, n] : names)
      found = found || n == name;
    INFO(name);
    CHECK(found);
  }
  value doc{object{{"a", 1}, {"b", array{"x", 2.5, nullptr}}}};
  CHECK(f.round_trip(doc) == doc);
  query q;
  q.model = "Post";
  q.where.type = query_expr::kind::all;
  query_expr c;
  c.type = query_expr::kind::cond;
  c.path = "n";
  c.op = query_op::gt;
  c.operand = value{5};
  q.where.children.push_back(c);
  q.order_by.push_back(sort_key{"n", true});
  q.limit = 7;
  auto q2 = f.round_trip(q);
  CHECK(q2.model == "Post");
  CHECK(q2.where.children.size() == 1);
  CHECK(q2.where.children[0].op == query_op::gt);
  CHECK(q2.order_by[0].descending);
  CHECK(q2.limit == 7);
  for_user<doc_create> fu{"Note", "alice", doc_create{"Note", doc, "alice"}};
  auto fu2 = f.round_trip(fu);
  CHECK(fu2.model == "Note");
  CHECK(fu2.user == "alice");
  CHECK(fu2.msg.doc == doc);
  query_result explained;
  explained.plan.push_back(partition_plan{"Post/shard/3", plan_kind::heap_index, 9, 2, 40, 1});
  auto explained2 = f.round_trip(explained);
  REQUIRE(explained2.plan.size() == 1);
  CHECK(explained2.plan[0].partition == "Post/shard/3");
  CHECK(explained2.plan[0].access == plan_kind::heap_index);
  CHECK(explained2.plan[0].entries == 40);
  partition_result pr;
  pr.hits.push_back(query_hit{{value{1}, value{"id"}}, to_msgpack(doc)});
  pr.total = 3;
  pr.stats.plan = plan_kind::gindex_heap_index;
  auto pr2 = f.round_trip(pr);
  CHECK(pr2.hits.size() == 1);
  CHECK(pr2.hits[0].body == pr.hits[0].body);
  CHECK(pr2.stats.plan == plan_kind::gindex_heap_index);
  query_result qr;
  qr.stats.plans[static_cast<size_t>(plan_kind::stream_docs)] = 4;
  auto qr2 = f.round_trip(qr);
  CHECK(qr2.stats.plans == qr.stats.plans);
  CHECK(f.round_trip(node_info{"n1", "h:1", "c:2"}).cluster == "c:2");
  CHECK(f.round_trip(doc_update{"M", "id", value{object{{"x", 1}}}, true, {}}).replace);
  // The user a write is made for crosses the wire with it (the owning actor checks it).
  CHECK(f.round_trip(doc_update{"M", "id", value{object{}}, false, "alice"}).as_user == "alice");
  CHECK(f.round_trip(doc_create{"M", value{object{}}, "bob"}).as_user == "bob");
  CHECK(f.round_trip(doc_remove{"M", "id", "carol"}).as_user == "carol");
  CHECK(f.round_trip(doc_increment{"M", "id", "n", value{1}, "dave"}).as_user == "dave");
  SECTION("a corrupted value is refused, not decoded") {
    auto msg = caf::make_message(doc);
    std::vector<char> buf;
    caf::binary_serializer sink{*f.sys, buf};
    REQUIRE_FALSE(msg.save(sink));
    // Corrupt the msgpack inside and keep every length as it is, so CAF reads the bytes fine and
    // only the value's load callback (from_msgpack) can refuse them: the map header 0x82
    // becomes 0xc1, a byte msgpack never uses.
    auto packed = to_msgpack(doc);
    REQUIRE(static_cast<unsigned char>(packed[0]) == 0x82);
    auto at = std::search(buf.begin(), buf.end(), packed.begin(), packed.end());
    REQUIRE(at != buf.end());
    REQUIRE(std::search(at + 1, buf.end(), packed.begin(), packed.end()) == buf.end());
    *at = static_cast<char>(0xc1);
    caf::message back;
    caf::binary_deserializer source{*f.sys, buf};
    auto err = back.load(source);
    INFO(f.sys->render(err));
    REQUIRE(err);
    // A Debros error, from from_msgpack, not a CAF one about the framing.
    CHECK(err.category() == caf::atom("debros"));
    CHECK(code_of(err) == errc::invalid_argument);
  }
}

TEST_CASE("the actor system renders Debros errors by code name and message", "[messages][wire]") {
  system_fixture f;
  CHECK(f.sys->render(make_error(errc::not_found, "no document 7")) ==
        "debros::not_found: no document 7");
  CHECK(f.sys->render(make_error(errc::conflict)) == "debros::conflict");
  // Codes past errc_max (a newer peer's, or garbage) render as internal. Code 0 is no error.
  for (uint8_t code : {static_cast<uint8_t>(errc_max + 1), uint8_t{255}})
    CHECK(f.sys->render(caf::error{code, caf::atom("debros")}) == "debros::internal");
}

// Type ids go on the wire: nodes of two builds agree on a message only if every Debros type has
// the same id in both. Checked by position, so inserting a type anywhere but the end fails here.
// If a number changes, nodes of two versions misreport each other's plans.
TEST_CASE("plan kinds keep their numbers and names", "[messages][wire][golden]") {
  std::vector<std::pair<plan_kind, std::string_view>> expected{
      {plan_kind::none, "none"},
      {plan_kind::point_lookup, "point_lookup"},
      {plan_kind::stream_docs, "stream_docs"},
      {plan_kind::heap_docs, "heap_docs"},
      {plan_kind::scan_users, "scan_users"},
      {plan_kind::stream_index, "stream_index"},
      {plan_kind::stream_eq_by_created, "stream_eq_by_created"},
      {plan_kind::heap_index, "heap_index"},
      {plan_kind::gindex_stream_index, "gindex_stream_index"},
      {plan_kind::gindex_stream_eq_by_created, "gindex_stream_eq_by_created"},
      {plan_kind::gindex_heap_index, "gindex_heap_index"},
  };
  REQUIRE(expected.size() == plan_kind_count);
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(static_cast<size_t>(expected[i].first) == i);
    CHECK(to_string(expected[i].first) == expected[i].second);
  }
  CHECK(to_string(static_cast<plan_kind>(plan_kind_count)) == "unknown");
  CHECK_FALSE(uses_index(plan_kind::stream_docs));
  CHECK_FALSE(uses_index(plan_kind::heap_docs));
  CHECK_FALSE(uses_index(plan_kind::scan_users));
  CHECK(uses_index(plan_kind::point_lookup));
  CHECK(uses_index(plan_kind::gindex_stream_index));
}

TEST_CASE("Debros type ids keep their positions", "[messages][wire][golden]") {
  constexpr auto first = caf::first_custom_type_id;
  CHECK(caf::type_id<debros::value>::value == first + 0);
  CHECK(caf::type_id<debros::error_detail>::value == first + 1);
  CHECK(caf::type_id<std::vector<debros::error_detail>>::value == first + 2);
  CHECK(caf::type_id<debros::query_expr>::value == first + 3);
  CHECK(caf::type_id<debros::sort_key>::value == first + 4);
  CHECK(caf::type_id<debros::query>::value == first + 5);
  CHECK(caf::type_id<debros::aggregate_state>::value == first + 6);
  CHECK(caf::type_id<debros::doc_create>::value == first + 7);
  CHECK(caf::type_id<debros::doc_get>::value == first + 8);
  CHECK(caf::type_id<debros::doc_update>::value == first + 9);
  CHECK(caf::type_id<debros::doc_remove>::value == first + 10);
  CHECK(caf::type_id<debros::doc_increment>::value == first + 11);
  CHECK(caf::type_id<debros::query_hit>::value == first + 12);
  CHECK(caf::type_id<debros::partition_query>::value == first + 13);
  CHECK(caf::type_id<debros::partition_stats>::value == first + 14);
  CHECK(caf::type_id<debros::partition_result>::value == first + 15);
  CHECK(caf::type_id<debros::query_stats>::value == first + 16);
  CHECK(caf::type_id<debros::query_result>::value == first + 17);
  CHECK(caf::type_id<std::vector<debros::value>>::value == first + 18);
  CHECK(caf::type_id<std::vector<std::string>>::value == first + 19);
  CHECK(caf::type_id<debros::node_info>::value == first + 20);
  CHECK(caf::type_id<debros::grouped_query>::value == first + 21);
  CHECK(caf::type_id<debros::partition_plan>::value == first + 22);
  CHECK(caf::type_id<debros::for_user<debros::doc_create>>::value == first + 23);
  CHECK(caf::type_id<debros::for_user<debros::doc_get>>::value == first + 24);
  CHECK(caf::type_id<debros::for_user<debros::doc_update>>::value == first + 25);
  CHECK(caf::type_id<debros::for_user<debros::doc_remove>>::value == first + 26);
  CHECK(caf::type_id<debros::for_user<debros::doc_increment>>::value == first + 27);
  CHECK(caf::type_id<debros::for_user<debros::partition_query>>::value == first + 28);
  CHECK(caf::id_block::debros::begin == first);
  CHECK(caf::id_block::debros::end == first + 29);
}

// Requests cross the cluster port between nodes of possibly different builds, so their bytes are
// a format: CAF's binary serializer writes the fields in inspect's order, integers big-endian,
// bools and uint8 enums as one byte, every string and sequence after a varbyte length, and a
// value as the string of its msgpack bytes. A message adds a header: a uint16 0 and the type
// names, "@<>+" then the registered name. The literals are written by hand from that layout; if
// one changes, nodes of the old and new build no longer understand each other.
TEST_CASE("a serialized request is byte-for-byte its documented layout",
          "[messages][wire][golden]") {
  system_fixture f;
  SECTION("doc_create: model, doc as msgpack, as_user") {
    doc_create x{"Post", value{object{{"title", "Hi"}}}, "alice"};
    constexpr std::string_view bytes = "04 50 6f 73 74"                    // "Post"
                                       " 0a 81 a5 74 69 74 6c 65 a2 48 69" // {"title": "Hi"}
                                       " 05 61 6c 69 63 65";               // "alice"
    CHECK(f.bytes_of(x) == std::string{system_fixture::hex(system_fixture::unhex(bytes))});
    auto back = f.from_bytes<doc_create>(bytes);
    CHECK(back.model == "Post");
    CHECK(back.doc == x.doc);
    CHECK(back.as_user == "alice");
  }
  SECTION("doc_create inside a message, as the middleman sends it") {
    doc_create x{"Post", value{object{{"title", "Hi"}}}, "alice"};
    constexpr std::string_view bytes = "00 00" // no type number
                                       " 16 40 3c 3e 2b 64 65 62 72 6f 73 3a 3a 64 6f 63 5f 63 72 "
                                       "65 61 74 65" // "@<>+debros::doc_create"
                                       " 04 50 6f 73 74 0a 81 a5 74 69 74 6c 65 a2 48 69 05 61 6c "
                                       "69 63 65";
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{*f.sys, buf};
    REQUIRE_FALSE(msg.save(sink));
    CHECK(system_fixture::hex(buf) == system_fixture::hex(system_fixture::unhex(bytes)));
    caf::message back;
    auto golden = system_fixture::unhex(bytes);
    caf::binary_deserializer source{*f.sys, golden};
    REQUIRE_FALSE(back.load(source));
    REQUIRE(back.match_element<doc_create>(0));
    CHECK(back.get_as<doc_create>(0).doc == x.doc);
    CHECK(back.get_as<doc_create>(0).as_user == "alice");
  }
  SECTION("partition_query: the query, k, the cursor tuple, count_total, bodies, memory bound") {
    partition_query x;
    x.q.model = "Post";
    x.q.where.type = query_expr::kind::all;
    query_expr c;
    c.type = query_expr::kind::cond;
    c.path = "n";
    c.op = query_op::gt;
    c.operand = value{5};
    x.q.where.children.push_back(c);
    x.q.order_by.push_back(sort_key{"n", true});
    x.q.limit = 7;
    x.k = 8;
    x.after = {value{5}, value{"p1"}};
    x.count_total = true;
    x.bodies = false;
    x.memory_bytes_max = 4096;
    x.group_path = "n";
    x.group_limit = 2;
    x.slice_entries = 10000;
    constexpr std::string_view bytes =
        "04 50 6f 73 74"            // q.model "Post"
        " 01 00 00 01 c0 01"        // where: all, path "", eq, null, 1 child
        " 00 01 6e 02 01 05 00"     //   cond, path "n", gt, 5, no children
        " 00"                       // user_in: none
        " 01 01 6e 01"              // order_by: ("n", descending)
        " 00 00 00 00 00 00 00 07"  // limit 7
        " 00 00 00 00 00 00 00 00"  // offset 0
        " 00 00 00"                 // after "", with: none, with_total false
        " 00 00 00 00 00 00 00 00"  // cache_s 0
        " 00 00"                    // aggregate none, aggregate_field ""
        " 00"                       // explain false
        " 00 00 00 00 00 00 00 08"  // k 8
        " 02 01 05 03 a2 70 31"     // after: [5, "p1"]
        " 01"                       // count_total
        " 00"                       // bodies false
        " 00 00 00 00 00 00 10 00"  // memory_bytes_max 4096
        " 01 6e"                    // group_path "n"
        " 00 00 00 00 00 00 00 02"  // group_limit 2
        " 00 00 00 00 00 00 27 10"; // slice_entries 10000
    CHECK(f.bytes_of(x) == system_fixture::hex(system_fixture::unhex(bytes)));
    auto back = f.from_bytes<partition_query>(bytes);
    CHECK(back.q.model == "Post");
    REQUIRE(back.q.where.children.size() == 1);
    CHECK(back.q.where.children[0].path == "n");
    CHECK(back.q.where.children[0].op == query_op::gt);
    CHECK(back.q.where.children[0].operand == value{5});
    REQUIRE(back.q.order_by.size() == 1);
    CHECK(back.q.order_by[0].descending);
    CHECK(back.q.limit == 7);
    CHECK(back.k == 8);
    CHECK(back.after == x.after);
    CHECK(back.count_total);
    CHECK_FALSE(back.bodies);
    CHECK(back.memory_bytes_max == 4096);
    CHECK(back.group_path == "n");
    CHECK(back.group_limit == 2);
    CHECK(back.slice_entries == 10000);
    // And what the code writes, it reads back (the fixture's message round trip).
    auto again = f.round_trip(x);
    CHECK(again.k == 8);
    CHECK(again.after == x.after);
    CHECK(again.q.where.children[0].operand == value{5});
  }
}
