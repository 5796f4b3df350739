#include "messages/value.hpp"

#include <algorithm>
#include <cmath>

namespace debros {

std::string_view to_string(kind k) noexcept {
  switch (k) {
  case kind::null:
    return "null";
  case kind::boolean:
    return "boolean";
  case kind::integer:
    return "integer";
  case kind::real:
    return "number";
  case kind::string:
    return "string";
  case kind::array:
    return "array";
  case kind::object:
    return "object";
  }
  return "unknown";
}

value& object::set(std::string key, value x) {
  if (auto* v = find(key)) {
    *v = std::move(x);
    return *v;
  }
  members_.emplace_back(std::move(key), std::move(x));
  return members_.back().second;
}

value& object::operator[](std::string_view key) {
  if (auto* v = find(key))
    return *v;
  members_.emplace_back(std::string{key}, value{});
  return members_.back().second;
}

bool object::erase(std::string_view key) {
  auto i = std::find_if(members_.begin(), members_.end(),
                        [&](const member& m) { return m.first == key; });
  if (i == members_.end())
    return false;
  members_.erase(i);
  return true;
}

bool operator==(const object& a, const object& b) {
  // Objects are equal when they hold the same members; member order does not matter.
  if (a.size() != b.size())
    return false;
  for (auto& [k, v] : a) {
    auto* w = b.find(k);
    if (w == nullptr || !(v == *w))
      return false;
  }
  return true;
}

const value* value::find_path(std::string_view dotted) const noexcept {
  const value* cur = this;
  while (cur != nullptr) {
    auto dot = dotted.find('.');
    auto head = dotted.substr(0, dot);
    cur = cur->find(head);
    if (dot == std::string_view::npos)
      return cur;
    dotted.remove_prefix(dot + 1);
  }
  return nullptr;
}

int compare_int_double(int64_t i, double d) noexcept {
  if (std::isnan(d))
    return -1;
  // 2^63 as a double; every int64 is below it and at or above its negation.
  constexpr double two63 = 9223372036854775808.0;
  if (d >= two63)
    return -1;
  if (d < -two63)
    return 1;
  auto t = static_cast<int64_t>(d); // exact: |d| < 2^63, truncates toward zero
  if (i < t)
    return -1;
  if (i > t)
    return 1;
  auto frac = d - static_cast<double>(t);
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int type_rank(const value& x) noexcept {
  return type_rank(x.type());
}

int type_rank(kind k) noexcept {
  switch (k) {
  case kind::null:
    return 0;
  case kind::boolean:
    return 1;
  case kind::integer:
  case kind::real:
    return 2;
  case kind::string:
    return 3;
  case kind::array:
    return 4;
  case kind::object:
    return 5;
  }
  return 6;
}

int compare_numbers(const value& a, const value& b) noexcept {
  if (a.is_int())
    return b.is_int() ? compare_numbers(a.as_int(), b.as_int())
                      : compare_numbers(a.as_int(), b.as_double());
  return b.is_int() ? compare_numbers(a.as_double(), b.as_int())
                    : compare_numbers(a.as_double(), b.as_double());
}

int compare(const value& a, const value& b) noexcept {
  int ra = type_rank(a);
  int rb = type_rank(b);
  if (ra != rb)
    return ra < rb ? -1 : 1;
  switch (a.type()) {
  case kind::null:
    return 0;
  case kind::boolean:
    return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
  case kind::integer:
  case kind::real:
    return compare_numbers(a, b);
  case kind::string: {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  case kind::array: {
    auto& x = a.as_array();
    auto& y = b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (int c = compare(x[i], y[i]); c != 0)
        return c;
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  case kind::object: {
    auto& x = a.as_object();
    auto& y = b.as_object();
    auto i = x.begin();
    auto j = y.begin();
    for (; i != x.end() && j != y.end(); ++i, ++j) {
      int c = i->first.compare(j->first);
      if (c != 0)
        return c < 0 ? -1 : 1;
      if (int d = compare(i->second, j->second); d != 0)
        return d;
    }
    return i == x.end() ? (j == y.end() ? 0 : -1) : 1;
  }
  }
  return 0;
}

bool operator==(const value& a, const value& b) noexcept {
  if (a.is_number() && b.is_number())
    return compare_numbers(a, b) == 0;
  if (a.type() != b.type())
    return false;
  switch (a.type()) {
  case kind::null:
    return true;
  case kind::boolean:
    return a.as_bool() == b.as_bool();
  case kind::string:
    return a.as_string() == b.as_string();
  case kind::array:
    return a.as_array() == b.as_array();
  case kind::object:
    return a.as_object() == b.as_object();
  default:
    return false;
  }
}

} // namespace debros
