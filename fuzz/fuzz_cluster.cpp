// The cluster port's first bytes: what an unauthenticated peer controls before any handshake
// completes. CAF's middleman reads a 32-byte BASP header (caf::io::basp::header) and then
// `payload_len` bytes; our code meets those bytes when a payload is a message of Debros types
// (messages/type_ids.hpp), whose inspect functions run on peer bytes (debros::value decodes
// msgpack, see msgpack_codec.hpp). The input is a header followed by a payload, read as:
// the header, a handshake's node id and application identifiers, a whole caf::message, and
// each Debros message type on its own.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/io/basp/header.hpp"
#include "caf/message.hpp"
#include "caf/node_id.hpp"

#include "fuzz/fuzz_support.hpp"
#include "messages/init.hpp"
#include "messages/requests.hpp"
#include "messages/type_ids.hpp"

namespace {

using namespace debros;

caf::actor_system& sys() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    c.set("scheduler.max-threads", 1);
    c.set("logger.console", caf::atom("none"));
    register_types(c);
    return c;
  }();
  // Never destroyed: CAF's exit-time teardown after libFuzzer's exit() touches freed singletons.
  static auto* s = new caf::actor_system{cfg};
  return *s;
}

template <class T>
void load_as(const char* p, size_t n) {
  T x;
  caf::binary_deserializer src{sys(), p, n};
  if (src(x))
    return;
  // What loaded must save and load again (a peer cannot make us build a value we cannot send).
  std::vector<char> buf;
  caf::binary_serializer sink{sys(), buf};
  fuzz::check(!sink(x), "a loaded Debros type does not save");
  T y;
  caf::binary_deserializer back{sys(), buf};
  fuzz::check(!back(y), "a saved Debros type does not load");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = reinterpret_cast<const char*>(data);
  caf::io::basp::header hdr;
  caf::binary_deserializer hsrc{sys(), p, size};
  if (hsrc(hdr) || size < caf::io::basp::header_size)
    return 0;
  (void)caf::io::basp::valid(hdr);
  auto payload = p + caf::io::basp::header_size;
  auto n = size - caf::io::basp::header_size;
  {
    caf::node_id nid;
    std::vector<std::string> app_ids;
    caf::binary_deserializer src{sys(), payload, n};
    (void)(src(nid) || src(app_ids));
  }
  {
    caf::message msg;
    caf::binary_deserializer src{sys(), payload, n};
    (void)msg.load(src);
  }
  load_as<value>(payload, n);
  load_as<query>(payload, n);
  load_as<doc_create>(payload, n);
  load_as<doc_update>(payload, n);
  load_as<doc_increment>(payload, n);
  load_as<partition_query>(payload, n);
  load_as<partition_result>(payload, n);
  load_as<query_result>(payload, n);
  load_as<node_info>(payload, n);
  load_as<grouped_query>(payload, n);
  return 0;
}
