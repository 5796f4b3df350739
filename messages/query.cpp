#include "messages/query.hpp"

#include <array>

#include "messages/names.hpp"
#include "messages/query_detail.hpp"

namespace debros {

// -- operators ---------------------------------------------------------------------------------

namespace {

// Indexed by query_op, in the enum's order.
constexpr std::array<std::string_view, 14> op_names = {
    "=",      "!=",       ">",    ">=",          "<",       "<=",      "in",
    "not_in", "contains", "like", "starts_with", "between", "is_null", "is_not_null",
};
static_assert(static_cast<size_t>(query_op::is_not_null) + 1 == op_names.size());

// User text quoted in an error message, cut short so a hostile body cannot bloat the reply.
std::string shown(std::string_view s) {
  constexpr size_t shown_max = 64;
  if (s.size() <= shown_max)
    return std::string{s};
  return std::string{s.substr(0, shown_max)} + "...";
}

} // namespace

std::string_view to_string(query_op op) noexcept {
  auto i = static_cast<size_t>(op);
  return i < op_names.size() ? op_names[i] : "unknown";
}

caf::expected<query_op> parse_op(std::string_view text) {
  for (size_t i = 0; i < op_names.size(); ++i)
    if (op_names[i] == text)
      return static_cast<query_op>(i);
  return make_error(errc::invalid_argument, "unknown operator '" + shown(text) + "'");
}

// -- checking ----------------------------------------------------------------------------------

// An empty segment can never name a member: such a path is a typo, better refused than empty.
bool detail::valid_path(std::string_view path) noexcept {
  if (path.empty() || path.front() == '.' || path.back() == '.')
    return false;
  return path.find("..") == std::string_view::npos;
}

namespace {

using detail::valid_path;

// Groups nest at most this deep, so evaluating and checking a query cannot exhaust the stack
// whatever a peer sends.
constexpr size_t group_depth_max = 32;

caf::error bad(std::string_view at, std::string_view what) {
  std::string msg{at};
  msg += ": ";
  msg += what;
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string indexed(std::string_view at, size_t i) {
  return std::string{at} + "[" + std::to_string(i) + "]";
}

bool is_scalar_value(const value& x) noexcept {
  return x.is_bool() || x.is_number() || x.is_string();
}

// What is wrong with `x` as the operand of `op`; empty when it fits.
std::string operand_problem(query_op op, const value& x) {
  std::string name = "'" + std::string{to_string(op)} + "'";
  switch (op) {
  case query_op::eq:
  case query_op::ne:
  case query_op::contains:
    return {};
  case query_op::gt:
  case query_op::ge:
  case query_op::lt:
  case query_op::le:
    if (x.is_null())
      return name + " needs a non-null value";
    return is_scalar_value(x) ? "" : name + " needs a boolean, number or string";
  case query_op::in:
  case query_op::not_in:
    if (!x.is_array())
      return name + " needs an array";
    if (x.as_array().size() > in_values_max)
      return name + " takes at most " + std::to_string(in_values_max) + " values, not " +
             std::to_string(x.as_array().size());
    return "";
  case query_op::like:
  case query_op::starts_with:
    return x.is_string() ? "" : name + " needs a string";
  case query_op::between: {
    if (!x.is_array() || x.as_array().size() != 2)
      return "'between' needs [lo, hi]";
    auto& lo = x.as_array()[0];
    auto& hi = x.as_array()[1];
    if (!is_scalar_value(lo) || type_rank(lo) != type_rank(hi))
      return "'between' needs [lo, hi] of one type: booleans, numbers or strings";
    return {};
  }
  case query_op::is_null:
  case query_op::is_not_null:
    return x.is_null() ? "" : name + " takes no value";
  }
  return "unknown operator";
}

caf::error check_expr(const query_expr& e, const std::string& at, size_t depth) {
  switch (e.type) {
  case query_expr::kind::cond: {
    if (!valid_path(e.path))
      return bad(at, "invalid field path '" + shown(e.path) + "'");
    auto problem = operand_problem(e.op, e.operand);
    return problem.empty() ? caf::error{} : bad(at, problem);
  }
  case query_expr::kind::all:
  case query_expr::kind::any: {
    if (depth >= group_depth_max)
      return bad(at, "groups nested deeper than " + std::to_string(group_depth_max) + " levels");
    auto group = at + (e.type == query_expr::kind::all ? ".and" : ".or");
    for (size_t i = 0; i < e.children.size(); ++i)
      if (auto err = check_expr(e.children[i], indexed(group, i), depth + 1))
        return err;
    return caf::none;
  }
  }
  return bad(at, "unknown condition kind");
}

// The root is the list of `where` conditions: its children are named where[i].
caf::error check_where(const query_expr& where) {
  if (where.type != query_expr::kind::all)
    return bad("where", "the root must be an 'all' group (the list of conditions)");
  for (size_t i = 0; i < where.children.size(); ++i)
    if (auto err = check_expr(where.children[i], indexed("where", i), 1))
      return err;
  return caf::none;
}

caf::error check_names(const std::vector<std::string>& names, std::string_view at) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].empty())
      return bad(indexed(at, i), "must not be empty");
  return caf::none;
}

