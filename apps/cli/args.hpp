// Pure helpers of the debros CLI that turn command-line text into API values: --where and
// --order clauses, durations, query bodies, model names, URL-encoding. No I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "messages/value.hpp"

namespace debros::cli {

/// `s` without ASCII whitespace at either end.
std::string_view trim(std::string_view s) noexcept;

/// `text` parsed as JSON when it is valid JSON (numbers, true/false/null, quoted strings,
/// arrays, objects), otherwise `text` itself as a string. So `hello` is "hello", `"42"` is the
/// string "42" and `42` is the number 42.
value loose_value(std::string_view text);

/// Splits a --where clause "field op value" into the API condition ["field", "op", value]: the
/// field and the operator are the first two words, the value is the rest (see loose_value).
/// The operators is_null and is_not_null take no value: ["field", "is_null"]. Other operators
/// are not checked here; the server refuses unknown ones. Errors: invalid_argument for a
/// missing operator or value, or a value after is_null / is_not_null.
caf::expected<value> parse_where(std::string_view text);

/// Splits an --order clause "field [asc|desc]" into ["field", "asc"|"desc"] (asc by default).
/// Errors: invalid_argument for an empty clause, another direction or extra words.
caf::expected<value> parse_order(std::string_view text);

/// Splits an --aggregate clause "fn [field]" into {"fn": fn, "field": field} (the field is
/// left out when not given; `count` needs none). The server checks the function and field.
/// Errors: invalid_argument for an empty clause or extra words.
caf::expected<value> parse_aggregate(std::string_view text);

/// Parses a duration: a whole number followed by "ms", "s", "m" or "h" ("500ms", "10s", "2m");
/// a bare number is seconds. Errors: invalid_argument for anything else or an overflow.
caf::expected<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The options of `debros query`, as given on the command line.
struct query_args {
  std::vector<std::string> where;
  std::vector<std::string> users;
  std::vector<std::string> order;
  std::vector<std::string> with;
  std::optional<int64_t> limit;
  std::optional<int64_t> offset;
  /// "fn [field]": the reply is {"value": V} instead of documents.
  std::optional<std::string> aggregate;
  /// Continue after this cursor (a previous page's nextCursor).
  std::optional<std::string> after;
  /// Ask for "total" (withTotal).
  bool total = false;
  /// Ask for the plan of each partition ("explain").
  bool explain = false;
};

/// The body of POST /v1/models/{Model}/query for `args` (API.md "Queries"): only the members
/// that were given. Errors: those of parse_where and parse_order.
caf::expected<value> build_query_body(const query_args& args);

/// The model name `model apply` uses: `name_option` when not empty, else the definition's
/// "name" member when it is a string, else the base name of `path` without its last extension
/// ("defs/User.json" -> "User"). Errors: invalid_argument when that leaves an empty name.
caf::expected<std::string> model_name_for(std::string_view name_option, const value& definition,
                                          std::string_view path);

/// Percent-encodes `s` for use as one path segment or query value: everything except the
/// RFC 3986 unreserved characters (letters, digits, '-', '.', '_', '~') becomes %XX.
std::string url_encode(std::string_view s);

} // namespace debros::cli
