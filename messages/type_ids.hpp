// The one place where Debros registers its message types with CAF.
//
// IDs are positional: append new types at the end of the block, never reorder or remove one
// (a changed layout is a new type). Every node of a cluster must run the same block.
#pragma once

#include <vector>

#include "caf/type_id.hpp"

#include "messages/errc.hpp"
#include "messages/msgpack_codec.hpp"
#include "messages/query.hpp"
#include "messages/requests.hpp"
#include "messages/value.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(debros, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(debros, (debros::value))
CAF_ADD_TYPE_ID(debros, (debros::error_detail))
CAF_ADD_TYPE_ID(debros, (std::vector<debros::error_detail>))
CAF_ADD_TYPE_ID(debros, (debros::query_expr))
CAF_ADD_TYPE_ID(debros, (debros::sort_key))
CAF_ADD_TYPE_ID(debros, (debros::query))
CAF_ADD_TYPE_ID(debros, (debros::aggregate_state))
CAF_ADD_TYPE_ID(debros, (debros::doc_create))
CAF_ADD_TYPE_ID(debros, (debros::doc_get))
CAF_ADD_TYPE_ID(debros, (debros::doc_update))
CAF_ADD_TYPE_ID(debros, (debros::doc_remove))
CAF_ADD_TYPE_ID(debros, (debros::doc_increment))
CAF_ADD_TYPE_ID(debros, (debros::query_hit))
CAF_ADD_TYPE_ID(debros, (debros::partition_query))
CAF_ADD_TYPE_ID(debros, (debros::partition_stats))
CAF_ADD_TYPE_ID(debros, (debros::partition_result))
CAF_ADD_TYPE_ID(debros, (debros::query_stats))
CAF_ADD_TYPE_ID(debros, (debros::query_result))
CAF_ADD_TYPE_ID(debros, (std::vector<debros::value>))
CAF_ADD_TYPE_ID(debros, (std::vector<std::string>))
CAF_ADD_TYPE_ID(debros, (debros::node_info))
CAF_ADD_TYPE_ID(debros, (debros::grouped_query))
CAF_ADD_TYPE_ID(debros, (debros::partition_plan))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::doc_create>))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::doc_get>))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::doc_update>))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::doc_remove>))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::doc_increment>))
CAF_ADD_TYPE_ID(debros, (debros::for_user<debros::partition_query>))

CAF_END_TYPE_ID_BLOCK(debros)
