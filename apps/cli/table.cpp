#include "apps/cli/table.hpp"

#include <algorithm>

#include "messages/json.hpp"

namespace debros::cli {

namespace {

constexpr std::string_view ellipsis = "\xE2\x80\xA6"; // U+2026

bool is_continuation(unsigned char c) noexcept {
  return (c & 0xC0) == 0x80;
}

void append_padded(std::string& out, std::string_view text, size_t width) {
  out += text;
  for (size_t w = display_width(text); w < width; ++w)
    out += ' ';
}

void append_line(std::string& out, const std::vector<std::string>& cells,
                 const std::vector<size_t>& widths) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0)
      out += "  ";
    // The last column is not padded: no trailing spaces.
    if (i + 1 == cells.size())
      out += cells[i];
    else
      append_padded(out, cells[i], widths[i]);
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  out += '\n';
}

} // namespace

size_t display_width(std::string_view utf8) noexcept {
  size_t n = 0;
  for (unsigned char c : utf8)
    if (!is_continuation(c))
      ++n;
  return n;
}

std::string truncate_text(std::string_view text, size_t width_max) {
  width_max = std::max<size_t>(width_max, 2);
  if (display_width(text) <= width_max)
    return std::string{text};
  // Keep width_max - 1 code points, then the ellipsis.
  size_t kept = 0;
  size_t end = 0;
  while (end < text.size()) {
    if (!is_continuation(static_cast<unsigned char>(text[end]))) {
      if (kept == width_max - 1)
        break;
      ++kept;
    }
    ++end;
  }
  std::string out{text.substr(0, end)};
  out += ellipsis;
  return out;
}

std::vector<std::string> table_columns(const array& rows) {
  std::vector<std::string> columns;
  auto add = [&](std::string_view name) {
    if (std::find(columns.begin(), columns.end(), name) == columns.end())
      columns.emplace_back(name);
  };
  bool any_id = std::any_of(rows.begin(), rows.end(), [](auto& r) { return r.find("id"); });
  if (any_id)
    columns.emplace_back("id");
  for (auto& row : rows) {
    if (!row.is_object()) {
      add("value");
      continue;
    }
    for (auto& [key, ignored] : row.as_object())
      add(key);
  }
  return columns;
}

std::string format_table(const array& rows, const table_options& options) {
  if (rows.empty())
    return "(none)\n";
  auto columns = table_columns(rows);
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size());
  for (auto& row : rows) {
    auto& line = cells.emplace_back();
    for (auto& col : columns) {
      const value* x = row.is_object() ? row.find(col) : (col == "value" ? &row : nullptr);
      line.push_back(x != nullptr ? truncate_text(to_json(*x), options.cell_width_max) : "");
    }
  }
  std::vector<size_t> widths;
  for (size_t i = 0; i < columns.size(); ++i) {
    size_t w = display_width(columns[i]);
    for (auto& line : cells)
      w = std::max(w, display_width(line[i]));
    widths.push_back(w);
  }
  std::string out;
  append_line(out, columns, widths);
  for (auto& line : cells)
    append_line(out, line, widths);
  return out;
}

std::string format_fields(const value& doc) {
  if (!doc.is_object())
    return to_json(doc) + "\n";
  auto& members = doc.as_object();
  if (members.empty())
    return "(empty)\n";
  size_t width = 0;
  for (auto& [key, ignored] : members)
    width = std::max(width, display_width(key));
  std::string out;
  auto append_member = [&](const std::string& key, const value& x) {
    append_padded(out, key, width);
    out += "  ";
    append_json(out, x);
    out += '\n';
  };
  // The id first, as in tables: it is what a reader looks for.
  if (auto id = members.find("id"))
    append_member("id", *id);
  for (auto& [key, x] : members)
    if (key != "id")
      append_member(key, x);
  return out;
}

} // namespace debros::cli
