// Evaluation of queries on documents, decoded or stored as msgpack; sort tuples; aggregates.
#include "messages/query.hpp"

#include <algorithm>

namespace debros {

// -- evaluation --------------------------------------------------------------------------------

namespace {

// A field as conditions see it. Scalars are read in place, from a value or from msgpack bytes,
// without allocating; arrays and objects are decoded only when an operator needs their content.
// Both evaluation paths go through this one type, so they cannot disagree.
struct field_ref {
  kind type = kind::null; // also stands for a missing field
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string_view string;
  const value* tree = nullptr; // an array or object of a decoded document
  std::string_view bytes;      // an array or object inside msgpack: the whole item
};

bool is_scalar(kind k) noexcept {
  return k == kind::boolean || k == kind::integer || k == kind::real || k == kind::string;
}

template <class T>
int three_way(T a, T b) noexcept {
  return a < b ? -1 : (a > b ? 1 : 0);
}

// Precondition: `f` and `x` are scalars of one rank. Numbers use the order of `compare`.
int compare_scalar(const field_ref& f, const value& x) noexcept {
  switch (f.type) {
  case kind::boolean:
    return static_cast<int>(f.boolean) - static_cast<int>(x.as_bool());
  case kind::integer:
    return x.is_int() ? compare_numbers(f.integer, x.as_int())
                      : compare_numbers(f.integer, x.as_double());
  case kind::real:
    return x.is_int() ? compare_numbers(f.real, x.as_int())
                      : compare_numbers(f.real, x.as_double());
  case kind::string:
    return three_way(f.string.compare(x.as_string()), 0);
  default:
    return 0;
  }
}

// `inline` keeps it inlined in `matches`: without the hint GCC stopped inlining it once
// mp_reader::next was forced inline into this file, and the call cost the decoded path ~7%.
inline field_ref ref_of(const value* v) noexcept {
  field_ref f;
  if (v == nullptr)
    return f;
  f.type = v->type();
  switch (f.type) {
  case kind::boolean:
    f.boolean = v->as_bool();
    break;
  case kind::integer:
    f.integer = v->as_int();
    break;
  case kind::real:
    f.real = v->as_double();
    break;
  case kind::string:
    f.string = v->as_string();
    break;
  case kind::array:
  case kind::object:
    f.tree = v;
    break;
  case kind::null:
    break;
  }
  return f;
}

// Reads the item at the reader's position; `doc` is the reader's input. Arrays and objects are
// skipped and kept as their bytes.
bool read_ref(mp_reader& r, std::string_view doc, field_ref& out) noexcept {
  size_t start = r.offset();
  mp_reader::item it;
  if (!r.next(it))
    return false;
  switch (it.type) {
  case mp_reader::token::nil:
    out.type = kind::null;
    return true;
  case mp_reader::token::boolean:
    out.type = kind::boolean;
    out.boolean = it.boolean;
    return true;
  case mp_reader::token::integer:
    out.type = kind::integer;
    out.integer = it.integer;
    return true;
  case mp_reader::token::real:
    out.type = kind::real;
    out.real = it.real;
    return true;
  case mp_reader::token::string:
    out.type = kind::string;
    out.string = it.string;
    return true;
  case mp_reader::token::array:
  case mp_reader::token::map: {
    bool is_map = it.type == mp_reader::token::map;
    uint64_t items = is_map ? 2ull * it.count : it.count;
    for (uint64_t i = 0; i < items; ++i)
      if (!r.skip())
        return false;
    out.type = is_map ? kind::object : kind::array;
    out.bytes = doc.substr(start, r.offset() - start);
    return true;
  }
  }
  return false;
}

bool is_map_header(std::string_view doc) noexcept {
  if (doc.empty())
    return false;
  auto c = static_cast<unsigned char>(doc[0]);
  return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

enum class lookup : uint8_t { found, missing, malformed };

// Positions `r` (at the start of a document) at the value of the dotted `path`.
lookup locate(mp_reader& r, std::string_view path) noexcept {
  mp_reader::item it;
  if (!r.next(it) || it.type != mp_reader::token::map)
    return lookup::malformed;
  for (;;) {
    auto dot = path.find('.');
    if (!r.find_key(it.count, path.substr(0, dot)))
      return r.failed() ? lookup::malformed : lookup::missing;
    if (dot == std::string_view::npos)
      return lookup::found;
    path.remove_prefix(dot + 1);
    if (!r.next(it))
      return lookup::malformed;
    if (it.type != mp_reader::token::map)
      return lookup::missing;
  }
}

// The value of `f`, decoded. Null for undecodable bytes (callers verify records first).
value materialize(const field_ref& f) {
  switch (f.type) {
  case kind::null:
    return value{};
  case kind::boolean:
    return value{f.boolean};
  case kind::integer:
    return value{f.integer};
  case kind::real:
    return value{f.real};
  case kind::string:
    return value{f.string};
  case kind::array:
  case kind::object: {
    if (f.tree != nullptr)
      return *f.tree;
    auto decoded = from_msgpack(f.bytes);
    return decoded ? std::move(*decoded) : value{};
  }
  }
  return value{};
}

bool equals(const field_ref& f, const value& x) {
  if (type_rank(f.type) != type_rank(x))
    return false;
  if (f.type == kind::null)
    return true;
  if (is_scalar(f.type))
    return compare_scalar(f, x) == 0;
  if (f.tree != nullptr)
    return *f.tree == x;
  auto decoded = from_msgpack(f.bytes);
  return decoded && *decoded == x;
}

bool equals_any(const field_ref& f, const value& xs) {
  if (!xs.is_array())
    return false;
  auto& operands = xs.as_array();
  // An array or object still in msgpack: `equals` would decode it once per operand, so decode
  // it here once, and only when some operand has its type (no other can equal it).
  if (f.tree == nullptr && (f.type == kind::array || f.type == kind::object)) {
    auto same_rank = [&](const value& x) { return type_rank(x) == type_rank(f.type); };
    if (std::none_of(operands.begin(), operands.end(), same_rank))
      return false;
    auto decoded = from_msgpack(f.bytes);
    return decoded && equals_any(ref_of(&*decoded), xs);
  }
  for (auto& x : operands)
    if (equals(f, x))
      return true;
  return false;
}

// Walks the elements in place, so `tags contains "news"` on stored bytes allocates nothing.
bool array_contains(const field_ref& f, const value& x) {
  if (f.type != kind::array)
    return false;
  if (f.tree != nullptr) {
    for (auto& el : f.tree->as_array())
      if (equals(ref_of(&el), x))
        return true;
    return false;
  }
  mp_reader r{f.bytes};
  mp_reader::item it;
  if (!r.next(it))
    return false;
  for (uint32_t i = 0; i < it.count; ++i) {
    field_ref el;
    if (!read_ref(r, f.bytes, el))
      return false;
    if (equals(el, x))
      return true;
  }
  return false;
}

// Stores the order of `f` against `x` in `out` when both are scalars of one type; false when
// they cannot be ordered (different types, null, arrays, objects): such conditions never match.
bool ordered(const field_ref& f, const value& x, int& out) noexcept {
  if (!is_scalar(f.type) || type_rank(f.type) != type_rank(x))
    return false;
  out = compare_scalar(f, x);
  return true;
}

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool contains_ignoring_case(std::string_view hay, std::string_view needle) noexcept {
  if (needle.size() > hay.size())
    return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && ascii_lower(hay[i + j]) == ascii_lower(needle[j]))
      ++j;
    if (j == needle.size())
      return true;
  }
  return false;
}

bool between(const field_ref& f, const value& range) noexcept {
  if (!range.is_array() || range.as_array().size() != 2)
    return false;
  int lo = 0;
  int hi = 0;
  return ordered(f, range.as_array()[0], lo) && lo >= 0 && ordered(f, range.as_array()[1], hi) &&
         hi <= 0;
}

bool eval_cond(const query_expr& e, const field_ref& f) {
  const value& x = e.operand;
  bool present = f.type != kind::null;
  int c = 0;
  switch (e.op) {
  case query_op::eq:
    return equals(f, x);
  case query_op::ne:
    return x.is_null() ? present : type_rank(f.type) == type_rank(x) && !equals(f, x);
  case query_op::gt:
    return ordered(f, x, c) && c > 0;
  case query_op::ge:
    return ordered(f, x, c) && c >= 0;
  case query_op::lt:
    return ordered(f, x, c) && c < 0;
  case query_op::le:
    return ordered(f, x, c) && c <= 0;
  case query_op::in:
    return equals_any(f, x);
  case query_op::not_in:
    return present && x.is_array() && !equals_any(f, x);
  case query_op::contains:
    return array_contains(f, x);
  case query_op::like:
    return f.type == kind::string && x.is_string() &&
           contains_ignoring_case(f.string, x.as_string());
  case query_op::starts_with:
    return f.type == kind::string && x.is_string() && f.string.starts_with(x.as_string());
  case query_op::between:
    return between(f, x);
  case query_op::is_null:
    return !present;
  case query_op::is_not_null:
    return present;
  }
  return false;
}

template <class Leaf>
bool eval_expr(const query_expr& e, const Leaf& leaf) {
  switch (e.type) {
  case query_expr::kind::cond:
    return leaf(e);
  case query_expr::kind::all:
    for (auto& child : e.children)
      if (!eval_expr(child, leaf))
        return false;
    return true;
  case query_expr::kind::any:
    for (auto& child : e.children)
      if (eval_expr(child, leaf))
        return true;
    return false;
  }
  return false;
}

// Each condition walks the top-level map again: with a handful of conditions on documents of a
// few dozen fields, that costs less than building an index of the map.
bool eval_stored(const query_expr& e, std::string_view doc) {
  mp_reader r{doc};
  field_ref f;
  switch (locate(r, e.path)) {
  case lookup::malformed:
    return false;
  case lookup::missing:
    break;
  case lookup::found:
    if (!read_ref(r, doc, f))
      return false;
    break;
  }
  return eval_cond(e, f);
}

} // namespace

