// The value the crash writer (tests/storage/crash_writer.cpp) stores under each key, shared with
// the tests that check what survived.
#pragma once

#include <string>

namespace debros::test::crash {

/// 300 bytes derived from `key`: a damaged or misplaced value never matches.
inline std::string payload_for(const std::string& key) {
  std::string out;
  while (out.size() < 300)
    out += key + ";";
  out.resize(300);
  return out;
}

} // namespace debros::test::crash
