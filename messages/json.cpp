#include "messages/json.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>

#include "messages/errc.hpp"
#include "messages/msgpack_codec.hpp"

namespace debros {

// -- parsing -----------------------------------------------------------------------------------

namespace {

// Objects with more members than this check duplicates with a hash set instead of a linear scan,
// so hostile input with many keys costs O(n), not O(n^2).
constexpr size_t linear_dup_check_max = 16;

class parser {
public:
  parser(std::string_view text, const json_limits& limits)
      : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()), limits_(limits) {}

  caf::error run(value& out) {
    skip_ws();
    if (!parse_value(out, 1))
      return error();
    skip_ws();
    if (p_ != end_) {
      fail("unexpected content after the value");
      return error();
    }
    return caf::none;
  }

private:
  caf::error error() {
    if (too_deep_)
      return make_error(errc::too_large, "JSON nesting deeper than " +
                                             std::to_string(limits_.max_depth) + " levels");
    if (too_many_)
      return make_error(errc::too_large, "JSON text holding more than " +
                                             std::to_string(limits_.max_values) + " values");
    size_t line = 1;
    size_t col = 1;
    for (const char* q = begin_; q < err_at_; ++q) {
      if (*q == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return make_error(errc::invalid_argument, "invalid JSON at line " + std::to_string(line) +
                                                  ", column " + std::to_string(col) + ": " + what_);
  }

  bool fail(std::string what) {
    if (what_.empty()) {
      what_ = std::move(what);
      err_at_ = p_;
    }
    return false;
  }

  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool literal(std::string_view word, value x, value& out) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view{p_, word.size()} != word)
      return fail("invalid literal");
    p_ += word.size();
    out = std::move(x);
    return true;
  }

  bool parse_value(value& out, uint32_t depth) {
    if (p_ >= end_)
      return fail("unexpected end of input, expected a value");
    // Counted before the value is built: the parse stops before the memory is taken.
    if (++values_ > limits_.max_values) {
      too_many_ = true;
      return false;
    }
    switch (*p_) {
    case '{':
      return parse_object(out, depth);
    case '[':
      return parse_array(out, depth);
    case '"': {
      std::string s;
      if (!parse_string(s))
        return false;
      out = value{std::move(s)};
      return true;
    }
    case 't':
      return literal("true", value{true}, out);
    case 'f':
      return literal("false", value{false}, out);
    case 'n':
      return literal("null", value{}, out);
    default:
      if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9'))
        return parse_number(out);
      return fail(std::string{"unexpected character '"} + printable(*p_) + "'");
    }
  }

  static std::string printable(char c) {
    if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f)
      return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
    return buf;
  }

  bool enter(uint32_t depth) {
    // `depth` is the depth of the container; its first element would sit one deeper.
    if (depth >= limits_.max_depth) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  bool parse_array(value& out, uint32_t depth) {
    ++p_; // '['
    array xs;
    skip_ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      out = value{std::move(xs)};
      return true;
    }
    if (!enter(depth))
      return false;
    for (;;) {
      skip_ws();
      xs.emplace_back();
      if (!parse_value(xs.back(), depth + 1))
        return false;
      skip_ws();
      if (p_ >= end_)
        return fail("unexpected end of input in array");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == ']') {
        ++p_;
        out = value{std::move(xs)};
        return true;
      }
      return fail("expected ',' or ']' in array");
    }
  }

  bool parse_object(value& out, uint32_t depth) {
    ++p_; // '{'
    object obj;
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      out = value{std::move(obj)};
      return true;
    }
    if (!enter(depth))
      return false;
    std::unordered_set<std::string> seen; // used only past linear_dup_check_max members
    for (;;) {
      skip_ws();
      if (p_ >= end_ || *p_ != '"')
        return fail("expected a string key in object");
      const char* key_at = p_;
      std::string key;
      if (!parse_string(key))
        return false;
      bool dup;
      if (obj.size() < linear_dup_check_max) {
        dup = obj.contains(key);
      } else {
        if (seen.empty())
          for (auto& m : obj)
            seen.insert(m.first);
        dup = !seen.insert(key).second;
      }
      if (dup) {
        p_ = key_at;
        return fail("duplicate key \"" + key + "\"");
      }
      skip_ws();
      if (p_ >= end_ || *p_ != ':')
        return fail("expected ':' after object key");
      ++p_;
      skip_ws();
      value v;
      if (!parse_value(v, depth + 1))
        return false;
      obj.append_unchecked(std::move(key), std::move(v));
      skip_ws();
      if (p_ >= end_)
        return fail("unexpected end of input in object");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        out = value{std::move(obj)};
        return true;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  bool hex4(uint32_t& out) {
    if (end_ - p_ < 4)
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = p_[i];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("invalid hex digit in \\u escape");
    }
    p_ += 4;
    return true;
  }

  static void put_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool parse_string(std::string& s) {
    ++p_; // opening quote
    for (;;) {
      // Copy the run of plain bytes in one go.
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20)
        ++p_;
      if (p_ > run) {
        std::string_view chunk{run, static_cast<size_t>(p_ - run)};
        if (!valid_utf8(chunk)) {
          p_ = run;
          return fail("string is not valid UTF-8");
        }
        s.append(chunk);
      }
      if (p_ >= end_)
        return fail("unterminated string");
      char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c != '\\')
        return fail("control character in string (escape it)");
      ++p_;
      if (p_ >= end_)
        return fail("unterminated escape");
      char e = *p_++;
      switch (e) {
      case '"':
        s += '"';
        break;
      case '\\':
        s += '\\';
        break;
      case '/':
        s += '/';
        break;
      case 'b':
        s += '\b';
        break;
      case 'f':
        s += '\f';
        break;
      case 'n':
        s += '\n';
        break;
      case 'r':
        s += '\r';
        break;
      case 't':
        s += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xdc00 && cp <= 0xdfff)
          return fail("lone low surrogate in \\u escape");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t lo;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
            return fail("high surrogate not followed by a low surrogate");
          p_ += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xdc00 || lo > 0xdfff)
            return fail("high surrogate not followed by a low surrogate");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        put_utf8(s, cp);
        break;
      }
      default:
        --p_;
        return fail("invalid escape in string");
      }
    }
  }

  bool digits() {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
      ++p_;
    return p_ > start;
  }

  bool parse_number(value& out) {
    const char* start = p_;
    bool integral = true;
    if (*p_ == '-')
      ++p_;
    if (p_ < end_ && *p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return fail("invalid number");
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      integral = false;
      if (!digits())
        return fail("invalid number: digits expected after '.'");
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      integral = false;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-'))
        ++p_;
      if (!digits())
        return fail("invalid number: digits expected in exponent");
    }
    if (integral) {
      int64_t i;
      auto [ptr, ec] = std::from_chars(start, p_, i);
      if (ec == std::errc{} && ptr == p_) {
        out = value{i};
        return true;
      }
      // Too large for int64: fall through to a real, as JSON parsers conventionally do.
    }
    double d;
    auto [ptr, ec] = std::from_chars(start, p_, d);
    if (ec == std::errc::result_out_of_range) {
      // from_chars reports underflow and overflow alike; strtod tells them apart.
      std::string copy{start, p_};
      errno = 0;
      d = std::strtod(copy.c_str(), nullptr);
      if (std::isinf(d)) {
        p_ = start;
        return fail("number out of range");
      }
    } else if (ec != std::errc{} || ptr != p_) {
      p_ = start;
      return fail("invalid number");
    }
    out = value{d};
    return true;
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  const json_limits& limits_;
  std::string what_;
  const char* err_at_ = nullptr;
  bool too_deep_ = false;
  size_t values_ = 0;
  bool too_many_ = false;
};

} // namespace

