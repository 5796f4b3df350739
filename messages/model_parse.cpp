// parse_model: reading the JSON form of a model definition (API.md "Models").
#include "messages/model.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <regex>

#include "messages/model_names.hpp"
#include "messages/model_rules.hpp"
#include "messages/names.hpp"
#include "messages/query_detail.hpp"

namespace debros {

using detail::access_names;
using detail::check_rules;
using detail::compile_pattern;
using detail::field_type_names;
using detail::invalid;
using detail::is_finite_deep;
using detail::normalize_date;
using detail::pin_strategy_names;
using detail::read_names;
using detail::relation_type_names;
using detail::scope_names;
using detail::shard_strategy_names;
using detail::store_type_names;
using detail::transform_names;
using detail::type_matches;
using detail::type_phrase;

namespace {

constexpr std::string_view event_names[] = {"create", "update", "delete"};

// -- paths --------------------------------------------------------------------------------------

std::string join_path(std::string_view prefix, std::string_view key) {
  std::string path{prefix};
  if (!path.empty())
    path += '.';
  path += key;
  return path;
}

std::string index_path(std::string_view prefix, size_t i) {
  return std::string{prefix} + '[' + std::to_string(i) + ']';
}

std::string quoted(std::string_view s) {
  return "'" + std::string{s} + "'";
}

// -- reading the JSON definition ----------------------------------------------------------------

caf::error check_keys(const object& obj, std::string_view path,
                      std::initializer_list<std::string_view> allowed, std::string_view label) {
  for (auto& m : obj)
    if (std::find(allowed.begin(), allowed.end(), m.first) == allowed.end())
      return invalid(join_path(path, m.first), label);
  return caf::none;
}

// The object at `path`, nullptr when absent; an error when present but not an object.
caf::expected<const object*> section(const value* v, std::string_view path) {
  if (v == nullptr)
    return static_cast<const object*>(nullptr);
  if (!v->is_object())
    return invalid(path, "must be an object");
  return &v->as_object();
}

caf::error read_bool(const value& v, std::string_view path, bool& out) {
  if (!v.is_bool())
    return invalid(path, "must be a boolean");
  out = v.as_bool();
  return caf::none;
}

caf::error read_string(const value& v, std::string_view path, std::string& out) {
  if (!v.is_string())
    return invalid(path, "must be a string");
  if (v.as_string().empty())
    return invalid(path, "must not be empty");
  out = v.as_string();
  return caf::none;
}

caf::error read_number(const value& v, std::string_view path, std::optional<double>& out) {
  if (!v.is_number() || !std::isfinite(v.as_double()))
    return invalid(path, "must be a number");
  out = v.as_double();
  return caf::none;
}

// An integer in [lo, hi]; an integral real (4.0) counts as an integer.
caf::error read_int(const value& v, std::string_view path, int64_t lo, int64_t hi, int64_t& out) {
  value x = v;
  normalize_date(x);
  if (!x.is_int())
    return invalid(path, "must be an integer");
  if (x.as_int() < lo)
    return invalid(path, "must be at least " + std::to_string(lo));
  if (x.as_int() > hi)
    return invalid(path, "must be at most " + std::to_string(hi));
  out = x.as_int();
  return caf::none;
}

template <class E, size_t N>
caf::error read_enum(const value& v, std::string_view path, const std::string_view (&names)[N],
                     std::string_view label, E& out, size_t first = 0) {
  if (!v.is_string())
    return invalid(path, "must be a string");
  for (size_t i = first; i < N; ++i) {
    if (names[i] == v.as_string()) {
      out = static_cast<E>(i);
      return caf::none;
    }
  }
  return invalid(path, "unknown " + std::string{label} + " " + quoted(v.as_string()));
}

caf::error read_u32(const object& obj, std::string_view key, std::string_view path, int64_t lo,
                    int64_t hi, uint32_t& out) {
  const value* v = obj.find(key);
  if (v == nullptr)
    return caf::none;
  int64_t x = 0;
  if (auto err = read_int(*v, join_path(path, key), lo, hi, x))
    return err;
  out = static_cast<uint32_t>(x);
  return caf::none;
}

// -- fields -------------------------------------------------------------------------------------

caf::error parse_index(const value& v, std::string_view path, index_kind& out) {
  if (v.is_bool()) {
    out = v.as_bool() ? index_kind::local : index_kind::none;
    return caf::none;
  }
  if (v.is_string() && v.as_string() == "global") {
    out = index_kind::global;
    return caf::none;
  }
  return invalid(path, "must be true, false or \"global\"");
}

caf::error parse_limits(const object& obj, std::string_view path, field_def& f) {
  bool numeric = f.type == field_type::number || f.type == field_type::date;
  bool sized = f.type == field_type::string || f.type == field_type::array;
  for (auto [key, slot] : {std::pair{"min", &f.min}, {"max", &f.max}}) {
    const value* v = obj.find(key);
    if (v == nullptr)
      continue;
    auto at = join_path(path, key);
    if (!numeric)
      return invalid(at, "only for number and date fields");
    if (auto err = read_number(*v, at, *slot))
      return err;
  }
  if (f.min && f.max && *f.min > *f.max)
    return invalid(join_path(path, "min"), "must not be greater than max");
  for (auto [key, slot] : {std::pair{"minLength", &f.min_length}, {"maxLength", &f.max_length}}) {
    const value* v = obj.find(key);
    if (v == nullptr)
      continue;
    auto at = join_path(path, key);
    if (!sized)
      return invalid(at, "only for string and array fields");
    int64_t n = 0;
    if (auto err = read_int(*v, at, 0, std::numeric_limits<int64_t>::max(), n))
      return err;
    *slot = n;
  }
  if (f.min_length && f.max_length && *f.min_length > *f.max_length)
    return invalid(join_path(path, "minLength"), "must not be greater than maxLength");
  return caf::none;
}

// Reads `pattern` and `transform`; `rx` receives the compiled pattern for checking the default.
caf::error parse_text_rules(const object& obj, std::string_view path, field_def& f,
                            std::optional<std::regex>& rx) {
  if (const value* v = obj.find("pattern")) {
    auto at = join_path(path, "pattern");
    if (f.type != field_type::string)
      return invalid(at, "only for string fields");
    if (auto err = read_string(*v, at, f.pattern))
      return err;
    auto compiled = compile_pattern(at, f.pattern);
    if (!compiled)
      return std::move(compiled.error());
    rx = std::move(*compiled);
  }
  if (const value* v = obj.find("transform")) {
    auto at = join_path(path, "transform");
    if (f.type != field_type::string)
      return invalid(at, "only for string fields");
    return read_enum(*v, at, transform_names, "transform", f.transform, 1);
  }
  return caf::none;
}

caf::error parse_enum_values(const object& obj, std::string_view path, field_def& f) {
  const value* v = obj.find("enum");
  if (v == nullptr)
    return caf::none;
  auto at = join_path(path, "enum");
  if (!v->is_array())
    return invalid(at, "must be an array");
  if (v->as_array().empty())
    return invalid(at, "must not be empty");
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    value x = v->as_array()[i];
    if (f.type == field_type::date)
      normalize_date(x);
    if (!type_matches(f.type, x) || !is_finite_deep(x))
      return invalid(index_path(at, i), "must be " + std::string{type_phrase(f.type)});
    f.enum_values.push_back(std::move(x));
  }
  return caf::none;
}

// A default is stored in documents as if written by the client: it is kept transformed (so that
// normalizing a document twice changes nothing) and must pass the field's own rules.
caf::error parse_default(const object& obj, std::string_view path, field_def& f,
                         const std::optional<std::regex>& rx) {
  const value* v = obj.find("default");
  if (v == nullptr)
    return caf::none;
  auto at = join_path(path, "default");
  value x = *v;
  if (f.type == field_type::date)
    normalize_date(x);
  if (x.is_string())
    detail::apply_transform_in_place(f.transform, x.as_string());
  if (!is_finite_deep(x))
    return invalid(at, "must hold only finite numbers");
  std::vector<error_detail> failures;
  check_rules(f, x, rx ? &*rx : nullptr, failures);
  if (!failures.empty())
    return invalid(at, failures.front().message);
  f.default_value = std::move(x);
  return caf::none;
}

caf::error parse_field(const value& rules, std::string_view path, field_def& f) {
  if (!rules.is_object())
    return invalid(path, "must be an object");
  auto& obj = rules.as_object();
  if (auto err = check_keys(obj, path,
                            {"type", "required", "unique", "index", "default", "min", "max",
                             "minLength", "maxLength", "pattern", "enum", "transform"},
                            "unknown rule"))
    return err;
  const value* type = obj.find("type");
  if (type == nullptr)
    return invalid(join_path(path, "type"), "required");
  if (auto err = read_enum(*type, join_path(path, "type"), field_type_names, "field type", f.type))
    return err;
  if (auto v = obj.find("required"))
    if (auto err = read_bool(*v, join_path(path, "required"), f.required))
      return err;
  if (auto v = obj.find("unique"))
    if (auto err = read_bool(*v, join_path(path, "unique"), f.unique))
      return err;
  if (auto v = obj.find("index"))
    if (auto err = parse_index(*v, join_path(path, "index"), f.index))
      return err;
  if (auto err = parse_limits(obj, path, f))
    return err;
  std::optional<std::regex> rx;
  if (auto err = parse_text_rules(obj, path, f, rx))
    return err;
  if (auto err = parse_enum_values(obj, path, f))
    return err;
  return parse_default(obj, path, f, rx);
}

caf::error parse_fields(const value* v, model_def& def) {
  auto obj = section(v, "fields");
  if (!obj)
    return std::move(obj.error());
  if (*obj == nullptr)
    return caf::none;
  bool user = def.scope == model_scope::user;
  // Every model is described in full by GET /v1/models and checked on every write: bounded.
  if ((*obj)->size() > model_fields_max)
    return invalid("fields", "a model has at most " + std::to_string(model_fields_max) +
                                 " fields, not " + std::to_string((*obj)->size()));
  for (auto& [name, rules] : **obj) {
    if (name.empty())
      return invalid("fields", "a field name must not be empty");
    auto path = join_path("fields", name);
    // Queries address nested values by dotted paths: a dotted name could not be queried.
    if (name.find('.') != std::string::npos)
      return invalid(path, "must not contain '.'");
    // Not named in the path: the refused name may hold control characters.
    if (auto problem = name_problem(name_kind::field_name, name); !problem.empty())
      return invalid("fields", "a field name " + problem);
    if (is_system_field(name) && !(user && name == "userId"))
      return invalid(path, "is a system field and cannot be defined");
    field_def f;
    f.name = name;
    if (auto err = parse_field(rules, path, f))
      return err;
    if (name == "userId" && f.type != field_type::string)
      return invalid(join_path(path, "type"), "userId must be a string in a user-scoped model");
    def.fields.push_back(std::move(f));
  }
  return caf::none;
}

// -- sharding, pinning, pubsub ------------------------------------------------------------------

caf::error parse_bounds(const value& v, sharding_def& s) {
  constexpr std::string_view path = "sharding.bounds";
  if (!v.is_array())
    return invalid(path, "must be an array");
  auto& xs = v.as_array();
  // Empty bounds mean "by first letter", the same as no bounds.
  if (xs.empty())
    return caf::none;
  if (s.strategy != shard_strategy::range)
    return invalid(path, "only for strategy range");
  if (xs.size() != s.count - 1)
    return invalid(path, "must hold count-1 = " + std::to_string(s.count - 1) + " values");
  for (size_t i = 0; i < xs.size(); ++i) {
    bool scalar = xs[i].is_string() || (xs[i].is_number() && std::isfinite(xs[i].as_double()));
    if (!scalar)
      return invalid(index_path(path, i), "must be a string or a number");
    if (i > 0 && compare(xs[i - 1], xs[i]) >= 0)
      return invalid(index_path(path, i), "must be greater than the bound before it");
  }
  s.bounds = xs;
  return caf::none;
}

caf::error parse_sharding(const value* v, model_def& def) {
  auto obj = section(v, "sharding");
  if (!obj)
    return std::move(obj.error());
  auto& s = def.sharding;
  if (*obj == nullptr) {
    if (def.scope == model_scope::user)
      s.key = "userId";
    return caf::none;
  }
  auto& o = **obj;
  if (auto err = check_keys(o, "sharding", {"strategy", "count", "key", "bounds"}, "unknown key"))
    return err;
  if (auto x = o.find("strategy"))
    if (auto err = read_enum(*x, "sharding.strategy", shard_strategy_names, "sharding strategy",
                             s.strategy))
      return err;
  bool by_user = def.scope == model_scope::user || s.strategy == shard_strategy::user;
  s.key = by_user ? "userId" : "id";
  if (auto x = o.find("key"))
    if (auto err = read_string(*x, "sharding.key", s.key))
      return err;
  // The key is known when the document is placed: its id, its owner, or a field it holds (a
  // dotted path reaches into an object field). createdAt and updatedAt are set after placing.
  auto top = s.key.substr(0, s.key.find('.'));
  if (top != "id" && top != "userId" && def.find_field(top) == nullptr)
    return invalid("sharding.key",
                   "must be id, userId or a field of the model, not " + quoted(s.key));
  if (auto err = read_u32(o, "count", "sharding", 1, 1024, s.count))
    return err;
  if (auto x = o.find("bounds"))
    return parse_bounds(*x, s);
  return caf::none;
}

caf::error parse_pinning(const value* v, pinning_def& p) {
  auto obj = section(v, "pinning");
  if (!obj)
    return std::move(obj.error());
  if (*obj == nullptr)
    return caf::none;
  if (auto err = check_keys(**obj, "pinning", {"strategy", "factor"}, "unknown key"))
    return err;
  if (auto x = (*obj)->find("strategy"))
    if (auto err =
            read_enum(*x, "pinning.strategy", pin_strategy_names, "pinning strategy", p.strategy))
      return err;
  return read_u32(**obj, "factor", "pinning", 1, 1024, p.factor);
}

caf::error read_string_list(const value* v, std::string_view path, std::vector<std::string>& out) {
  if (v == nullptr)
    return caf::none;
  if (!v->is_array())
    return invalid(path, "must be an array");
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    auto at = index_path(path, i);
    std::string s;
    if (auto err = read_string(v->as_array()[i], at, s))
      return err;
    if (std::find(out.begin(), out.end(), s) != out.end())
      return invalid(at, "duplicate " + quoted(s));
    out.push_back(std::move(s));
  }
  return caf::none;
}

