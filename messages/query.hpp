// Queries: the AST of API.md "Queries", its JSON form, and its evaluation on documents, both on
// decoded values and directly on stored msgpack bytes (scans never decode what they discard).
//
// Semantics, the same everywhere:
// - A missing field is null. Dotted paths ("profile.city") reach into nested objects.
// - Comparisons between values of different types never match: integers and reals are one type
//   (number), compared exactly; strings compare bytewise; booleans false < true.
// - `=` matches equal values (arrays and objects structurally); `= null` matches null or missing.
//   `!=` matches a value of the operand's type that differs; `!= null` matches any non-null.
//   `<`, `<=`, `>`, `>=` need a non-null operand and a field of its type. `in` matches when the
//   field `=` any element; `not_in` when the field is not null and `=` no element. `contains`:
//   the field is an array with an element `=` the operand. `like`: the field is a string that
//   contains the operand, ASCII case-insensitively. `starts_with`: the field is a string that
//   starts with the operand. `between [lo, hi]`: lo <= field <= hi, all of one type.
//   `is_null` / `is_not_null`: no operand.
// - Sorting uses the total order of `compare` (value.hpp): nulls first ascending, values of
//   different types by type rank. After the given keys, ties are broken by `id` ascending.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "caf/meta/type_name.hpp"

#include "messages/errc.hpp"
#include "messages/msgpack_codec.hpp"
#include "messages/value.hpp"

namespace debros {

enum class query_op : uint8_t {
  eq,
  ne,
  gt,
  ge,
  lt,
  le,
  in,
  not_in,
  contains,
  like,
  starts_with,
  between,
  is_null,
  is_not_null,
};

/// The operator's text in the JSON form ("=", "!=", ">", "not_in", ...).
std::string_view to_string(query_op op) noexcept;

/// Parses an operator. Errors: invalid_argument "unknown operator 'x'" for anything not listed.
caf::expected<query_op> parse_op(std::string_view text);

/// A boolean expression over one document: a leaf condition, or all/any of sub-expressions.
struct query_expr {
  enum class kind : uint8_t { cond, all, any };
  kind type = kind::all;
  // cond only:
  std::string path;
  query_op op = query_op::eq;
  value operand;
  // all / any only:
  std::vector<query_expr> children;
};

struct sort_key {
  std::string path;
  bool descending = false;
};

enum class aggregate_fn : uint8_t { none, count, sum, avg, min, max };

struct query {
  std::string model;
  /// The `where` conditions, ANDed: kind all at the root (empty means every document).
  query_expr where;
  std::vector<std::string> user_in;
  std::vector<sort_key> order_by;
  int64_t limit = 100;
  int64_t offset = 0;
  /// Opaque cursor from a previous page's next_cursor; empty for the first page.
  std::string after;
  std::vector<std::string> with;
  bool with_total = false;
  /// Seconds a result may be served from cache; 0 means no caching.
  int64_t cache_s = 0;
  aggregate_fn aggregate = aggregate_fn::none;
  std::string aggregate_field;
  /// Report, per partition, the plan it chose and what it read (query_result::plan).
  bool explain = false;
};

/// Largest accepted limit.
constexpr int64_t query_limit_max = 10000;
/// Longest time a result may be cached, in seconds (one day).
constexpr int64_t query_cache_s_max = 86400;

/// Most values of one `in` or `not_in` list (and ids of one userIn): each is looked up or
/// compared per candidate document.
constexpr size_t in_values_max = 1000;

/// Parses the JSON body of POST /v1/models/{Model}/query into a query on `model`. Errors:
/// invalid_argument naming the problem: unknown operator, wrong operand shape ("'in' needs an
/// array", "'between' needs [lo, hi]", "'>' needs a non-null value", "'is_null' takes no
/// value"), a condition that is not [field, op, value] or {"or": [...]} / {"and": [...]},
/// negative limit or offset, limit above 10000, a sort direction other than asc/desc, an unknown
/// aggregate function, an aggregate other than count without a field, unknown keys.
caf::expected<query> parse_query(std::string_view model, const value& json);

/// The JSON form of `q` (parse_query(q.model, to_value(q)) gives `q` back).
value to_value(const query& q);

/// Checks a query built in C++ with the rules of parse_query.
caf::error check_query(const query& q);

/// Evaluates an expression on a decoded document.
bool matches(const query_expr& e, const value& doc);

/// Evaluates an expression on a document stored as msgpack (a record body, see
/// storage/record.hpp) without decoding the parts it does not look at. Returns false for bytes
/// that are not a msgpack map (and for malformed bytes: callers verify records first).
bool matches_msgpack(const query_expr& e, std::string_view doc_msgpack);

/// The value at `path` in a msgpack document (null when missing), decoded.
value extract_msgpack(std::string_view doc_msgpack, std::string_view path);

/// Compares two documents' sort tuples: `a` and `b` hold the values of `keys` (same order) and
/// then the id. Returns <0, 0, >0 following the keys' directions and the id tiebreak.
int compare_sort_tuples(const std::vector<value>& a, const std::vector<value>& b,
                        const std::vector<sort_key>& keys) noexcept;

/// The sort tuple of a document: the values of `keys`, then its id.
std::vector<value> sort_tuple(const value& doc, const std::vector<sort_key>& keys);
std::vector<value> sort_tuple_msgpack(std::string_view doc_msgpack,
                                      const std::vector<sort_key>& keys);

/// Cursors: an opaque URL-safe string holding a sort tuple and the sort keys it belongs to.
std::string encode_cursor(const std::vector<value>& tuple, const std::vector<sort_key>& keys);

/// Decodes a cursor for `keys`. Errors: invalid_argument when the text is not a cursor or was
/// made for other sort keys.
caf::expected<std::vector<value>> decode_cursor(std::string_view text,
                                                const std::vector<sort_key>& keys);

/// A partial aggregate of one partition, merged by the coordinator.
struct aggregate_state {
  uint64_t count = 0;
  /// Sum of numeric values; stays an integer while every input is one and it does not overflow.
  value sum = value{int64_t{0}};
  /// Smallest and largest non-null values (total order), null when none.
  value min;
  value max;
  /// Number of numeric values summed (for avg).
  uint64_t numeric = 0;
};

/// Adds one field value (null or missing values count for `count` only).
void aggregate_add(aggregate_state& st, aggregate_fn fn, const value* field_value);
/// Merges another partition's state.
void aggregate_merge(aggregate_state& into, const aggregate_state& other);
/// The final value: count -> integer, sum -> number (0 when empty), avg -> real (0 when
/// empty), min/max -> the value or null when empty.
value aggregate_result(const aggregate_state& st, aggregate_fn fn);

// -- CAF serialization (positional; append fields, never reorder) ------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_expr& x) {
  return f(caf::meta::type_name("debros::query_expr"), x.type, x.path, x.op, x.operand, x.children);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sort_key& x) {
  return f(caf::meta::type_name("debros::sort_key"), x.path, x.descending);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query& x) {
  return f(caf::meta::type_name("debros::query"), x.model, x.where, x.user_in, x.order_by, x.limit,
           x.offset, x.after, x.with, x.with_total, x.cache_s, x.aggregate, x.aggregate_field,
           x.explain);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, aggregate_state& x) {
  return f(caf::meta::type_name("debros::aggregate_state"), x.count, x.sum, x.min, x.max,
           x.numeric);
}

} // namespace debros
