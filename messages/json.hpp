// JSON text <-> document value, strict RFC 8259 with limits for untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

#include "messages/value.hpp"

namespace debros {

/// Limits applied when parsing untrusted JSON text.
struct json_limits {
  /// Largest accepted text in bytes (16 MiB, the default HTTP body limit).
  size_t max_bytes = size_t{16} << 20;
  /// Deepest accepted nesting: the root value is at depth 1, its elements at depth 2, and no
  /// value may sit deeper than this.
  uint32_t max_depth = 64;
  /// Most values the text may hold: every string, number, literal, array and object counts
  /// one (an object's keys do not). It bounds the memory of the parsed value, which is many
  /// times the text for small values (`[0,0,...]`). Unbounded by default, for trusted text;
  /// request bodies use a bound (net/api.hpp, api_limits::json_values_max).
  size_t max_values = SIZE_MAX;
};

/// Parses exactly one JSON value (surrounding whitespace allowed). Integers without fraction or
/// exponent that fit int64 become integers; other numbers become reals. Errors are
/// errc::invalid_argument ("invalid JSON at line 3, column 7: expected ':'") for malformed
/// text, invalid UTF-8, lone surrogates, duplicate keys or numbers out of double range, and
/// errc::too_large past `max_bytes`, `max_depth` or `max_values`. Never throws on bad input.
caf::expected<value> parse_json(std::string_view text, const json_limits& limits = {});

/// Appends compact JSON for `x`. Reals always carry a '.' or an exponent so that they read back
/// as reals; non-finite reals are written as null; invalid UTF-8 is replaced by U+FFFD.
void append_json(std::string& out, const value& x);

/// Compact JSON for `x`.
std::string to_json(const value& x);

/// Indented JSON for `x` (for people: the CLI, logs).
std::string to_json_pretty(const value& x, int indent = 2);

/// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

} // namespace debros
