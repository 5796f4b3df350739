// Internal to messages/: the per-value rules of field definitions, shared by parsing (a default
// must pass its own field's rules, patterns are refused when they do not compile) and by
// validation of documents. Keeping one copy means a definition cannot accept a default that
// validation would then refuse.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "messages/errc.hpp"
#include "messages/model.hpp"
#include "messages/value.hpp"

namespace debros::detail {

/// invalid_argument "path: what".
caf::error invalid(std::string_view path, std::string_view what);

/// "a string", "a number", ...: the type as a message names it.
std::string_view type_phrase(field_type t) noexcept;

/// Compiles a field's pattern for `pattern_matches`. Errors: invalid_argument at `path` for a
/// pattern that is not ECMAScript or uses back-references.
caf::expected<std::regex> compile_pattern(const std::string& path, const std::string& pattern);

/// True if `rx` (from compile_pattern) finds a match anywhere in `s`. Throws std::regex_error
/// when the engine gives up (complexity or stack limits).
bool pattern_matches(const std::regex& rx, const std::string& s);

/// True if no real anywhere in `v` (nested arrays and objects included) is NaN or infinite.
bool is_finite_deep(const value& v) noexcept;

/// Dates are integer milliseconds: turns an integral real that fits int64 into that integer,
/// leaves everything else alone.
void normalize_date(value& v) noexcept;

/// True if `v` has the type of field type `t` (dates: integers only, after normalize_date).
bool type_matches(field_type t, const value& v) noexcept;

/// Checks a present, non-null, finite value against the rules of `f` (type, bounds, lengths,
/// `rx` if not null, enum), appending one detail per broken rule. A value of the wrong type is
/// checked no further.
void check_rules(const field_def& f, const value& v, const std::regex* rx,
                 std::vector<error_detail>& out);

/// Applies `t` to `s` in place (the work of the public apply_transform).
void apply_transform_in_place(text_transform t, std::string& s);

} // namespace debros::detail