caf::expected<value> parse_json(std::string_view text, const json_limits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error(errc::too_large, "JSON text of " + std::to_string(text.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(limits.max_bytes));
  value out;
  parser p{text, limits};
  if (auto err = p.run(out))
    return err;
  return out;
}

// -- writing -----------------------------------------------------------------------------------

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_escaped_valid(std::string& out, std::string_view s) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    switch (c) {
    case '"':
      esc = "\\\"";
      break;
    case '\\':
      esc = "\\\\";
      break;
    case '\n':
      esc = "\\n";
      break;
    case '\r':
      esc = "\\r";
      break;
    case '\t':
      esc = "\\t";
      break;
    case '\b':
      esc = "\\b";
      break;
    case '\f':
      esc = "\\f";
      break;
    default:
      if (c >= 0x20)
        continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (esc != nullptr) {
      out += esc;
    } else {
      out += "\\u00";
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
}

// Replaces each byte that does not start a valid UTF-8 sequence by U+FFFD.
std::string repair_utf8(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t n = 1;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xc2 && c <= 0xdf)
      n = 2;
    else if (c >= 0xe0 && c <= 0xef)
      n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
      n = 4;
    if (c < 0x80 || (i + n <= s.size() && valid_utf8(s.substr(i, n)) && n > 1)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

void append_real(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view txt{buf, static_cast<size_t>(ptr - buf)};
  out += txt;
  if (txt.find_first_of(".e") == std::string_view::npos)
    out += ".0";
}

void write(std::string& out, const value& x, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent > 0) {
      out += '\n';
      out.append(static_cast<size_t>(indent * lvl), ' ');
    }
  };
  switch (x.type()) {
  case kind::null:
    out += "null";
    return;
  case kind::boolean:
    out += x.as_bool() ? "true" : "false";
    return;
  case kind::integer: {
    char buf[24];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, x.as_int());
    out.append(buf, ptr);
    return;
  }
  case kind::real:
    append_real(out, x.as_double());
    return;
  case kind::string:
    append_json_string(out, x.as_string());
    return;
  case kind::array: {
    auto& xs = x.as_array();
    out += '[';
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i > 0)
        out += ',';
      newline(level + 1);
      write(out, xs[i], indent, level + 1);
    }
    if (!xs.empty())
      newline(level);
    out += ']';
    return;
  }
  case kind::object: {
    auto& obj = x.as_object();
    out += '{';
    bool first = true;
    for (auto& [k, v] : obj) {
      if (!first)
        out += ',';
      first = false;
      newline(level + 1);
      append_json_string(out, k);
      out += indent > 0 ? ": " : ":";
      write(out, v, indent, level + 1);
    }
    if (!obj.empty())
      newline(level);
    out += '}';
    return;
  }
  }
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  if (valid_utf8(s))
    append_escaped_valid(out, s);
  else
    append_escaped_valid(out, repair_utf8(s));
  out += '"';
}

void append_json(std::string& out, const value& x) {
  write(out, x, 0, 0);
}

std::string to_json(const value& x) {
  std::string out;
  append_json(out, x);
  return out;
}

std::string to_json_pretty(const value& x, int indent) {
  std::string out;
  write(out, x, indent, 0);
  return out;
}

} // namespace debros
