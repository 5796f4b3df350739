// Write acknowledgements from the writer thread to the actor that submitted the writes.
//
// The writer calls completions on its own thread, where no actor state may be touched and no
// response promise may be delivered (CAF 0.17 delivers with the owner's execution unit, which
// is only safe on the owner's thread). So completions go into this channel, and the first one
// of a batch wakes the owner with one `acks` message; the owner drains everything queued.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "caf/actor_cast.hpp"
#include "caf/actor_control_block.hpp"
#include "caf/error.hpp"
#include "caf/send.hpp"

#include "actors/interfaces.hpp"

namespace debros {

class ack_channel {
public:
  using item = std::pair<uint64_t, caf::error>;

  /// `owner` is held weakly: the channel never keeps its actor alive.
  explicit ack_channel(caf::weak_actor_ptr owner) : owner_(std::move(owner)) {}

  /// Queues the result of write `token`. Called on the writer thread (or inline by submit when
  /// the writer refuses at once).
  void push(uint64_t token, caf::error err) {
    bool wake;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      wake = items_.empty();
      items_.emplace_back(token, std::move(err));
    }
    if (wake)
      if (auto strong = owner_.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), acks_atom::value);
  }

  /// Everything queued so far. Called by the owner when it receives `acks`.
  std::vector<item> drain() {
    std::vector<item> out;
    std::lock_guard<std::mutex> guard{mtx_};
    out.swap(items_);
    return out;
  }

private:
  std::mutex mtx_;
  std::vector<item> items_;
  caf::weak_actor_ptr owner_;
};

} // namespace debros
