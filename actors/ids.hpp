// Document ids and clocks.
#pragma once

#include <cstdint>
#include <string>

namespace debros {

/// Milliseconds since the Unix epoch (wall clock), the unit of createdAt and updatedAt.
int64_t now_ms() noexcept;

/// A new document id: 26 characters of Crockford base32 (ULID layout): 48 bits of milliseconds
/// then 80 random bits. Ids sort by creation time as plain strings; within one millisecond the
/// generator increments the random part, so ids from one process are strictly increasing.
/// Thread-safe.
std::string new_id();

/// The creation time encoded in an id made by new_id, or -1 for other ids.
int64_t id_time_ms(const std::string& id) noexcept;

} // namespace debros
