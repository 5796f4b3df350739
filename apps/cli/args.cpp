#include "apps/cli/args.hpp"

#include <charconv>
#include <limits>

#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::cli {

namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The first whitespace-separated word of `s`; `s` is left at the rest, trimmed.
std::string_view next_word(std::string_view& s) noexcept {
  s = trim(s);
  size_t end = 0;
  while (end < s.size() && !is_space(s[end]))
    ++end;
  auto word = s.substr(0, end);
  s = trim(s.substr(end));
  return word;
}

caf::error bad(std::string what, std::string_view text, std::string_view why) {
  return make_error(errc::invalid_argument,
                    what + " '" + std::string{text} + "': " + std::string{why});
}

} // namespace

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

value loose_value(std::string_view text) {
  auto parsed = parse_json(text);
  if (parsed)
    return std::move(*parsed);
  return value{std::string{text}};
}

caf::expected<value> parse_where(std::string_view text) {
  auto rest = text;
  auto field = next_word(rest);
  auto op = next_word(rest);
  if (field.empty() || op.empty())
    return bad("invalid --where", text, "expected \"field op value\", e.g. \"score > 3\"");
  if (op == "is_null" || op == "is_not_null") {
    if (!rest.empty())
      return bad("invalid --where", text, std::string{op} + " takes no value");
    return value{array{value{field}, value{op}}};
  }
  if (rest.empty())
    return bad("invalid --where", text, "the operator " + std::string{op} + " needs a value");
  return value{array{value{field}, value{op}, loose_value(rest)}};
}

caf::expected<value> parse_order(std::string_view text) {
  auto rest = text;
  auto field = next_word(rest);
  auto dir = next_word(rest);
  if (field.empty())
    return bad("invalid --order", text, "expected \"field [asc|desc]\"");
  if (!rest.empty())
    return bad("invalid --order", text, "expected \"field [asc|desc]\"");
  if (dir.empty())
    dir = "asc";
  if (dir != "asc" && dir != "desc")
    return bad("invalid --order", text, "the direction must be asc or desc");
  return value{array{value{field}, value{dir}}};
}

caf::expected<value> parse_aggregate(std::string_view text) {
  auto rest = text;
  auto fn = next_word(rest);
  auto field = next_word(rest);
  if (fn.empty() || !rest.empty())
    return bad("invalid --aggregate", text, "expected \"fn [field]\", e.g. \"sum score\"");
  object out{{"fn", std::string{fn}}};
  if (!field.empty())
    out.set("field", std::string{field});
  return value{std::move(out)};
}

caf::expected<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto t = trim(text);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc{} || ptr == t.data() || n < 0)
    return bad("invalid duration", text, "expected a number and a unit, e.g. 500ms, 10s, 2m");
  std::string_view unit{ptr, static_cast<size_t>(t.data() + t.size() - ptr)};
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s" || unit.empty())
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    return bad("invalid duration", text, "the unit must be ms, s, m or h");
  if (n > std::numeric_limits<int64_t>::max() / scale)
    return bad("invalid duration", text, "too long");
  return std::chrono::milliseconds{n * scale};
}

caf::expected<value> build_query_body(const query_args& args) {
  object body;
  if (!args.where.empty()) {
    array where;
    for (auto& w : args.where) {
      auto cond = parse_where(w);
      if (!cond)
        return cond.error();
      where.push_back(std::move(*cond));
    }
    body.set("where", std::move(where));
  }
  if (!args.users.empty())
    body.set("userIn", array(args.users.begin(), args.users.end()));
  if (!args.order.empty()) {
    array order;
    for (auto& o : args.order) {
      auto clause = parse_order(o);
      if (!clause)
        return clause.error();
      order.push_back(std::move(*clause));
    }
    body.set("orderBy", std::move(order));
  }
  if (args.limit)
    body.set("limit", *args.limit);
  if (args.offset)
    body.set("offset", *args.offset);
  if (!args.with.empty())
    body.set("with", array(args.with.begin(), args.with.end()));
  if (args.aggregate) {
    auto agg = parse_aggregate(*args.aggregate);
    if (!agg)
      return agg.error();
    body.set("aggregate", std::move(*agg));
  }
  if (args.after)
    body.set("after", *args.after);
  if (args.total)
    body.set("withTotal", true);
  if (args.explain)
    body.set("explain", true);
  return value{std::move(body)};
}

caf::expected<std::string> model_name_for(std::string_view name_option, const value& definition,
                                          std::string_view path) {
  if (!name_option.empty())
    return std::string{name_option};
  if (auto name = definition.find("name"); name != nullptr && name->is_string())
    return name->as_string();
  auto base = path.substr(path.find_last_of('/') + 1); // npos + 1 == 0
  base = base.substr(0, base.rfind('.'));
  if (base.empty())
    return make_error(errc::invalid_argument,
                      "cannot tell the model name from '" + std::string{path} + "': use --name");
  return std::string{base};
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace debros::cli
