#include "messages/model_rules.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

#include "messages/json.hpp"

namespace debros {

namespace detail {

// -- errors -------------------------------------------------------------------------------------

caf::error invalid(std::string_view path, std::string_view what) {
  std::string msg{path};
  msg += ": ";
  msg += what;
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string_view type_phrase(field_type t) noexcept {
  // Indexed by the numeric value of field_type.
  constexpr std::string_view phrases[] = {"a string", "a number",  "a boolean",
                                          "an array", "an object", "a date (ms since epoch)"};
  auto i = static_cast<size_t>(t);
  return i < std::size(phrases) ? phrases[i] : std::string_view{"unknown"};
}

// -- patterns -----------------------------------------------------------------------------------

// The bounded-stack engine below is chosen with a libstdc++ extension; with another standard
// library `pattern` would run on a recursive engine that a long string overflows. Refuse to build.
#if !defined(__GLIBCXX__)
#error "model_rules.cpp needs libstdc++ (std::regex_constants::__polynomial); see compile_pattern"
#endif

namespace {

constexpr auto regex_flags = std::regex::ECMAScript | std::regex_constants::__polynomial;

} // namespace

// libstdc++'s default regex engine recurses once per input character and overflows the stack on
// long strings; the polynomial (breadth-first) engine runs in bounded stack and refuses
// back-references. Its regex_search still restarts the match at every position, which is
// quadratic ("a+b" against 20 kB of 'a' takes seconds), so the pattern is compiled behind a
// `[\s\S]*` prefix and matched once from the start: one linear pass with the result of a search.
caf::expected<std::regex> compile_pattern(const std::string& path, const std::string& pattern) {
  try {
    // Compiled alone first: inside the wrapper an unbalanced ')' would go unnoticed.
    std::regex alone(pattern, regex_flags);
    return std::regex("[\\s\\S]*(?:" + pattern + ")", regex_flags);
  } catch (const std::regex_error& e) {
    if (e.code() == std::regex_constants::error_complexity)
      return invalid(path, "back-references are not supported");
    return invalid(path, std::string{"invalid regular expression: "} + e.what());
  }
}

bool pattern_matches(const std::regex& rx, const std::string& s) {
  return std::regex_search(s, rx, std::regex_constants::match_continuous);
}

// -- checking one value against a field's rules -------------------------------------------------

bool is_finite_deep(const value& v) noexcept {
  switch (v.type()) {
  case kind::real:
    return std::isfinite(v.as_double());
  case kind::array:
    return std::all_of(v.as_array().begin(), v.as_array().end(), is_finite_deep);
  case kind::object:
    return std::all_of(v.as_object().begin(), v.as_object().end(),
                       [](const auto& m) { return is_finite_deep(m.second); });
  default:
    return true;
  }
}

void normalize_date(value& v) noexcept {
  if (!v.is_double())
    return;
  double d = v.as_double();
  constexpr double limit = 9223372036854775808.0; // 2^63
  if (std::isfinite(d) && d == std::trunc(d) && d >= -limit && d < limit)
    v = value{static_cast<int64_t>(d)};
}

bool type_matches(field_type t, const value& v) noexcept {
  switch (t) {
  case field_type::string:
    return v.is_string();
  case field_type::number:
    return v.is_number();
  case field_type::boolean:
    return v.is_bool();
  case field_type::array:
    return v.is_array();
  case field_type::object:
    return v.is_object();
  case field_type::date:
    return v.is_int();
  }
  return false;
}

namespace {

// Shortest text that reads back as `x`: "0", "2.5", "1e+21" (never "0.000000").
std::string format_number(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

// Counts UTF-8 code points: every byte that does not continue a sequence starts one.
int64_t code_points(std::string_view s) noexcept {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

// Enum values as a user reads them: strings bare ("admin, user"), the rest as JSON.
std::string enum_list(const std::vector<value>& values) {
  std::string out;
  for (auto& x : values) {
    if (!out.empty())
      out += ", ";
    out += x.is_string() ? x.as_string() : to_json(x);
  }
  return out;
}

using fail_fn = std::function<void(std::string)>;

void check_number(const field_def& f, const value& v, const fail_fn& fail) {
  if (f.min && compare(v, value{*f.min}) < 0)
    fail("must be at least " + format_number(*f.min));
  if (f.max && compare(v, value{*f.max}) > 0)
    fail("must be at most " + format_number(*f.max));
}

void check_length(const field_def& f, const value& v, const fail_fn& fail) {
  bool text = v.is_string();
  int64_t n = text ? code_points(v.as_string()) : static_cast<int64_t>(v.as_array().size());
  auto say = [&](std::string_view bound, int64_t limit) {
    auto count = std::to_string(limit);
    fail(text ? "must be " + std::string{bound} + " " + count + " characters long"
              : "must have " + std::string{bound} + " " + count + " element(s)");
  };
  if (f.min_length && n < *f.min_length)
    say("at least", *f.min_length);
  if (f.max_length && n > *f.max_length)
    say("at most", *f.max_length);
}

} // namespace

void check_rules(const field_def& f, const value& v, const std::regex* rx,
                 std::vector<error_detail>& out) {
  fail_fn fail = [&](std::string what) { out.push_back({f.name, f.name + " " + what}); };
  if (!type_matches(f.type, v))
    return fail("must be " + std::string{type_phrase(f.type)});
  if (v.is_number())
    check_number(f, v, fail);
  if (v.is_string() || v.is_array())
    check_length(f, v, fail);
  if (rx != nullptr && v.is_string()) {
    try {
      if (!pattern_matches(*rx, v.as_string()))
        fail("must match the pattern " + f.pattern);
    } catch (const std::regex_error&) {
      fail("could not be checked against the pattern " + f.pattern);
    }
  }
  if (!f.enum_values.empty() && std::none_of(f.enum_values.begin(), f.enum_values.end(),
                                             [&](const value& x) { return x == v; }))
    fail("must be one of: " + enum_list(f.enum_values));
}

// -- transforms ---------------------------------------------------------------------------------

void apply_transform_in_place(text_transform t, std::string& s) {
  switch (t) {
  case text_transform::none:
    break;
  case text_transform::trim: {
    constexpr std::string_view space = " \t\n\r\f\v";
    auto first = s.find_first_not_of(space);
    if (first == std::string::npos)
      return s.clear();
    s = s.substr(first, s.find_last_not_of(space) - first + 1);
    break;
  }
  // ASCII only: full Unicode case mapping needs tables this layer does not carry.
  case text_transform::lowercase:
    for (auto& c : s)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    break;
  case text_transform::uppercase:
    for (auto& c : s)
      if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
    break;
  }
}

} // namespace detail

std::string apply_transform(text_transform t, std::string_view s) {
  std::string out{s};
  detail::apply_transform_in_place(t, out);
  return out;
}

} // namespace debros
