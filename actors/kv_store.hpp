// Key-value namespaces (API.md "Key-value storage"): raw bytes under (namespace, key), in the
// "kv" table, written through the group-commit writer like everything else.
//
// Key layout: namespace as an order-preserving string key, then the key's raw bytes; so a
// namespace is one contiguous range and its keys list in byte order. Value: a version byte (1)
// then the raw bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "actors/interfaces.hpp"
#include "messages/names.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

namespace debros::kv {

/// Namespace names: 1 to 64 characters of [A-Za-z0-9_.-] (messages/names.hpp).
constexpr size_t namespace_bytes_max = kv_namespace_bytes_max;
/// Keys: 1 to 256 bytes of UTF-8 without control characters (messages/names.hpp).
constexpr size_t key_bytes_max = kv_key_bytes_max;
/// Values: at most 16 MiB.
constexpr size_t value_bytes_max = size_t{16} << 20;
/// Most keys one listing returns.
constexpr size_t list_max = 10000;

/// invalid_argument naming what is wrong with a namespace or key, or none.
caf::error check_namespace(std::string_view ns);
caf::error check_key(std::string_view key);

/// Stores `bytes` under (ns, key), replacing any value. `done` receives the stored size once it
/// is durable; it runs on the writer thread (or at once on a bad argument) and must not block.
void put(storage::writer& w, storage::table t, std::string ns, std::string key, std::string bytes,
         reply_fn<size_t> done);

/// Removes (ns, key). `done` receives whether it existed (see put for where it runs).
void remove(storage::writer& w, storage::table t, std::string ns, std::string key,
            reply_fn<bool> done);

/// The value of (ns, key), std::nullopt when absent. Errors: invalid_argument, corruption.
caf::expected<std::optional<std::string>> get(storage::environment& env, storage::table t,
                                              std::string_view ns, std::string_view key);

/// Up to `limit` keys of `ns` starting with `prefix`, in byte order.
caf::expected<std::vector<std::string>> list(storage::environment& env, storage::table t,
                                             std::string_view ns, std::string_view prefix,
                                             size_t limit);

} // namespace debros::kv