// userIn: user ids by the rules of every user id (messages/names.hpp), as many as an `in`.
caf::error check_user_ids(const std::vector<std::string>& ids, std::string_view at) {
  if (ids.size() > in_values_max)
    return bad(at, "takes at most " + std::to_string(in_values_max) + " user ids, not " +
                       std::to_string(ids.size()));
  for (size_t i = 0; i < ids.size(); ++i)
    if (auto problem = name_problem(name_kind::user_id, ids[i]); !problem.empty())
      return bad(indexed(at, i), problem);
  return caf::none;
}

std::string_view to_string(aggregate_fn fn) noexcept {
  constexpr std::array<std::string_view, 6> names = {"none", "count", "sum", "avg", "min", "max"};
  auto i = static_cast<size_t>(fn);
  return i < names.size() ? names[i] : "unknown";
}

caf::error check_aggregate(const query& q) {
  if (q.aggregate == aggregate_fn::none) {
    if (q.aggregate_field.empty())
      return caf::none;
    return bad("aggregate", "a field without a function");
  }
  if (to_string(q.aggregate) == "unknown")
    return bad("aggregate", "unknown function");
  if (q.aggregate_field.empty()) {
    if (q.aggregate == aggregate_fn::count)
      return caf::none;
    return bad("aggregate", "'" + std::string{to_string(q.aggregate)} + "' needs a field");
  }
  if (!valid_path(q.aggregate_field))
    return bad("aggregate", "invalid field path '" + shown(q.aggregate_field) + "'");
  return caf::none;
}

caf::error check_numbers(const query& q) {
  if (q.limit < 0 || q.limit > query_limit_max)
    return bad("limit", "must be between 0 and " + std::to_string(query_limit_max));
  if (q.offset < 0)
    return bad("offset", "must not be negative");
  if (q.cache_s < 0 || q.cache_s > query_cache_s_max)
    return bad("cache", "must be between 0 and " + std::to_string(query_cache_s_max) + " seconds");
  return caf::none;
}

} // namespace

caf::error check_query(const query& q) {
  if (auto err = check_where(q.where))
    return err;
  if (auto err = check_user_ids(q.user_in, "userIn"))
    return err;
  for (size_t i = 0; i < q.order_by.size(); ++i)
    if (!valid_path(q.order_by[i].path))
      return bad(indexed("orderBy", i), "invalid field path '" + shown(q.order_by[i].path) + "'");
  if (auto err = check_numbers(q))
    return err;
  if (auto err = check_names(q.with, "with"))
    return err;
  if (auto err = check_aggregate(q))
    return err;
  if (!q.after.empty())
    if (auto tuple = decode_cursor(q.after, q.order_by); !tuple)
      return bad("after", message_of(tuple.error()));
  return caf::none;
}

// -- JSON form ---------------------------------------------------------------------------------

