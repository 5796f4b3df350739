// Model definitions: the names of their enums, lookups and the canonical value form. Parsing
// the JSON form is in model_parse.cpp.
#include "messages/model.hpp"
#include "messages/names.hpp"

#include <algorithm>
#include <cmath>

#include "messages/model_names.hpp"

namespace debros {

using detail::access_names;
using detail::field_type_names;
using detail::pin_strategy_names;
using detail::read_names;
using detail::relation_type_names;
using detail::scope_names;
using detail::shard_strategy_names;
using detail::store_type_names;
using detail::transform_names;

namespace {

// -- names --------------------------------------------------------------------------------------

template <size_t N, class E>
std::string_view name_of(const std::string_view (&names)[N], E x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < N ? names[i] : std::string_view{"unknown"};
}

// -- canonical value ----------------------------------------------------------------------------

// Integral bounds read back the same as integers, and print as people wrote them ("min": 0).
value number_value(double x) {
  constexpr double exact = 9007199254740992.0; // 2^53
  if (x == std::trunc(x) && std::fabs(x) < exact)
    return value{static_cast<int64_t>(x)};
  return value{x};
}

value index_value(index_kind k) {
  if (k == index_kind::global)
    return value{"global"};
  return value{k == index_kind::local};
}

value to_value(const field_def& f) {
  object o{{"type", value{to_string(f.type)}},
           {"required", f.required},
           {"unique", f.unique},
           {"index", index_value(f.index)}};
  if (f.default_value)
    o.set("default", *f.default_value);
  if (f.min)
    o.set("min", number_value(*f.min));
  if (f.max)
    o.set("max", number_value(*f.max));
  if (f.min_length)
    o.set("minLength", *f.min_length);
  if (f.max_length)
    o.set("maxLength", *f.max_length);
  if (!f.pattern.empty())
    o.set("pattern", f.pattern);
  if (!f.enum_values.empty())
    o.set("enum", value{f.enum_values});
  if (f.transform != text_transform::none)
    o.set("transform", value{to_string(f.transform)});
  return value{std::move(o)};
}

value to_value(const relation_def& r) {
  object o{{"type", value{to_string(r.type)}}, {"model", r.model}, {"foreignKey", r.foreign_key}};
  if (r.type == relation_type::many_to_many) {
    o.set("through", r.through);
    o.set("otherKey", r.other_key);
  }
  if (!r.order_by.empty()) {
    array keys;
    for (auto& [field, desc] : r.order_by)
      keys.emplace_back(array{field, desc ? "desc" : "asc"});
    o.set("orderBy", std::move(keys));
  }
  if (r.limit > 0)
    o.set("limit", r.limit);
  return value{std::move(o)};
}

value string_array(const std::vector<std::string>& xs) {
  array out;
  for (auto& x : xs)
    out.emplace_back(x);
  return value{std::move(out)};
}

value to_value(const sharding_def& s) {
  object o{{"strategy", value{to_string(s.strategy)}}, {"count", s.count}, {"key", s.key}};
  if (!s.bounds.empty())
    o.set("bounds", value{s.bounds});
  return value{std::move(o)};
}

} // namespace

// -- names --------------------------------------------------------------------------------------

std::string_view to_string(field_type x) noexcept {
  return name_of(field_type_names, x);
}

std::string_view to_string(model_scope x) noexcept {
  return name_of(scope_names, x);
}

std::string_view to_string(write_access x) noexcept {
  return name_of(access_names, x);
}

std::string_view to_string(read_policy x) noexcept {
  return name_of(read_names, x);
}

std::string_view to_string(store_type x) noexcept {
  return name_of(store_type_names, x);
}

std::string_view to_string(shard_strategy x) noexcept {
  return name_of(shard_strategy_names, x);
}

std::string_view to_string(pin_strategy x) noexcept {
  return name_of(pin_strategy_names, x);
}

std::string_view to_string(relation_type x) noexcept {
  return name_of(relation_type_names, x);
}

std::string_view to_string(text_transform x) noexcept {
  return name_of(transform_names, x);
}

// -- model_def ----------------------------------------------------------------------------------

const field_def* model_def::find_field(std::string_view name) const noexcept {
  for (auto& f : fields)
    if (f.name == name)
      return &f;
  return nullptr;
}

const relation_def* model_def::find_relation(std::string_view name) const noexcept {
  for (auto& r : relationships)
    if (r.name == name)
      return &r;
  return nullptr;
}

bool is_system_field(std::string_view name) noexcept {
  return name == "id" || name == "createdAt" || name == "updatedAt" || name == "userId";
}

bool valid_model_name(std::string_view name) noexcept {
  return valid_name(name_kind::model_name, name);
}

value to_value(const model_def& def) {
  object fields;
  for (auto& f : def.fields)
    fields.set(f.name, to_value(f));
  object relationships;
  for (auto& r : def.relationships)
    relationships.set(r.name, to_value(r));
  object pinning{{"strategy", value{to_string(def.pinning.strategy)}},
                 {"factor", def.pinning.factor}};
  object pubsub{{"events", string_array(def.pubsub.events)},
                {"channels", string_array(def.pubsub.channels)}};
  return value{object{{"name", def.name},
                      {"scope", value{to_string(def.scope)}},
                      {"type", value{to_string(def.type)}},
                      {"fields", std::move(fields)},
                      {"sharding", to_value(def.sharding)},
                      {"pinning", std::move(pinning)},
                      {"pubsub", std::move(pubsub)},
                      {"relationships", std::move(relationships)},
                      {"version", def.version},
                      {"access", value{to_string(def.access)}},
                      {"read", value{to_string(def.read)}}}};
}

bool same_definition(const model_def& a, const model_def& b) {
  return to_value(a) == to_value(b);
}

} // namespace debros
