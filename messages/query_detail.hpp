// Internal to messages/: what the JSON form of a query and its cursors share.
#pragma once

#include <vector>

#include "messages/query.hpp"
#include "messages/value.hpp"

namespace debros::detail {

/// orderBy in its normal form, [[path, "asc" | "desc"], ...]: what to_value writes and what a
/// cursor holds to name the sort keys it belongs to.
value order_by_value(const std::vector<sort_key>& keys);

} // namespace debros::detail