caf::error parse_pubsub(const value* v, pubsub_def& p) {
  auto obj = section(v, "pubsub");
  if (!obj)
    return std::move(obj.error());
  if (*obj == nullptr)
    return caf::none;
  if (auto err = check_keys(**obj, "pubsub", {"events", "channels"}, "unknown key"))
    return err;
  if (auto err = read_string_list((*obj)->find("events"), "pubsub.events", p.events))
    return err;
  for (size_t i = 0; i < p.events.size(); ++i) {
    auto& e = p.events[i];
    if (std::find(std::begin(event_names), std::end(event_names), e) == std::end(event_names))
      return invalid(index_path("pubsub.events", i),
                     "unknown event " + quoted(e) + " (create, update or delete)");
  }
  return read_string_list((*obj)->find("channels"), "pubsub.channels", p.channels);
}

// -- relationships ------------------------------------------------------------------------------

// Reads the string member `key`; when absent, refuses if `required`.
caf::error read_member(const object& obj, std::string_view key, std::string_view path,
                       bool required, std::string& out) {
  auto at = join_path(path, key);
  const value* v = obj.find(key);
  if (v == nullptr)
    return required ? invalid(at, "required") : caf::none;
  return read_string(*v, at, out);
}

caf::error check_model_name(std::string_view path, const std::string& name) {
  if (valid_model_name(name))
    return caf::none;
  return invalid(path, "invalid model name " + quoted(name));
}

