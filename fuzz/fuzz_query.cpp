// Query parsing and planning: the JSON body of POST /v1/models/{Model}/query through
// parse_query (messages/query.hpp), its canonical form, the global-index choice the coordinator
// and the partitions make (actors/partition_scan.hpp: choose_gindex, pure), and the evaluation
// over fixed documents, where the decoded and the msgpack evaluators must agree.
// The LMDB access paths (run_partition_query) need an environment and are not fuzzed here.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "actors/doc_keys.hpp"
#include "actors/partition_scan.hpp"
#include "fuzz/fuzz_support.hpp"
#include "messages/json.hpp"
#include "messages/model.hpp"
#include "messages/msgpack_codec.hpp"
#include "messages/query.hpp"

namespace {

using namespace debros;

struct fixture {
  model_def def;
  std::vector<std::string> global_fields{"title", "n", "tags"};
  std::vector<value> docs;
  std::vector<std::string> docs_msgpack;

  fixture() {
    auto m = parse_json(R"({"scope": "user", "fields": {
      "title": {"type": "string", "index": "global"},
      "n": {"type": "number", "index": "global"},
      "tags": {"type": "array", "index": "global"},
      "meta": {"type": "object"}, "ok": {"type": "boolean"}}})");
    auto d = m ? parse_model("Post", *m) : caf::expected<model_def>{caf::error{}};
    fuzz::check(static_cast<bool>(d), "the fixed model does not parse");
    def = std::move(*d);
    for (auto text : {
             R"({"id": "a", "userId": "u1", "createdAt": 1, "title": "hello", "n": 3,
                 "tags": ["x", "y"], "meta": {"k": {"z": null}}, "ok": true})",
             R"({"id": "b", "userId": "u2", "createdAt": 2, "title": "", "n": -1.5,
                 "tags": [], "meta": {"k": 7}, "ok": false})",
             R"({"id": "c", "createdAt": 9223372036854775807, "n": 1e308, "title": "\u00e9"})",
             R"({"id": "d", "n": null, "tags": [1, "1", 1.0, [1]], "meta": []})",
         }) {
      auto v = parse_json(text);
      fuzz::check(static_cast<bool>(v), "a fixed document does not parse", text);
      docs.push_back(*v);
      docs_msgpack.push_back(to_msgpack(*v));
    }
  }
};

const fixture& fix() {
  static const fixture f;
  return f;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& f = fix();
  auto json = parse_json(fuzz::as_text(data, size));
  if (!json)
    return 0;
  auto q = parse_query("Post", *json);
  if (!q)
    return 0;
  auto text = to_json(*json);
  fuzz::check(!check_query(*q), "check_query refuses what parse_query accepted", text);
  auto canonical = to_value(*q);
  auto again = parse_query("Post", canonical);
  fuzz::check(static_cast<bool>(again), "the canonical form of a query does not parse", text);
  fuzz::check(to_value(*again) == canonical, "the canonical form of a query is not stable", text);

  if (auto choice = choose_gindex(f.def, f.global_fields, *q)) {
    for (auto p : choice->partitions)
      fuzz::check(p < doc_keys::gindex_partitions, "choose_gindex names a partition out of range",
                  text);
  }
  for (size_t i = 0; i < f.docs.size(); ++i) {
    bool a = matches(q->where, f.docs[i]);
    bool b = matches_msgpack(q->where, f.docs_msgpack[i]);
    fuzz::check(a == b, "matches and matches_msgpack disagree", text);
    auto t1 = sort_tuple(f.docs[i], q->order_by);
    auto t2 = sort_tuple_msgpack(f.docs_msgpack[i], q->order_by);
    fuzz::check(compare_sort_tuples(t1, t2, q->order_by) == 0,
                "sort_tuple and sort_tuple_msgpack disagree", text);
    if (!q->aggregate_field.empty()) {
      aggregate_state st;
      auto v = extract_msgpack(f.docs_msgpack[i], q->aggregate_field);
      aggregate_add(st, q->aggregate, &v);
      aggregate_merge(st, st);
      (void)aggregate_result(st, q->aggregate);
    }
  }
  return 0;
}
