// Cursors (messages/query_cursor.cpp): the opaque `after` string a client sends back. Decoded
// for a few sort-key lists (the first byte's low bits pick one); with the first byte's high bit
// set, the rest is taken as the msgpack inside the cursor and base64url-encoded first, so the
// fuzzer also reaches past the base64 layer. A cursor that decodes is encoded and decoded again
// to the same tuple, and its base64url is the canonical one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "messages/base64.hpp"
#include "messages/query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debros;
  static const std::vector<std::vector<sort_key>> key_sets{
      {},
      {{"createdAt", true}},
      {{"title", false}},
      {{"n", true}, {"meta.k", false}},
      {{"a", false}, {"b", true}, {"c", false}},
  };
  if (size == 0)
    return 0;
  auto& keys = key_sets[data[0] % key_sets.size()];
  auto rest = fuzz::as_text(data + 1, size - 1);
  std::string text = (data[0] & 0x80) != 0 ? base64url_encode(rest) : std::string{rest};
  auto tuple = decode_cursor(text, keys);
  if (!tuple)
    return 0;
  auto again = decode_cursor(encode_cursor(*tuple, keys), keys);
  fuzz::check(static_cast<bool>(again), "a re-encoded cursor does not decode", text);
  fuzz::check(*again == *tuple, "a cursor round trip changed the tuple", text);
  return 0;
}