// orderBy: [[field, "asc"|"desc"], ...] and limit >= 0, for relations with several related
// documents (a belongsTo has one).
caf::error parse_relation_order(const object& obj, std::string_view path, relation_def& r) {
  for (auto key : {"orderBy", "limit"})
    if (r.type == relation_type::belongs_to && obj.contains(key))
      return invalid(join_path(path, key), "not for belongsTo");
  if (auto* o = obj.find("orderBy")) {
    auto at = join_path(path, "orderBy");
    if (!o->is_array())
      return invalid(at, "must be an array of [field, direction]");
    for (size_t i = 0; i < o->as_array().size(); ++i) {
      auto& k = o->as_array()[i];
      auto* pair = k.is_array() ? &k.as_array() : nullptr;
      if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
          (*pair)[0].as_string().empty() || !(*pair)[1].is_string() ||
          ((*pair)[1].as_string() != "asc" && (*pair)[1].as_string() != "desc"))
        return invalid(at, "entries are [field, \"asc\" or \"desc\"]");
      // Relations load through queries: a path check_query refuses would fail every load.
      auto& field = (*pair)[0].as_string();
      if (!detail::valid_path(field))
        return invalid(index_path(at, i), "invalid field path " + quoted(field));
      r.order_by.emplace_back(field, (*pair)[1].as_string() == "desc");
    }
  }
  if (auto* l = obj.find("limit"))
    if (auto err = read_int(*l, join_path(path, "limit"), 0, 10000, r.limit))
      return err;
  return caf::none;
}

