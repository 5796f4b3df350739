#include "messages/msgpack_codec.hpp"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include <msgpack/pack.hpp>

#include "messages/errc.hpp"

namespace debros {

// -- encoding ----------------------------------------------------------------------------------

namespace {

struct string_sink {
  std::string& out;
  void write(const char* p, size_t n) { out.append(p, n); }
};

using packer = msgpack::packer<string_sink>;

// Always float64. msgpack-cxx's pack_double writes integral doubles as integers, which loses the
// integer/real distinction and turns 1e19 into a uint64 that no int64 reader accepts.
void pack_float64(string_sink& sink, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 8; i >= 1; --i) {
    buf[i] = static_cast<char>(bits & 0xff);
    bits >>= 8;
  }
  sink.write(buf, 9);
}

void pack(packer& pk, string_sink& sink, const value& x) {
  switch (x.type()) {
  case kind::null:
    pk.pack_nil();
    break;
  case kind::boolean:
    x.as_bool() ? pk.pack_true() : pk.pack_false();
    break;
  case kind::integer:
    pk.pack_int64(x.as_int());
    break;
  case kind::real:
    pack_float64(sink, x.as_double());
    break;
  case kind::string: {
    auto& s = x.as_string();
    pk.pack_str(static_cast<uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    break;
  }
  case kind::array: {
    auto& xs = x.as_array();
    pk.pack_array(static_cast<uint32_t>(xs.size()));
    for (auto& e : xs)
      pack(pk, sink, e);
    break;
  }
  case kind::object: {
    auto& obj = x.as_object();
    pk.pack_map(static_cast<uint32_t>(obj.size()));
    for (auto& [k, v] : obj) {
      pk.pack_str(static_cast<uint32_t>(k.size()));
      pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
      pack(pk, sink, v);
    }
    break;
  }
  }
}

} // namespace

void append_msgpack(std::string& out, const value& x) {
  string_sink sink{out};
  packer pk{sink};
  pack(pk, sink, x);
}

std::string to_msgpack(const value& x) {
  std::string out;
  append_msgpack(out, x);
  return out;
}

// -- UTF-8 -------------------------------------------------------------------------------------

bool valid_utf8(std::string_view s) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    // Fast path for ASCII runs, eight bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ull)
        break;
      p += 8;
    }
    if (p >= end)
      break;
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n)
      return false;
    for (size_t i = 1; i <= n; ++i) {
      unsigned cc = p[i];
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += n + 1;
  }
  return true;
}

// -- reader ------------------------------------------------------------------------------------

using detail::load_be;

bool mp_reader::fail(const char* what, size_t at) noexcept {
  if (error_ == nullptr) {
    error_ = what;
    error_offset_ = at;
  }
  pos_ = data_.size();
  return false;
}

bool mp_reader::take(size_t n, const char*& p) noexcept {
  if (data_.size() - pos_ < n)
    return false;
  p = data_.data() + pos_;
  pos_ += n;
  return true;
}

