// Model definitions: what a model's documents may hold, where they live, how they relate.
//
// Definitions are data. They arrive as JSON (API.md "Models"), are built in C++, persisted in the
// store and travel between nodes in their canonical value form (`to_value`), which carries the
// model's name and every default filled in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "messages/errc.hpp"
#include "messages/value.hpp"

namespace debros {

enum class field_type : uint8_t { string, number, boolean, array, object, date };
enum class model_scope : uint8_t { global, user };
enum class store_type : uint8_t { docstore, keyvalue, eventlog, counter, feed };
enum class shard_strategy : uint8_t { hash, range, user };
enum class pin_strategy : uint8_t { fixed, popularity, tiered };
enum class relation_type : uint8_t { belongs_to, has_many, has_one, many_to_many };
enum class text_transform : uint8_t { none, trim, lowercase, uppercase };
/// `local`: an index inside each shard or user database. `global`: a cluster-wide index
/// partitioned by value (API.md: `"index": "global"`).
enum class index_kind : uint8_t { none, local, global };
/// Who may write documents of a global model through the HTTP API (an extension of API.md):
/// `admin` (the default) only the admin token; `users` any user token, where a document a user
/// creates carries that user's id in `userId` and only its owner (or the admin) may change or
/// delete it. User-scoped models are always writable by their owner.
enum class write_access : uint8_t { admin, users };
/// Who may read a model's documents through the gateway (docs/node.md "Security"): anyone, even
/// without a token (`public`); any valid token (`users`, the default); or, for a user token,
/// only documents whose userId is its user (`owner`). The admin reads everything.
enum class read_policy : uint8_t { anyone, users, owner };

std::string_view to_string(field_type x) noexcept;
std::string_view to_string(model_scope x) noexcept;
std::string_view to_string(store_type x) noexcept;
std::string_view to_string(shard_strategy x) noexcept;
std::string_view to_string(pin_strategy x) noexcept;
std::string_view to_string(relation_type x) noexcept; // "belongsTo", "hasMany", ...
std::string_view to_string(text_transform x) noexcept;
std::string_view to_string(write_access x) noexcept;
std::string_view to_string(read_policy x) noexcept; // "public", "users", "owner"

/// Applies a text transform to a string (ASCII case and whitespace, as validation does): trim
/// removes spaces, tabs, CR, LF, FF and VT at both ends; lowercase and uppercase map ASCII
/// letters only and leave every other byte (UTF-8 sequences included) alone. Uses the very code
/// of `compiled_model::validate`, so a value normalized here equals the stored one.
std::string apply_transform(text_transform t, std::string_view s);

struct field_def {
  std::string name;
  field_type type = field_type::string;
  bool required = false;
  bool unique = false;
  index_kind index = index_kind::none;
  /// The default applied when a created document lacks the field.
  std::optional<value> default_value;
  /// Bounds of numbers and dates (inclusive).
  std::optional<double> min;
  std::optional<double> max;
  /// Bounds of the length of strings (in Unicode code points) and arrays (in elements).
  std::optional<int64_t> min_length;
  std::optional<int64_t> max_length;
  /// ECMAScript regular expression a string must match (searched, so anchor it with ^...$).
  std::string pattern;
  /// When not empty, the value must equal one of these.
  std::vector<value> enum_values;
  text_transform transform = text_transform::none;
};

struct sharding_def {
  shard_strategy strategy = shard_strategy::hash;
  /// Number of shards, >= 1.
  uint32_t count = 1;
  /// The field whose value picks the shard ("id" by default; "userId" for strategy user).
  std::string key = "id";
  /// Range strategy: count-1 ascending split points; empty means by first letter a-z.
  std::vector<value> bounds;
};

struct pinning_def {
  pin_strategy strategy = pin_strategy::fixed;
  uint32_t factor = 1;
};

struct pubsub_def {
  /// Which of "create", "update", "delete" publish model events.
  std::vector<std::string> events;
  /// Channel templates such as "users.{id}"; `{id}`, `{userId}`, `{modelName}` and field names
  /// are substituted.
  std::vector<std::string> channels;
};

struct relation_def {
  std::string name;
  relation_type type = relation_type::belongs_to;
  std::string model;
  std::string foreign_key;
  /// manyToMany only: the junction model, and its key holding this document's id.
  std::string through;
  std::string other_key;
  /// hasMany, hasOne and manyToMany: the order of the related documents of one parent (default:
  /// createdAt ascending; hasOne takes the first) and, when not zero, how many each parent gets.
  std::vector<std::pair<std::string, bool>> order_by; // field, descending
  int64_t limit = 0;
};

struct model_def {
  std::string name;
  model_scope scope = model_scope::global;
  store_type type = store_type::docstore;
  std::vector<field_def> fields;
  sharding_def sharding;
  pinning_def pinning;
  pubsub_def pubsub;
  std::vector<relation_def> relationships;
  uint32_t version = 1;
  write_access access = write_access::admin;
  read_policy read = read_policy::users;

