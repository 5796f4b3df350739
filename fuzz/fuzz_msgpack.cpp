// msgpack decoding (messages/msgpack_codec.hpp) of untrusted bytes: from_msgpack and the
// in-place reader. A decoded value encodes and decodes to an equal value, and the reader's skip
// agrees with the decoder on where a value ends.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "messages/json.hpp"
#include "messages/msgpack_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debros;
  auto bytes = fuzz::as_text(data, size);
  auto v = from_msgpack(bytes);

  // The reader alone: walk every item header, then skip the first whole value.
  mp_reader walk{bytes};
  mp_reader::item it;
  for (size_t n = 0; n < size + 1 && walk.next(it); ++n) {
  }
  mp_reader skipper{bytes};
  bool skipped = skipper.skip();
  if (v)
    fuzz::check(skipped && skipper.at_end(), "skip disagrees with from_msgpack on a valid value");
  if (!v)
    return 0;
  auto encoded = to_msgpack(*v);
  auto again = from_msgpack(encoded);
  fuzz::check(again && *again == *v, "msgpack round trip changed the value", to_json(*v));
  fuzz::check(to_msgpack(*again) == encoded, "msgpack encoding is not canonical", to_json(*v));
  auto json = parse_json(to_json(*v));
  fuzz::check(json && *json == *v, "a decoded value does not survive JSON", to_json(*v));
  return 0;
}
