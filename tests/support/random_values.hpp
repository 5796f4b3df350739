// Random document values for property tests (fixed seeds: failures reproduce).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "messages/value.hpp"

namespace debros::test {

/// Interesting numbers: type and range boundaries, values near 2^53 where doubles get sparse.
inline value edge_number(std::mt19937_64& rng) {
  static const int64_t ints[] = {0,
                                 1,
                                 -1,
                                 127,
                                 128,
                                 -32,
                                 -33,
                                 255,
                                 256,
                                 65535,
                                 65536,
                                 (int64_t{1} << 53) - 1,
                                 int64_t{1} << 53,
                                 (int64_t{1} << 53) + 1,
                                 -(int64_t{1} << 53) - 1,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::max() - 1,
                                 std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::min() + 1,
                                 int64_t{1} << 62,
                                 (int64_t{1} << 62) + 1};
  static const double reals[] = {0.5,
                                 -0.5,
                                 1e300,
                                 -1e300,
                                 5e-324,
                                 -5e-324,
                                 9007199254740992.0,
                                 9007199254740994.0,
                                 9223372036854775808.0,
                                 -9223372036854775808.0,
                                 4611686018427387904.0,
                                 0.1,
                                 -0.0,
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity()};
  auto pick = rng() % 3;
  if (pick == 0)
    return value{ints[rng() % (sizeof ints / sizeof ints[0])]};
  if (pick == 1)
    return value{reals[rng() % (sizeof reals / sizeof reals[0])]};
  return value{static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 8.0};
}

inline std::string random_string(std::mt19937_64& rng, size_t max_len = 6) {
  // A small alphabet with NUL, 0x01, 0xff-adjacent UTF-8, so prefixes and escapes collide often.
  static const char* pieces[] = {"a", "b", "ab", "", "\0", "\x01", "z", "\xc3\xa9", "\xe2\x82\xac"};
  std::string s;
  auto len = rng() % (max_len + 1);
  for (size_t i = 0; i < len; ++i) {
    auto p = pieces[rng() % 9];
    if (p[0] == '\0' && p == pieces[4])
      s += '\0';
    else
      s += p;
  }
  return s;
}

/// A random value; `finite` excludes infinities (they are not valid documents).
inline value random_value(std::mt19937_64& rng, int depth = 0, bool finite = false) {
  auto k = rng() % (depth >= 3 ? 5 : 7);
  switch (k) {
  case 0:
    return value{};
  case 1:
    return value{(rng() & 1) == 1};
  case 2: {
    auto v = edge_number(rng);
    if (finite && v.is_double() && !std::isfinite(v.as_double()))
      return value{int64_t{7}};
    return v;
  }
  case 3:
    return value{static_cast<int64_t>(rng() % 200) - 100};
  case 4:
    return value{random_string(rng)};
  case 5: {
    array xs;
    auto n = rng() % 4;
    for (size_t i = 0; i < n; ++i)
      xs.push_back(random_value(rng, depth + 1, finite));
    return value{std::move(xs)};
  }
  default: {
    object obj;
    auto n = rng() % 4;
    for (size_t i = 0; i < n; ++i) {
      auto key = random_string(rng, 3) + std::to_string(i); // unique keys
      obj.set(key, random_value(rng, depth + 1, finite));
    }
    return value{std::move(obj)};
  }
  }
}

} // namespace debros::test