bool matches(const query_expr& e, const value& doc) {
  // Non-objects are no documents; refused as matches_msgpack refuses non-maps.
  if (!doc.is_object())
    return false;
  return eval_expr(
      e, [&](const query_expr& c) { return eval_cond(c, ref_of(doc.find_path(c.path))); });
}

bool matches_msgpack(const query_expr& e, std::string_view doc_msgpack) {
  if (!is_map_header(doc_msgpack))
    return false;
  return eval_expr(e, [&](const query_expr& c) { return eval_stored(c, doc_msgpack); });
}

value extract_msgpack(std::string_view doc_msgpack, std::string_view path) {
  mp_reader r{doc_msgpack};
  if (locate(r, path) != lookup::found)
    return value{};
  field_ref f;
  if (!read_ref(r, doc_msgpack, f))
    return value{};
  return materialize(f);
}

// -- sorting -----------------------------------------------------------------------------------

int compare_sort_tuples(const std::vector<value>& a, const std::vector<value>& b,
                        const std::vector<sort_key>& keys) noexcept {
  // Tuples of other lengths cannot come from sort_tuple; compare them anyway, never read past.
  // The id after the keys follows the direction of the last key (ascending without keys), so
  // that an index scanned backwards for a descending order yields ties in their final order.
  bool id_descending = !keys.empty() && keys.back().descending;
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int c = compare(a[i], b[i]);
    if (i < keys.size() ? keys[i].descending : id_descending)
      c = -c;
    if (c != 0)
      return c;
  }
  return three_way(a.size(), b.size());
}

