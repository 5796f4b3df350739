// Helpers shared by the libFuzzer targets: a finding is an abort with a message, so libFuzzer
// saves the input and the smoke run fails.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace debros::fuzz {

/// Aborts with `what` (and `detail`) when `ok` is false: an invariant the target checks broke.
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok)
    return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

} // namespace debros::fuzz
