// JSON parsing (messages/json.hpp) of untrusted text. Beyond "no crash, no leak, no UB": a
// parsed value printed and parsed again gives the same text (reals stay reals), and its msgpack
// form decodes to an equal value.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "messages/json.hpp"
#include "messages/msgpack_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debros;
  auto v = parse_json(fuzz::as_text(data, size));
  if (!v)
    return 0;
  auto text = to_json(*v);
  auto again = parse_json(text);
  fuzz::check(static_cast<bool>(again), "printed JSON does not parse", text);
  fuzz::check(to_json(*again) == text, "JSON round trip changed the text", text);
  fuzz::check(*again == *v, "JSON round trip changed the value", text);
  auto pretty = parse_json(to_json_pretty(*v));
  fuzz::check(pretty && *pretty == *v, "pretty JSON does not read back", text);
  auto mp = from_msgpack(to_msgpack(*v));
  fuzz::check(mp && *mp == *v, "msgpack of a parsed JSON value does not read back", text);
  return 0;
}
