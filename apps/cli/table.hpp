// Text layouts of the debros CLI's table format: column tables of documents and key/value
// listings of one document. Pure functions from values to text, so they are unit-tested.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "messages/value.hpp"

namespace debros::cli {

struct table_options {
  /// Widest cell, in code points; a longer cell is cut and ends with "…". At least 2.
  size_t cell_width_max = 40;
};

/// The width of UTF-8 text in code points (what a terminal shows for text without wide or
/// combining characters; cells are compact JSON, so control characters are escaped already).
size_t display_width(std::string_view utf8) noexcept;

/// `text` cut to at most `width_max` code points, the last of them "…" when it was cut.
/// Never splits a UTF-8 sequence.
std::string truncate_text(std::string_view text, size_t width_max);

/// The columns of a table of `rows`: "id" first when any row has one, then every other key in
/// the order it is first seen. A row that is not an object adds the column "value".
std::vector<std::string> table_columns(const array& rows);

/// A column table of `rows`: a header line with the column names, then one line per row with
/// each cell as compact JSON (truncated, see table_options; empty where the row lacks the key).
/// Columns are left-aligned and two spaces apart; lines have no trailing spaces. No rows gives
/// "(none)\n".
std::string format_table(const array& rows, const table_options& options = {});

/// A key/value listing of an object: one line per member ("id" first, then the others in
/// order), "key" padded to the longest key, two spaces, then the value as compact JSON (never
/// truncated: this is the whole document).
/// A value that is not an object is one line of compact JSON; an empty object is "(empty)\n".
std::string format_fields(const value& doc);

} // namespace debros::cli
