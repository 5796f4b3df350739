// One set of rules for every name and id of the API (docs/node.md "Names, ids and request
// limits"): user ids, document ids, field and relationship names, model names, key-value
// namespaces and keys. Every route and parser checks names here, so the rules cannot drift.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "caf/error.hpp"

namespace debros {

/// What a name names; each kind has its own length limit and character set.
enum class name_kind : uint8_t {
  user_id,      ///< POST /v1/users `id`, a token's `user`, a document's `userId`
  document_id,  ///< a document's `id`
  field_name,   ///< a field or relationship name of a model definition
  model_name,   ///< the name in /v1/models/NAME
  kv_namespace, ///< the NS of /v1/kv/NS/KEY
  kv_key,       ///< the KEY of /v1/kv/NS/KEY
};

/// Longest name of each kind, in bytes.
inline constexpr size_t user_id_bytes_max = 128;
inline constexpr size_t document_id_bytes_max = 128;
inline constexpr size_t field_name_bytes_max = 128;
inline constexpr size_t model_name_bytes_max = 64;
inline constexpr size_t kv_namespace_bytes_max = 64;
inline constexpr size_t kv_key_bytes_max = 256;

/// Most fields (and, separately, relationships) one model may define.
inline constexpr size_t model_fields_max = 256;

/// The noun of `kind` in messages: "user id", "document id", ...
std::string_view to_string(name_kind kind) noexcept;

/// The longest name of `kind` in bytes.
size_t name_bytes_max(name_kind kind) noexcept;

/// none when `name` is a valid name of `kind`; otherwise invalid_argument saying which rule it
/// breaks. Every kind: 1 to name_bytes_max(kind) bytes of valid UTF-8 without control
/// characters (bytes 0x00 to 0x1F and 0x7F). Beyond that: user and document ids hold no '/';
/// field names no '.'; model names are ASCII letters, digits, '_' and '-', a letter first; kv
/// namespaces are ASCII letters, digits, '_', '-' and '.'. Thread-safe, allocates only on error.
caf::error check_name(name_kind kind, std::string_view name);

/// The rule `name` breaks as a phrase to follow the name ("must not be empty", "must be at most
/// 128 bytes long", "must not contain control characters", ...); empty when `name` is valid.
std::string name_problem(name_kind kind, std::string_view name);

/// check_name(kind, name) == none, without building the error.
bool valid_name(name_kind kind, std::string_view name) noexcept;

} // namespace debros
