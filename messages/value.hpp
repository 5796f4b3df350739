// The document value: a JSON-like tree (null, bool, int64, double, string, array, object).
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace debros {

class value;

/// An ordered sequence of values.
using array = std::vector<value>;

/// A JSON object whose members keep their insertion order. Keys are unique; lookups are linear,
/// which beats hashing for the small objects documents are made of.
class object {
public:
  using member = std::pair<std::string, value>;
  using iterator = std::vector<member>::iterator;
  using const_iterator = std::vector<member>::const_iterator;

  object() = default;
  object(std::initializer_list<member> members);

  /// The member named `key`, or nullptr.
  value* find(std::string_view key) noexcept;
  const value* find(std::string_view key) const noexcept;

  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  /// Sets `key` to `x`, appending it if it is new. Returns the stored value.
  value& set(std::string key, value x);

  /// The member named `key`, appended as null if it is new.
  value& operator[](std::string_view key);

  /// Removes `key`. Returns whether it was present.
  bool erase(std::string_view key);

  /// Appends without checking for an existing key. For decoders that have checked already.
  void append_unchecked(std::string key, value x);

  // Defined below `value`: clang instantiates vector<member>'s members where they are used,
  // and `member` needs a complete `value`.
  size_t size() const noexcept;
  bool empty() const noexcept;
  void reserve(size_t n);
  iterator begin() noexcept;
  iterator end() noexcept;
  const_iterator begin() const noexcept;
  const_iterator end() const noexcept;

  friend bool operator==(const object& a, const object& b);

private:
  std::vector<member> members_;
};

/// The kind of a value. `integer` and `real` are both JSON numbers: they compare by numeric value.
enum class kind : uint8_t { null, boolean, integer, real, string, array, object };

std::string_view to_string(kind k) noexcept;

/// A document value. Copyable, movable, compared structurally (numbers by numeric value).
class value {
public:
  value() noexcept = default;
  value(std::nullptr_t) noexcept {}
  value(bool x) noexcept : data_(x) {}
  template <class T, class = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  value(T x) noexcept : data_(static_cast<int64_t>(x)) {}
  value(double x) noexcept : data_(x) {}
  value(std::string x) noexcept : data_(std::move(x)) {}
  value(std::string_view x) : data_(std::string{x}) {}
  value(const char* x) : data_(std::string{x}) {}
  value(array x) noexcept : data_(std::move(x)) {}
  value(object x) noexcept : data_(std::move(x)) {}

  kind type() const noexcept { return static_cast<kind>(data_.index()); }
  bool is_null() const noexcept { return type() == kind::null; }
  bool is_bool() const noexcept { return type() == kind::boolean; }
  bool is_int() const noexcept { return type() == kind::integer; }
  bool is_double() const noexcept { return type() == kind::real; }
  bool is_number() const noexcept { return is_int() || is_double(); }
  bool is_string() const noexcept { return type() == kind::string; }
  bool is_array() const noexcept { return type() == kind::array; }
  bool is_object() const noexcept { return type() == kind::object; }

  /// Accessors. Precondition: the value has that kind. A wrong kind is a programming error and
  /// throws std::bad_variant_access; they are deliberately not noexcept, so the error reaches
  /// whoever guards the call (an embedder's validator or hook) instead of std::terminate.
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  /// The numeric value of an integer or real.
  double as_double() const {
    return is_int() ? static_cast<double>(std::get<int64_t>(data_)) : std::get<double>(data_);
  }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  std::string& as_string() { return std::get<std::string>(data_); }
  const array& as_array() const { return std::get<array>(data_); }
  array& as_array() { return std::get<array>(data_); }
  const object& as_object() const { return std::get<object>(data_); }
  object& as_object() { return std::get<object>(data_); }

  /// The member `key` of an object; nullptr if this is not an object or has no such member.
  const value* find(std::string_view key) const noexcept;
  value* find(std::string_view key) noexcept;

  /// Follows a dotted path ("profile.city") through nested objects; nullptr when any step is
  /// missing or not an object.
  const value* find_path(std::string_view dotted) const noexcept;

  friend bool operator==(const value& a, const value& b) noexcept;

private:
  // The index order matches `kind`.
  std::variant<std::monostate, bool, int64_t, double, std::string, array, object> data_;
};

inline size_t object::size() const noexcept {
  return members_.size();
}
inline bool object::empty() const noexcept {
  return members_.empty();
}
inline void object::reserve(size_t n) {
  members_.reserve(n);
}
inline object::iterator object::begin() noexcept {
  return members_.begin();
}
inline object::iterator object::end() noexcept {
  return members_.end();
}
inline object::const_iterator object::begin() const noexcept {
  return members_.begin();
}
inline object::const_iterator object::end() const noexcept {
  return members_.end();
}

/// Total order over all values, the same order the storage key encoding produces:
/// null < false < true < numbers (by numeric value, integers and reals mixed, exactly) < strings
/// (bytewise) < arrays (element-wise) < objects (member by member in stored order, key then
/// value). Equality (operator==) ignores member order, so two objects that are == may compare
/// unequal here; documents never use objects as sort keys.
/// Returns <0, 0 or >0.
int compare(const value& a, const value& b) noexcept;

/// Exact comparison of an integer with a real (no rounding of the integer). NaN is greater than
/// every integer.
int compare_int_double(int64_t i, double d) noexcept;

/// The numeric order of `compare` and `==`, the one place it is written: integers and reals
/// compare exactly (an integer is never rounded to a double), NaN sorts after every number and
/// equals itself so the order stays total. Returns <0, 0 or >0. One overload per pairing, for
/// callers holding raw numbers (the query evaluator reads them from msgpack in place).
inline int compare_numbers(int64_t a, int64_t b) noexcept {
  return a < b ? -1 : (a > b ? 1 : 0);
}
inline int compare_numbers(int64_t a, double b) noexcept {
  return compare_int_double(a, b);
}
inline int compare_numbers(double a, int64_t b) noexcept {
  return -compare_int_double(b, a);
}
inline int compare_numbers(double a, double b) noexcept {
  bool nan_a = std::isnan(a);
  bool nan_b = std::isnan(b);
  if (nan_a || nan_b)
    return nan_a == nan_b ? 0 : (nan_a ? 1 : -1);
  return a < b ? -1 : (a > b ? 1 : 0);
}
/// The same for two values that are numbers (precondition: is_number() on both).
int compare_numbers(const value& a, const value& b) noexcept;

/// The value category used by "comparisons between different types never match": integers
/// and reals share one category (number).
int type_rank(const value& x) noexcept;
/// The same rank for a kind (integer and real share one).
int type_rank(kind k) noexcept;

// -- inline definitions that need `value` complete --------------------------------------------

inline object::object(std::initializer_list<member> members) : members_(members) {}

inline value* object::find(std::string_view key) noexcept {
  for (auto& m : members_)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

inline const value* object::find(std::string_view key) const noexcept {
  for (auto& m : members_)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

inline void object::append_unchecked(std::string key, value x) {
  members_.emplace_back(std::move(key), std::move(x));
}

inline const value* value::find(std::string_view key) const noexcept {
  return is_object() ? as_object().find(key) : nullptr;
}

inline value* value::find(std::string_view key) noexcept {
  return is_object() ? as_object().find(key) : nullptr;
}

} // namespace debros
