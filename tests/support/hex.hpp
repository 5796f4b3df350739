// Bytes as lower-case hex digits and back, for golden-bytes tests (written independently of the
// code under test, so a literal in a test is checked against the bytes, not against itself).
#pragma once

#include <string>
#include <string_view>

namespace debros::test {

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// Hex digits to bytes; spaces between bytes are allowed (and ignored).
inline std::string unhex(std::string_view h) {
  std::string digits;
  for (char c : h)
    if (c != ' ')
      digits += c;
  std::string out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  return out;
}

} // namespace debros::test