  const field_def* find_field(std::string_view name) const noexcept;
  const relation_def* find_relation(std::string_view name) const noexcept;
};

/// Field names every document may carry besides its model's fields.
bool is_system_field(std::string_view name) noexcept; // id, createdAt, updatedAt, userId

/// A model name: 1 to 64 characters, a letter first, then letters, digits, '_' or '-'.
bool valid_model_name(std::string_view name) noexcept;

/// Parses the JSON form of API.md "Models" for the model `name` (a "name" member in `json`, if
/// present, must equal it). Fills defaults. Errors are invalid_argument with a message that
/// names the offending key by path, e.g. "fields.email.type: unknown field type 'strin'",
/// "sharding.count: must be at least 1", "scope: unknown scope 'galaxy'",
/// "relationships.posts.type: unknown relationship type 'hasSome'", "fields.x: unknown rule
/// 'minimum'". Also refused: a `pattern` that is not a valid ECMAScript regex (or uses
/// back-references), `min` > `max`, a `default` that breaks the field's own rules, a field named
/// like a system field (except `userId` in a user-scoped model, which must then be a string), range
/// bounds that are not ascending or not count-1 long, unknown top-level keys.
caf::expected<model_def> parse_model(std::string_view name, const value& json);

/// The canonical value of a definition: `name` and every key with its default, in a fixed
/// order. parse_model(def.name, to_value(def)) gives back `def`.
value to_value(const model_def& def);

/// True if the two definitions are the same (compares canonical values).
bool same_definition(const model_def& a, const model_def& b);

/// A custom validator for one field, attached from C++: returns a message when the value is
/// invalid ("slug must not contain spaces"), std::nullopt when it is fine. `doc` is the whole
/// document after transforms and defaults.
using field_validator =
    std::function<std::optional<std::string>(const value& field_value, const value& doc)>;

/// What a write does, for validation.
enum class write_mode : uint8_t {
  /// A new document: defaults fill missing fields.
  create,
  /// A whole replacement (PUT): like create, the system fields are kept by the caller.
  replace,
  /// A merge (PATCH) already applied by the caller: the result is validated as a whole.
  patch,
};

/// A definition prepared for validating documents: regexes compiled once.
class compiled_model {
public:
  /// Compiles `def`. Errors: invalid_argument for a pattern that does not compile (parse_model
  /// refuses those already; definitions built in C++ meet this check here).
  static caf::expected<std::shared_ptr<const compiled_model>> compile(model_def def);

  const model_def& def() const noexcept { return def_; }

  /// Normalizes `doc` in place without checking it: transforms, defaults (create and replace),
  /// date conversion. Idempotent; validate() starts with it. Writers call it before their
  /// before-hooks, so hooks see the document as it will be stored. No-op for non-objects.
  void normalize(value& doc, write_mode mode) const;

  /// Validates and normalizes `doc` in place: applies transforms (trim, lowercase, uppercase) to
  /// string fields, fills defaults (create and replace), converts integral reals of date fields
  /// to integers, then checks every rule of every field, unknown fields, system fields (`id` a
  /// non-empty string of at most 128 bytes without '/', `userId` a non-empty string and required
  /// in user-scoped models) and non-finite numbers. Returns none, or validation_failed with one
  /// error_detail per failing field and rule, messages such as "title is required",
  /// "score must be at least 0", "email must match the pattern ^[^@]+@[^@]+$",
  /// "username must be at least 3 characters long", "tags must be an array",
  /// "foo is not a field of User". `extra` holds custom validators by field name. On error `doc`
  /// may be partly normalized: callers discard it.
  caf::error
  validate(value& doc, write_mode mode,
           const std::vector<std::pair<std::string, field_validator>>* extra = nullptr) const;

  ~compiled_model();

private:
  compiled_model() = default;
  struct regexes;
  model_def def_;
  std::unique_ptr<regexes> regexes_;
};

} // namespace debros