bool mp_reader::next_slow(item& out) noexcept {
  if (error_ != nullptr)
    return false;
  size_t start = pos_;
  const char* p;
  if (!take(1, p))
    return fail("truncated: expected a value", start);
  auto c = static_cast<unsigned char>(*p);
  auto need = [&](size_t n) -> bool {
    if (take(n, p))
      return true;
    return fail("truncated", start);
  };
  auto str = [&](uint32_t len) -> bool {
    if (!need(len))
      return false;
    out.type = token::string;
    out.string = std::string_view{p, len};
    return true;
  };
  auto container = [&](token t, uint32_t n) -> bool {
    // Each element needs at least one byte: reject impossible counts early, which also bounds
    // the work of skip() and the memory decoders reserve.
    uint64_t min_bytes = t == token::map ? 2ull * n : n;
    if (min_bytes > data_.size() - pos_)
      return fail("truncated: container count exceeds the remaining bytes", start);
    out.type = t;
    out.count = n;
    return true;
  };
  if (c <= 0x7f) {
    out.type = token::integer;
    out.integer = c;
    return true;
  }
  if (c >= 0xe0) {
    out.type = token::integer;
    out.integer = static_cast<int8_t>(c);
    return true;
  }
  if (c >= 0x80 && c <= 0x8f)
    return container(token::map, c & 0x0f);
  if (c >= 0x90 && c <= 0x9f)
    return container(token::array, c & 0x0f);
  if (c >= 0xa0 && c <= 0xbf)
    return str(c & 0x1f);
  switch (c) {
  case 0xc0:
    out.type = token::nil;
    return true;
  case 0xc2:
  case 0xc3:
    out.type = token::boolean;
    out.boolean = c == 0xc3;
    return true;
  case 0xca:
    if (!need(4))
      return false;
    out.type = token::real;
    out.real = load_be<float>(p);
    return true;
  case 0xcb:
    if (!need(8))
      return false;
    out.type = token::real;
    out.real = load_be<double>(p);
    return true;
  case 0xcc:
    if (!need(1))
      return false;
    out.type = token::integer;
    out.integer = load_be<uint8_t>(p);
    return true;
  case 0xcd:
    if (!need(2))
      return false;
    out.type = token::integer;
    out.integer = load_be<uint16_t>(p);
    return true;
  case 0xce:
    if (!need(4))
      return false;
    out.type = token::integer;
    out.integer = load_be<uint32_t>(p);
    return true;
  case 0xcf: {
    if (!need(8))
      return false;
    auto u = load_be<uint64_t>(p);
    if (u > static_cast<uint64_t>(INT64_MAX))
      return fail("integer above INT64_MAX", start);
    out.type = token::integer;
    out.integer = static_cast<int64_t>(u);
    return true;
  }
  case 0xd0:
    if (!need(1))
      return false;
    out.type = token::integer;
    out.integer = load_be<int8_t>(p);
    return true;
  case 0xd1:
    if (!need(2))
      return false;
    out.type = token::integer;
    out.integer = load_be<int16_t>(p);
    return true;
  case 0xd2:
    if (!need(4))
      return false;
    out.type = token::integer;
    out.integer = load_be<int32_t>(p);
    return true;
  case 0xd3:
    if (!need(8))
      return false;
    out.type = token::integer;
    out.integer = load_be<int64_t>(p);
    return true;
  case 0xd9:
    return need(1) && str(load_be<uint8_t>(p));
  case 0xda:
    return need(2) && str(load_be<uint16_t>(p));
  case 0xdb:
    return need(4) && str(load_be<uint32_t>(p));
  case 0xdc:
    return need(2) && container(token::array, load_be<uint16_t>(p));
  case 0xdd:
    return need(4) && container(token::array, load_be<uint32_t>(p));
  case 0xde:
    return need(2) && container(token::map, load_be<uint16_t>(p));
  case 0xdf:
    return need(4) && container(token::map, load_be<uint32_t>(p));
  case 0xc4:
  case 0xc5:
  case 0xc6:
    return fail("unsupported msgpack type: bin", start);
  case 0xc7:
  case 0xc8:
  case 0xc9:
  case 0xd4:
  case 0xd5:
  case 0xd6:
  case 0xd7:
  case 0xd8:
    return fail("unsupported msgpack type: ext", start);
  default: // 0xc1
    return fail("invalid msgpack byte 0xc1", start);
  }
}

bool mp_reader::skip() noexcept {
  // Iterative, so hostile nesting cannot exhaust the stack; `pending` counts items still owed.
  uint64_t pending = 1;
  item it;
  while (pending > 0) {
    if (!next(it))
      return false;
    --pending;
    if (it.type == token::array)
      pending += it.count;
    else if (it.type == token::map)
      pending += 2ull * it.count;
  }
  return true;
}

bool mp_reader::find_key(uint32_t count, std::string_view key) noexcept {
  item k;
  for (uint32_t i = 0; i < count; ++i) {
    size_t at = pos_;
    if (!next(k))
      return false;
    if (k.type != token::string)
      return fail("map key is not a string", at);
    if (k.string == key)
      return true;
    if (!skip())
      return false;
  }
  return false;
}