caf::error parse_relation(const value& body, std::string_view path, relation_def& r) {
  if (!body.is_object())
    return invalid(path, "must be an object");
  auto& obj = body.as_object();
  if (auto err = check_keys(
          obj, path, {"type", "model", "foreignKey", "through", "otherKey", "orderBy", "limit"},
          "unknown key"))
    return err;
  const value* type = obj.find("type");
  if (type == nullptr)
    return invalid(join_path(path, "type"), "required");
  if (auto err = read_enum(*type, join_path(path, "type"), relation_type_names, "relationship type",
                           r.type))
    return err;
  bool m2m = r.type == relation_type::many_to_many;
  if (auto err = read_member(obj, "model", path, true, r.model))
    return err;
  if (auto err = check_model_name(join_path(path, "model"), r.model))
    return err;
  if (auto err = read_member(obj, "foreignKey", path, true, r.foreign_key))
    return err;
  for (auto key : {"through", "otherKey"})
    if (!m2m && obj.contains(key))
      return invalid(join_path(path, key), "only for manyToMany");
  if (auto err = parse_relation_order(obj, path, r))
    return err;
  if (!m2m)
    return caf::none;
  if (auto err = read_member(obj, "through", path, true, r.through))
    return err;
  if (auto err = check_model_name(join_path(path, "through"), r.through))
    return err;
  return read_member(obj, "otherKey", path, true, r.other_key);
}

