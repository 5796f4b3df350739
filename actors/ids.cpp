#include "actors/ids.hpp"

#include <chrono>
#include <mutex>
#include <random>

namespace debros {

namespace {

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct generator {
  std::mutex mtx;
  std::mt19937_64 rng{std::random_device{}()};
  int64_t last_ms = -1;
  // The 80 random bits: hi holds the top 16, lo the low 64.
  uint16_t hi = 0;
  uint64_t lo = 0;
};

generator& gen() {
  static generator g;
  return g;
}

int decode_char(char c) noexcept {
  for (int i = 0; i < 32; ++i)
    if (crockford[i] == c)
      return i;
  return -1;
}

} // namespace

int64_t now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string new_id() {
  auto& g = gen();
  int64_t ms;
  uint16_t hi;
  uint64_t lo;
  {
    std::lock_guard<std::mutex> guard{g.mtx};
    ms = now_ms();
    if (ms <= g.last_ms) {
      // Same millisecond (or the clock stepped back): keep the time, count up the random part.
      ms = g.last_ms;
      if (++g.lo == 0)
        ++g.hi;
    } else {
      g.last_ms = ms;
      g.lo = g.rng();
      // Leave headroom so counting up within a millisecond does not wrap the 80 bits.
      g.hi = static_cast<uint16_t>(g.rng() & 0x7fff);
    }
    hi = g.hi;
    lo = g.lo;
  }
  // 128 bits: 48 time bits, 16 + 64 random bits, written as 26 base32 digits (130 bits, the top
  // two always zero).
  char out[26];
  unsigned __int128 x = (static_cast<unsigned __int128>(static_cast<uint64_t>(ms)) << 80) |
                        (static_cast<unsigned __int128>(hi) << 64) | lo;
  for (int i = 25; i >= 0; --i) {
    out[i] = crockford[static_cast<unsigned>(x & 31)];
    x >>= 5;
  }
  return std::string{out, 26};
}

int64_t id_time_ms(const std::string& id) noexcept {
  if (id.size() != 26)
    return -1;
  // The first 10 digits hold 50 bits: 2 zero bits and the 48 time bits.
  uint64_t t = 0;
  for (int i = 0; i < 10; ++i) {
    int d = decode_char(id[static_cast<size_t>(i)]);
    if (d < 0)
      return -1;
    t = (t << 5) | static_cast<uint64_t>(d);
  }
  for (size_t i = 10; i < 26; ++i)
    if (decode_char(id[i]) < 0)
      return -1;
  return static_cast<int64_t>(t);
}

} // namespace debros