namespace {

constexpr std::string_view condition_shape =
    "a condition is [field, op, value], [field, op] or {\"or\": [...]} / {\"and\": [...]}";

caf::expected<query_expr> parse_expr(const value& x, const std::string& at, size_t depth);

caf::expected<query_expr> parse_cond(const array& xs, const std::string& at) {
  if (xs.size() < 2 || xs.size() > 3)
    return bad(at, condition_shape);
  if (!xs[0].is_string())
    return bad(at, "the field must be a string");
  if (!xs[1].is_string())
    return bad(at, "the operator must be a string");
  auto op = parse_op(xs[1].as_string());
  if (!op)
    return bad(at, message_of(op.error()));
  query_expr e;
  e.type = query_expr::kind::cond;
  e.path = xs[0].as_string();
  e.op = *op;
  bool takes_value = *op != query_op::is_null && *op != query_op::is_not_null;
  auto name = "'" + std::string{to_string(*op)} + "'";
  if (!takes_value && xs.size() == 3)
    return bad(at, name + " takes no value");
  if (takes_value && xs.size() == 2)
    return bad(at, name + " needs a value");
  if (xs.size() == 3)
    e.operand = xs[2];
  if (auto err = check_expr(e, at, 0))
    return err;
  return e;
}

caf::expected<query_expr> parse_group(const object& obj, const std::string& at, size_t depth) {
  if (obj.size() != 1)
    return bad(at, condition_shape);
  auto& [key, members] = *obj.begin();
  if (key != "or" && key != "and")
    return bad(at, condition_shape);
  if (!members.is_array())
    return bad(at, "'" + key + "' needs an array of conditions");
  if (depth >= group_depth_max)
    return bad(at, "groups nested deeper than " + std::to_string(group_depth_max) + " levels");
  query_expr e;
  e.type = key == "or" ? query_expr::kind::any : query_expr::kind::all;
  auto group = at + "." + key;
  for (size_t i = 0; i < members.as_array().size(); ++i) {
    auto child = parse_expr(members.as_array()[i], indexed(group, i), depth + 1);
    if (!child)
      return std::move(child.error());
    e.children.push_back(std::move(*child));
  }
  return e;
}

caf::expected<query_expr> parse_expr(const value& x, const std::string& at, size_t depth) {
  if (x.is_array())
    return parse_cond(x.as_array(), at);
  if (x.is_object())
    return parse_group(x.as_object(), at, depth);
  return bad(at, condition_shape);
}

caf::error parse_where(query& q, const value& x) {
  if (!x.is_array())
    return bad("where", "must be an array of conditions");
  for (size_t i = 0; i < x.as_array().size(); ++i) {
    auto child = parse_expr(x.as_array()[i], indexed("where", i), 1);
    if (!child)
      return std::move(child.error());
    q.where.children.push_back(std::move(*child));
  }
  return caf::none;
}

caf::error parse_strings(std::vector<std::string>& out, const value& x, std::string_view at) {
  if (!x.is_array())
    return bad(at, "must be an array of strings");
  for (size_t i = 0; i < x.as_array().size(); ++i) {
    auto& s = x.as_array()[i];
    if (!s.is_string())
      return bad(indexed(at, i), "must be a string");
    out.push_back(s.as_string());
  }
  return caf::none;
}

caf::error parse_sort_key(sort_key& out, const value& x, const std::string& at) {
  constexpr std::string_view shape = "must be \"field\", [field] or [field, \"asc\" | \"desc\"]";
  if (x.is_string()) {
    out.path = x.as_string();
    return caf::none;
  }
  if (!x.is_array() || x.as_array().empty() || x.as_array().size() > 2)
    return bad(at, shape);
  auto& parts = x.as_array();
  if (!parts[0].is_string())
    return bad(at, shape);
  out.path = parts[0].as_string();
  if (parts.size() == 2) {
    auto& dir = parts[1];
    if (!dir.is_string() || (dir.as_string() != "asc" && dir.as_string() != "desc"))
      return bad(at, "direction must be asc or desc");
    out.descending = dir.as_string() == "desc";
  }
  return caf::none;
}

caf::error parse_order_by(query& q, const value& x) {
  if (!x.is_array())
    return bad("orderBy", "must be an array");
  for (size_t i = 0; i < x.as_array().size(); ++i) {
    sort_key k;
    if (auto err = parse_sort_key(k, x.as_array()[i], indexed("orderBy", i)))
      return err;
    q.order_by.push_back(std::move(k));
  }
  return caf::none;
}

caf::error parse_int(int64_t& out, const value& x, std::string_view at) {
  if (!x.is_int())
    return bad(at, "must be an integer");
  out = x.as_int();
  return caf::none;
}

caf::error parse_aggregate(query& q, const value& x) {
  if (!x.is_object())
    return bad("aggregate", "must be {\"fn\": ..., \"field\": ...}");
  for (auto& [key, member] : x.as_object()) {
    if (key != "fn" && key != "field")
      return bad("aggregate", "unknown key '" + shown(key) + "'");
    if (!member.is_string())
      return bad("aggregate." + key, "must be a string");
  }
  auto* fn = x.find("fn");
  if (fn == nullptr)
    return bad("aggregate", "needs a function (fn)");
  constexpr aggregate_fn fns[] = {aggregate_fn::count, aggregate_fn::sum, aggregate_fn::avg,
                                  aggregate_fn::min, aggregate_fn::max};
  for (auto candidate : fns)
    if (fn->as_string() == to_string(candidate))
      q.aggregate = candidate;
  if (q.aggregate == aggregate_fn::none)
    return bad("aggregate", "unknown function '" + shown(fn->as_string()) + "'");
  if (auto* field = x.find("field"))
    q.aggregate_field = field->as_string();
  return check_aggregate(q);
}

caf::error parse_member(query& q, const std::string& key, const value& x) {
  if (key == "where")
    return parse_where(q, x);
  if (key == "userIn")
    return parse_strings(q.user_in, x, key);
  if (key == "orderBy")
    return parse_order_by(q, x);
  if (key == "limit")
    return parse_int(q.limit, x, key);
  if (key == "offset")
    return parse_int(q.offset, x, key);
  if (key == "cache")
    return parse_int(q.cache_s, x, key);
  if (key == "with")
    return parse_strings(q.with, x, key);
  if (key == "aggregate")
    return parse_aggregate(q, x);
  if (key == "withTotal") {
    if (!x.is_bool())
      return bad(key, "must be true or false");
    q.with_total = x.as_bool();
    return caf::none;
  }
  if (key == "explain") {
    if (!x.is_bool())
      return bad(key, "must be true or false");
    q.explain = x.as_bool();
    return caf::none;
  }
  if (key == "after") {
    // null is accepted as "first page": it is what the previous reply's nextCursor holds once
    // there are no more pages, and clients pass it along as they got it.
    if (!x.is_string() && !x.is_null())
      return bad(key, "must be a cursor string");
    q.after = x.is_string() ? x.as_string() : std::string{};
    return caf::none;
  }
  return make_error(errc::invalid_argument,
                    "unknown key '" + shown(key) +
                        "' (expected where, userIn, orderBy, limit, offset, after, with, "
                        "withTotal, cache, aggregate or explain)");
}

value expr_value(const query_expr& e) {
  if (e.type == query_expr::kind::cond) {
    array xs{value{e.path}, value{to_string(e.op)}};
    if (e.op != query_op::is_null && e.op != query_op::is_not_null)
      xs.push_back(e.operand);
    return value{std::move(xs)};
  }
  array children;
  for (auto& child : e.children)
    children.push_back(expr_value(child));
  auto key = e.type == query_expr::kind::any ? "or" : "and";
  return value{object{{key, value{std::move(children)}}}};
}

std::string_view direction(const sort_key& k) noexcept {
  return k.descending ? "desc" : "asc";
}

value strings_value(const std::vector<std::string>& xs) {
  return value{array(xs.begin(), xs.end())};
}

} // namespace