caf::error parse_relationships(const value* v, model_def& def) {
  auto obj = section(v, "relationships");
  if (!obj)
    return std::move(obj.error());
  if (*obj == nullptr)
    return caf::none;
  if ((*obj)->size() > model_fields_max)
    return invalid("relationships", "a model has at most " + std::to_string(model_fields_max) +
                                        " relationships, not " + std::to_string((*obj)->size()));
  for (auto& [name, body] : **obj) {
    if (auto problem = name_problem(name_kind::field_name, name); !problem.empty())
      return invalid("relationships", "a relationship name " + problem);
    relation_def r;
    r.name = name;
    if (auto err = parse_relation(body, join_path("relationships", name), r))
      return err;
    def.relationships.push_back(std::move(r));
  }
  return caf::none;
}

caf::error parse_header(const object& obj, model_def& def) {
  if (auto v = obj.find("name")) {
    if (!v->is_string())
      return invalid("name", "must be a string");
    if (v->as_string() != def.name)
      return invalid("name", "must equal the model name " + quoted(def.name));
  }
  if (auto v = obj.find("scope"))
    if (auto err = read_enum(*v, "scope", scope_names, "scope", def.scope))
      return err;
  if (auto v = obj.find("type"))
    if (auto err = read_enum(*v, "type", store_type_names, "store type", def.type))
      return err;
  if (auto v = obj.find("access"))
    if (auto err = read_enum(*v, "access", access_names, "access", def.access))
      return err;
  if (auto v = obj.find("read"))
    if (auto err = read_enum(*v, "read", read_names, "read policy", def.read))
      return err;
  return read_u32(obj, "version", "", 1, std::numeric_limits<uint32_t>::max(), def.version);
}

} // namespace

caf::expected<model_def> parse_model(std::string_view name, const value& json) {
  if (!valid_model_name(name))
    return make_error(errc::invalid_argument,
                      "invalid model name " + quoted(name) +
                          ": use 1 to 64 letters, digits, '_' or '-', starting with a letter");
  if (!json.is_object())
    return make_error(errc::invalid_argument, "a model definition must be a JSON object");
  auto& obj = json.as_object();
  if (auto err = check_keys(obj, "",
                            {"name", "scope", "type", "fields", "sharding", "pinning", "pubsub",
                             "relationships", "version", "access", "read"},
                            "unknown key"))
    return err;
  model_def def;
  def.name = std::string{name};
  if (auto err = parse_header(obj, def))
    return err;
  if (auto err = parse_fields(obj.find("fields"), def))
    return err;
  if (auto err = parse_sharding(obj.find("sharding"), def))
    return err;
  if (auto err = parse_pinning(obj.find("pinning"), def.pinning))
    return err;
  if (auto err = parse_pubsub(obj.find("pubsub"), def.pubsub))
    return err;
  if (auto err = parse_relationships(obj.find("relationships"), def))
    return err;
  return def;
}

} // namespace debros
