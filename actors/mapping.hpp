// Mapping between documents and an embedder's own C++ structs.
//
//   struct post { std::string id; std::string title; int64_t views = 0; };
//   auto post_mapping = debros::mapping<post>{}
//     .field("id", &post::id).field("title", &post::title).field("views", &post::views);
//   auto p = posts.get_as(id, post_mapping);                  // caf::expected<post>
//
// Supported member types: std::string, bool, integers, floating point, debros::value,
// std::vector<E> and std::optional<E> of supported E. A missing or null field leaves the
// member as default-constructed; a field of the wrong type is an invalid_argument error naming
// it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "caf/expected.hpp"

#include "messages/errc.hpp"
#include "messages/value.hpp"

namespace debros {

template <class M, class = void>
struct field_codec;

template <>
struct field_codec<std::string> {
  static bool read(const value& v, std::string& out) {
    if (!v.is_string())
      return false;
    out = v.as_string();
    return true;
  }
  static value write(const std::string& x) { return value{x}; }
};

template <>
struct field_codec<bool> {
  static bool read(const value& v, bool& out) {
    if (!v.is_bool())
      return false;
    out = v.as_bool();
    return true;
  }
  static value write(bool x) { return value{x}; }
};

template <class M>
struct field_codec<M, std::enable_if_t<std::is_integral_v<M> && !std::is_same_v<M, bool>>> {
  static bool read(const value& v, M& out) {
    if (v.is_int()) {
      out = static_cast<M>(v.as_int());
      return true;
    }
    if (v.is_double() &&
        v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
      out = static_cast<M>(v.as_double());
      return true;
    }
    return false;
  }
  static value write(M x) { return value{static_cast<int64_t>(x)}; }
};

template <class M>
struct field_codec<M, std::enable_if_t<std::is_floating_point_v<M>>> {
  static bool read(const value& v, M& out) {
    if (!v.is_number())
      return false;
    out = static_cast<M>(v.as_double());
    return true;
  }
  static value write(M x) { return value{static_cast<double>(x)}; }
};

template <>
struct field_codec<value> {
  static bool read(const value& v, value& out) {
    out = v;
    return true;
  }
  static value write(const value& x) { return x; }
};

template <class E>
struct field_codec<std::vector<E>> {
  static bool read(const value& v, std::vector<E>& out) {
    if (!v.is_array())
      return false;
    out.clear();
    for (auto& x : v.as_array()) {
      E e{};
      if (!field_codec<E>::read(x, e))
        return false;
      out.push_back(std::move(e));
    }
    return true;
  }
  static value write(const std::vector<E>& xs) {
    array out;
    for (auto& x : xs)
      out.push_back(field_codec<E>::write(x));
    return value{std::move(out)};
  }
};

template <class E>
struct field_codec<std::optional<E>> {
  static bool read(const value& v, std::optional<E>& out) {
    E e{};
    if (!field_codec<E>::read(v, e))
      return false;
    out = std::move(e);
    return true;
  }
  static value write(const std::optional<E>& x) { return x ? field_codec<E>::write(*x) : value{}; }
};

template <class T>
class mapping {
public:
  /// Maps document field `name` to `member`.
  template <class M>
  mapping& field(std::string name, M T::*member) {
    entries_.push_back(entry{
        name,
        [member](const value& v, T& out) { return field_codec<M>::read(v, out.*member); },
        [member](const T& x) { return field_codec<M>::write(x.*member); },
    });
    return *this;
  }

  /// The struct of a document. Errors: invalid_argument naming a field of the wrong type.
  caf::expected<T> from(const value& doc) const {
    T out{};
    for (auto& e : entries_) {
      auto* v = doc.find(e.name);
      if (v == nullptr || v->is_null())
        continue;
      if (!e.read(*v, out))
        return make_error(errc::invalid_argument,
                          "field " + e.name + " does not fit the mapped C++ member");
    }
    return out;
  }

  /// The document fields of a struct (an empty optional becomes null: omit it for creates).
  value to(const T& x) const {
    object obj;
    for (auto& e : entries_) {
      auto v = e.write(x);
      if (!v.is_null())
        obj.set(e.name, std::move(v));
    }
    return value{std::move(obj)};
  }

private:
  struct entry {
    std::string name;
    std::function<bool(const value&, T&)> read;
    std::function<value(const T&)> write;
  };
  std::vector<entry> entries_;
};

} // namespace debros
