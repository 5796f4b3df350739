#include "messages/names.hpp"

#include <string>

#include "messages/errc.hpp"
#include "messages/msgpack_codec.hpp"

namespace debros {

namespace {

bool ascii_letter(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool ascii_word(char c) noexcept {
  return ascii_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool control(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// The first rule `name` breaks, or nullptr ("too long" is the caller's, it carries a number).
// Shared by name_problem and valid_name so that the two cannot disagree.
const char* broken_rule(name_kind kind, std::string_view name) noexcept {
  if (name.empty())
    return "must not be empty";
  if (name.size() > name_bytes_max(kind))
    return "";
  for (char c : name)
    if (control(c))
      return "must not contain control characters";
  if (!valid_utf8(name))
    return "must be valid UTF-8";
  switch (kind) {
  case name_kind::user_id:
  case name_kind::document_id:
    if (name.find('/') != std::string_view::npos)
      return "must not contain '/'";
    return nullptr;
  case name_kind::field_name:
    // Queries address nested values by dotted paths: a dotted name could not be queried.
    if (name.find('.') != std::string_view::npos)
      return "must not contain '.'";
    return nullptr;
  case name_kind::model_name:
    if (!ascii_letter(name.front()))
      return "must start with an ASCII letter";
    for (char c : name)
      if (!ascii_word(c))
        return "may hold only ASCII letters, digits, '_' and '-'";
    return nullptr;
  case name_kind::kv_namespace:
    for (char c : name)
      if (!ascii_word(c) && c != '.')
        return "may hold only ASCII letters, digits, '_', '-' and '.'";
    return nullptr;
  case name_kind::kv_key:
    return nullptr;
  }
  return "is of an unknown kind";
}

} // namespace

std::string_view to_string(name_kind kind) noexcept {
  switch (kind) {
  case name_kind::user_id:
    return "user id";
  case name_kind::document_id:
    return "document id";
  case name_kind::field_name:
    return "field name";
  case name_kind::model_name:
    return "model name";
  case name_kind::kv_namespace:
    return "key-value namespace";
  case name_kind::kv_key:
    return "key-value key";
  }
  return "name";
}

size_t name_bytes_max(name_kind kind) noexcept {
  switch (kind) {
  case name_kind::user_id:
    return user_id_bytes_max;
  case name_kind::document_id:
    return document_id_bytes_max;
  case name_kind::field_name:
    return field_name_bytes_max;
  case name_kind::model_name:
    return model_name_bytes_max;
  case name_kind::kv_namespace:
    return kv_namespace_bytes_max;
  case name_kind::kv_key:
    return kv_key_bytes_max;
  }
  return 0;
}

std::string name_problem(name_kind kind, std::string_view name) {
  auto rule = broken_rule(kind, name);
  if (rule == nullptr)
    return {};
  if (*rule == '\0')
    return "must be at most " + std::to_string(name_bytes_max(kind)) + " bytes long";
  return rule;
}

caf::error check_name(name_kind kind, std::string_view name) {
  auto problem = name_problem(kind, name);
  if (problem.empty())
    return caf::none;
  // The name itself is not echoed: it may hold the very bytes that are refused.
  std::string msg{"a "};
  msg += to_string(kind);
  msg += " ";
  msg += problem;
  msg += kind == name_kind::model_name
             ? " (1 to 64 ASCII letters, digits, '_' or '-', a letter first)"
             : " (1 to " + std::to_string(name_bytes_max(kind)) +
                   " bytes of UTF-8 without control characters)";
  return make_error(errc::invalid_argument, std::move(msg));
}

bool valid_name(name_kind kind, std::string_view name) noexcept {
  return broken_rule(kind, name) == nullptr;
}

} // namespace debros
