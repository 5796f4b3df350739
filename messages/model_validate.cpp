// compiled_model: validating and normalizing documents against a definition.
#include "messages/model.hpp"
#include "messages/names.hpp"

#include <algorithm>
#include <iterator>
#include <regex>

#include "messages/model_rules.hpp"

namespace debros {

using detail::apply_transform_in_place;
using detail::check_rules;
using detail::compile_pattern;
using detail::is_finite_deep;
using detail::normalize_date;

// One compiled pattern per field of the definition, in field order (nullopt: no pattern).
struct compiled_model::regexes {
  std::vector<std::optional<std::regex>> by_field;
};

namespace {

// -- validating documents -----------------------------------------------------------------------

// One pass, one lookup per field. A default is stored already transformed (parse_model), so
// only strings the client sent are transformed; dates are normalized whichever it was.
void normalize(const model_def& def, object& doc, write_mode mode) {
  for (auto& f : def.fields) {
    value* v = doc.find(f.name);
    if (v != nullptr) {
      if (v->is_string())
        apply_transform_in_place(f.transform, v->as_string());
    } else if (mode != write_mode::patch && f.default_value) {
      doc.append_unchecked(f.name, *f.default_value);
      v = &std::prev(doc.end())->second;
    }
    if (v != nullptr && f.type == field_type::date)
      normalize_date(*v);
  }
}

using regex_list = std::vector<std::optional<std::regex>>;

void check_fields(const model_def& def, const regex_list& rx, const object& doc,
                  std::vector<error_detail>& out) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    auto& f = def.fields[i];
    // A user-scoped model's own userId field: required and type are the system checks' job.
    bool user_id = def.scope == model_scope::user && f.name == "userId";
    const value* v = doc.find(f.name);
    if (v == nullptr || v->is_null()) {
      if (f.required && !user_id)
        out.push_back({f.name, f.name + " is required"});
      continue;
    }
    if (!is_finite_deep(*v)) {
      out.push_back({f.name, f.name + " must be a finite number"});
      continue;
    }
    if (user_id && !v->is_string())
      continue;
    check_rules(f, *v, i < rx.size() && rx[i] ? &*rx[i] : nullptr, out);
  }
}

// An identifier that becomes part of storage keys and URLs (messages/names.hpp).
void check_identifier(const std::string& name, const value& v, name_kind kind,
                      std::vector<error_detail>& out) {
  if (!v.is_string())
    return out.push_back({name, name + " must be a string"});
  if (auto problem = name_problem(kind, v.as_string()); !problem.empty())
    out.push_back({name, name + " " + problem});
}

void check_system_fields(const model_def& def, const object& doc, std::vector<error_detail>& out) {
  if (const value* v = doc.find("id"))
    check_identifier("id", *v, name_kind::document_id, out);
  for (auto name : {"createdAt", "updatedAt"})
    if (const value* v = doc.find(name); v != nullptr && !v->is_int())
      out.push_back({name, std::string{name} + " must be an integer"});
  const value* user = doc.find("userId");
  if (def.scope == model_scope::user) {
    if (user == nullptr || user->is_null())
      out.push_back({"userId", "userId is required"});
    else
      check_identifier("userId", *user, name_kind::user_id, out);
  } else if (user != nullptr && !user->is_null()) {
    // A global model's userId names the owner: optional (empty: none), a user id when given.
    if (!user->is_string() || !user->as_string().empty())
      check_identifier("userId", *user, name_kind::user_id, out);
  }
}

void check_unknown_fields(const model_def& def, const object& doc, std::vector<error_detail>& out) {
  for (auto& m : doc)
    if (!is_system_field(m.first) && def.find_field(m.first) == nullptr)
      out.push_back({m.first, m.first + " is not a field of " + def.name});
}

// "2 fields failed validation: title is required; score must be at least 0".
std::string summarize(const std::vector<error_detail>& details) {
  std::vector<std::string_view> fields;
  std::string messages;
  for (auto& d : details) {
    if (std::find(fields.begin(), fields.end(), d.field) == fields.end())
      fields.push_back(d.field);
    if (!messages.empty())
      messages += "; ";
    messages += d.message;
  }
  auto n = fields.size();
  return std::to_string(n) + (n == 1 ? " field" : " fields") + " failed validation: " + messages;
}

} // namespace

// -- compiled_model -----------------------------------------------------------------------------

caf::expected<std::shared_ptr<const compiled_model>> compiled_model::compile(model_def def) {
  auto rx = std::make_unique<regexes>();
  rx->by_field.reserve(def.fields.size());
  for (auto& f : def.fields) {
    if (f.pattern.empty()) {
      rx->by_field.emplace_back();
      continue;
    }
    auto compiled = compile_pattern("fields." + f.name + ".pattern", f.pattern);
    if (!compiled)
      return std::move(compiled.error());
    rx->by_field.emplace_back(std::move(*compiled));
  }
  std::shared_ptr<compiled_model> model{new compiled_model};
  model->def_ = std::move(def);
  model->regexes_ = std::move(rx);
  return std::shared_ptr<const compiled_model>{std::move(model)};
}

compiled_model::~compiled_model() = default;

void compiled_model::normalize(value& doc, write_mode mode) const {
  if (doc.is_object())
    debros::normalize(def_, doc.as_object(), mode);
}

caf::error
compiled_model::validate(value& doc, write_mode mode,
                         const std::vector<std::pair<std::string, field_validator>>* extra) const {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  auto& obj = doc.as_object();
  debros::normalize(def_, obj, mode);
  std::vector<error_detail> details;
  check_fields(def_, regexes_->by_field, obj, details);
  check_system_fields(def_, obj, details);
  check_unknown_fields(def_, obj, details);
  if (extra != nullptr) {
    static const value missing;
    for (auto& [name, check] : *extra) {
      if (!check)
        continue;
      const value* v = obj.find(name);
      if (auto message = check(v != nullptr ? *v : missing, doc))
        details.push_back({name, std::move(*message)});
    }
  }
  if (details.empty())
    return caf::none;
  auto summary = summarize(details);
  return make_error(errc::validation_failed, std::move(summary), std::move(details));
}

} // namespace debros
