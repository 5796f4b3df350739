// Internal to messages/: what the JSON form of a query, its cursors and the model parser share.
#pragma once

#include <string_view>
#include <vector>

#include "messages/query.hpp"
#include "messages/value.hpp"

namespace debros::detail {

/// orderBy in its normal form, [[path, "asc" | "desc"], ...]: what to_value writes and what a
/// cursor holds to name the sort keys it belongs to.
value order_by_value(const std::vector<sort_key>& keys);

/// True if `path` is a field path check_query accepts: dotted segments, none empty ("a.b", not
/// "", ".a", "a." or "a..b"). Model definitions use it for paths that become query paths (the
/// orderBy of relationships), so a definition cannot hold a path its queries would refuse.
bool valid_path(std::string_view path) noexcept;

} // namespace debros::detail
