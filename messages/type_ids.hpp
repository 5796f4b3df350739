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

CAF_END_TYPE_ID_BLOCK(debros)