value detail::order_by_value(const std::vector<sort_key>& keys) {
  array out;
  out.reserve(keys.size());
  for (auto& k : keys)
    out.push_back(value{array{value{k.path}, value{direction(k)}}});
  return value{std::move(out)};
}

caf::expected<query> parse_query(std::string_view model, const value& json) {
  if (!json.is_object())
    return make_error(errc::invalid_argument, "query body must be an object");
  query q;
  q.model = std::string{model};
  for (auto& [key, x] : json.as_object())
    if (auto err = parse_member(q, key, x))
      return err;
  // Rules across members (the cursor belongs to orderBy) and ranges: the rules of C++ callers.
  if (auto err = check_query(q))
    return err;
  return q;
}

value to_value(const query& q) {
  object out;
  array where;
  if (q.where.type == query_expr::kind::all) {
    for (auto& child : q.where.children)
      where.push_back(expr_value(child));
  } else {
    where.push_back(expr_value(q.where));
  }
  out.set("where", value{std::move(where)});
  if (!q.user_in.empty())
    out.set("userIn", strings_value(q.user_in));
  if (!q.order_by.empty())
    out.set("orderBy", detail::order_by_value(q.order_by));
  if (q.limit != 100)
    out.set("limit", value{q.limit});
  if (q.offset != 0)
    out.set("offset", value{q.offset});
  if (!q.after.empty())
    out.set("after", value{q.after});
  if (!q.with.empty())
    out.set("with", strings_value(q.with));
  if (q.with_total)
    out.set("withTotal", value{true});
  if (q.cache_s != 0)
    out.set("cache", value{q.cache_s});
  if (q.explain)
    out.set("explain", value{true});
  if (q.aggregate != aggregate_fn::none) {
    object agg{{"fn", value{to_string(q.aggregate)}}};
    if (!q.aggregate_field.empty())
      agg.set("field", value{q.aggregate_field});
    out.set("aggregate", value{std::move(agg)});
  }
  return value{std::move(out)};
}

} // namespace debros
