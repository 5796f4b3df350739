// Eager loading of relationships (API.md "Models": belongsTo, hasMany, hasOne, manyToMany).
//
// A relation is loaded for all parent documents at once with one sub-query on the related
// model, which the coordinator sends to each partition once: never one request per document.
//   belongsTo   related where id in [parents' foreignKey values]          -> object or null
//   hasMany     related where foreignKey in [parent ids], relation order  -> array (limit per
//   hasOne      (the same, first by the relation's order)                  -> object or null
//   manyToMany  junction where otherKey in [parent ids], then related where id in [their
//               foreignKey values]                                          -> array
// A missing or null key gives null or []. Nested paths ("comments.author") load the next level
// on all related documents of the level above, again one sub-query per relation. An unknown
// relation, or one naming a model not defined yet, is invalid_argument.
//
// Results of one relation for one parent are kept in the relationship cache (engine.hpp),
// keyed by model, relation and parent id, and depend on the parent's, the related and the
// junction models: a write to any of them invalidates them before its reply.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "actors/interfaces.hpp"

namespace debros {

class engine;
struct model_entry;

struct relation_request {
  std::shared_ptr<const model_entry> entry;
  std::vector<value> docs;
  /// Relation paths, dotted for nested relations.
  std::vector<std::string> with;
};

struct relation_result {
  std::vector<value> docs;
  /// Sub-queries issued (cached relations issue none).
  uint32_t queries = 0;
};

using relation_loader = caf::typed_actor<caf::replies_to<relation_request>::with<relation_result>>;

/// Spawns a loader for one request; it replies once and quits.
relation_loader spawn_relation_loader(engine& eng);

/// The models a set of relation paths of `entry` depends on (for cache dependencies), or an
/// error for an unknown relation or model.
caf::expected<std::vector<std::string>> relation_models(const engine& eng, const model_entry& entry,
                                                        const std::vector<std::string>& with);

} // namespace debros

namespace caf {

template <>
struct allowed_unsafe_message_type<debros::relation_request> : std::true_type {};

template <>
struct allowed_unsafe_message_type<debros::relation_result> : std::true_type {};

} // namespace caf