std::vector<value> sort_tuple(const value& doc, const std::vector<sort_key>& keys) {
  std::vector<value> out;
  out.reserve(keys.size() + 1);
  for (auto& k : keys) {
    auto* v = doc.find_path(k.path);
    out.push_back(v != nullptr ? *v : value{});
  }
  auto* id = doc.find("id");
  out.push_back(id != nullptr ? *id : value{});
  return out;
}

std::vector<value> sort_tuple_msgpack(std::string_view doc_msgpack,
                                      const std::vector<sort_key>& keys) {
  std::vector<value> out;
  out.reserve(keys.size() + 1);
  for (auto& k : keys)
    out.push_back(extract_msgpack(doc_msgpack, k.path));
  out.push_back(extract_msgpack(doc_msgpack, "id"));
  return out;
}

// -- aggregates --------------------------------------------------------------------------------

namespace {

// Integer sums stay exact until they overflow; from then on the sum is a real.
value add_numbers(const value& a, const value& b) {
  if (!a.is_number())
    return b.is_number() ? b : value{int64_t{0}};
  if (!b.is_number())
    return a;
  int64_t sum = 0;
  if (a.is_int() && b.is_int() && !__builtin_add_overflow(a.as_int(), b.as_int(), &sum))
    return value{sum};
  return value{a.as_double() + b.as_double()};
}

void keep_min(value& into, const value& x) {
  if (!x.is_null() && (into.is_null() || compare(x, into) < 0))
    into = x;
}

void keep_max(value& into, const value& x) {
  if (!x.is_null() && (into.is_null() || compare(x, into) > 0))
    into = x;
}

} // namespace

void aggregate_add(aggregate_state& st, aggregate_fn fn, const value* field_value) {
  ++st.count;
  if (field_value == nullptr || field_value->is_null())
    return;
  // Only what `fn` needs is kept: copying every min/max candidate would cost a count or sum
  // over strings an allocation per document.
  switch (fn) {
  case aggregate_fn::sum:
  case aggregate_fn::avg:
    if (!field_value->is_number())
      return;
    st.sum = add_numbers(st.sum, *field_value);
    ++st.numeric;
    return;
  case aggregate_fn::min:
    keep_min(st.min, *field_value);
    return;
  case aggregate_fn::max:
    keep_max(st.max, *field_value);
    return;
  case aggregate_fn::none:
  case aggregate_fn::count:
    return;
  }
}

void aggregate_merge(aggregate_state& into, const aggregate_state& other) {
  into.count += other.count;
  into.numeric += other.numeric;
  into.sum = add_numbers(into.sum, other.sum);
  keep_min(into.min, other.min);
  keep_max(into.max, other.max);
}

value aggregate_result(const aggregate_state& st, aggregate_fn fn) {
  switch (fn) {
  case aggregate_fn::count:
    return value{static_cast<int64_t>(st.count)};
  case aggregate_fn::sum:
    return st.sum.is_number() ? st.sum : value{int64_t{0}};
  case aggregate_fn::avg:
    if (st.numeric == 0 || !st.sum.is_number())
      return value{0.0};
    return value{st.sum.as_double() / static_cast<double>(st.numeric)};
  case aggregate_fn::min:
    return st.min;
  case aggregate_fn::max:
    return st.max;
  case aggregate_fn::none:
    break;
  }
  return value{};
}

} // namespace debros