// -- decoding ----------------------------------------------------------------------------------

namespace {

class decoder {
public:
  decoder(std::string_view bytes, const decode_limits& limits) : in_(bytes), limits_(limits) {}

  caf::error run(value& out) {
    if (!read(out, 1))
      return error();
    if (!in_.at_end())
      return make_error(errc::invalid_argument, "invalid msgpack: trailing bytes at offset " +
                                                    std::to_string(in_.offset()));
    return caf::none;
  }

private:
  caf::error error() {
    if (too_deep_)
      return make_error(errc::too_large, "msgpack nesting deeper than " +
                                             std::to_string(limits_.max_depth) + " levels");
    std::string msg = "invalid msgpack at offset ";
    msg += std::to_string(in_.failed() ? in_.error_offset() : bad_offset_);
    msg += ": ";
    msg += in_.failed() ? in_.error() : bad_;
    return make_error(errc::invalid_argument, std::move(msg));
  }

  bool bad(const char* what, size_t at) {
    bad_ = what;
    bad_offset_ = at;
    return false;
  }

  bool read(value& out, uint32_t depth) {
    size_t at = in_.offset();
    mp_reader::item it;
    if (!in_.next(it))
      return false;
    switch (it.type) {
    case mp_reader::token::nil:
      out = value{};
      return true;
    case mp_reader::token::boolean:
      out = value{it.boolean};
      return true;
    case mp_reader::token::integer:
      out = value{it.integer};
      return true;
    case mp_reader::token::real:
      if (!std::isfinite(it.real))
        return bad("non-finite float", at);
      out = value{it.real};
      return true;
    case mp_reader::token::string:
      if (limits_.check_utf8 && !valid_utf8(it.string))
        return bad("string is not valid UTF-8", at);
      out = value{std::string{it.string}};
      return true;
    case mp_reader::token::array: {
      if (it.count > 0 && depth >= limits_.max_depth)
        return too_deep();
      array xs;
      xs.resize(it.count);
      for (auto& x : xs)
        if (!read(x, depth + 1))
          return false;
      out = value{std::move(xs)};
      return true;
    }
    case mp_reader::token::map: {
      if (it.count > 0 && depth >= limits_.max_depth)
        return too_deep();
      object obj;
      obj.reserve(it.count);
      // Large maps check duplicates with a hash set so hostile input cannot cost O(n^2).
      std::unordered_set<std::string_view> seen;
      bool hashed = it.count > 16;
      for (uint32_t i = 0; i < it.count; ++i) {
        size_t key_at = in_.offset();
        mp_reader::item k;
        if (!in_.next(k))
          return false;
        if (k.type != mp_reader::token::string)
          return bad("map key is not a string", key_at);
        if (limits_.check_utf8 && !valid_utf8(k.string))
          return bad("map key is not valid UTF-8", key_at);
        if (hashed ? !seen.insert(k.string).second : obj.contains(k.string))
          return bad("duplicate map key", key_at);
        value v;
        if (!read(v, depth + 1))
          return false;
        obj.append_unchecked(std::string{k.string}, std::move(v));
      }
      out = value{std::move(obj)};
      return true;
    }
    }
    return bad("unknown token", at);
  }

  bool too_deep() {
    too_deep_ = true;
    return false;
  }

  mp_reader in_;
  const decode_limits& limits_;
  const char* bad_ = "invalid input";
  size_t bad_offset_ = 0;
  bool too_deep_ = false;
};

} // namespace

caf::expected<value> from_msgpack(std::string_view bytes, const decode_limits& limits) {
  if (bytes.size() > limits.max_bytes)
    return make_error(errc::too_large, "msgpack input of " + std::to_string(bytes.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(limits.max_bytes));
  value out;
  decoder d{bytes, limits};
  if (auto err = d.run(out))
    return err;
  return out;
}

} // namespace debros
