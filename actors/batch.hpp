// Batch creates: many documents of one model, all or nothing, in one transaction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"

namespace debros {

class engine;
struct model_entry;

/// Most documents in one batch.
constexpr size_t batch_docs_max = 10000;

/// Spawns an actor that places, hooks and validates every document, then writes them all in one
/// transaction (unique values and ids checked against the store and within the batch) and
/// replies with the ids in order. Any failure writes nothing: validation errors list every
/// failing document field as "docs[3].title".
void spawn_batch(engine& eng, std::shared_ptr<const model_entry> entry, std::vector<value> docs,
                 reply_fn<std::vector<std::string>> done);

} // namespace debros
