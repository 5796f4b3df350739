// Internal to messages/: the text names of the model enums, indexed by each enum's numeric
// value. The parser (model_parse.cpp) reads them and to_string (model.cpp) writes them, so the
// two cannot disagree.
#pragma once

#include <string_view>

namespace debros::detail {

inline constexpr std::string_view field_type_names[] = {"string", "number", "boolean",
                                                        "array",  "object", "date"};
inline constexpr std::string_view scope_names[] = {"global", "user"};
inline constexpr std::string_view access_names[] = {"admin", "users"};
inline constexpr std::string_view read_names[] = {"public", "users", "owner"};
inline constexpr std::string_view store_type_names[] = {"docstore", "keyvalue", "eventlog",
                                                        "counter", "feed"};
inline constexpr std::string_view shard_strategy_names[] = {"hash", "range", "user"};
inline constexpr std::string_view pin_strategy_names[] = {"fixed", "popularity", "tiered"};
inline constexpr std::string_view relation_type_names[] = {"belongsTo", "hasMany", "hasOne",
                                                           "manyToMany"};
inline constexpr std::string_view transform_names[] = {"none", "trim", "lowercase", "uppercase"};

} // namespace debros::detail
