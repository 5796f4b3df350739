// Long partition scans in slices (actors/partition_scan.hpp "partition_scan"): the first slice
// runs in the handler of the partition actor that got the query; if the scan is not complete, a
// runner actor takes the rest, one slice per message, so that neither the partition's mailbox
// (its writes, its other queries) nor the store's writer (map growth waits for readers) waits
// for the whole scan, and no CAF worker thread is held for longer than one slice.
#pragma once

#include <memory>

#include "caf/actor_addr.hpp"
#include "caf/actor_cast.hpp"
#include "caf/fwd.hpp"
#include "caf/result.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/partition_scan.hpp"

namespace debros {

/// Who a runner watches: when one of them is gone, no one waits for the answer any more (the
/// partition stopped, or the coordinator that asked gave up or stopped), and the runner stops
/// the scan; `rp` gets `unavailable`.
struct slice_watch {
  caf::actor_addr partition;
  caf::actor_addr requester;
};

/// Delivers the answer of `scan`'s remaining slices (`slice_entries` entries each) to `rp` from
/// a runner actor. Call from the partition's handler after a first step paused.
void continue_in_slices(caf::actor_system& sys, storage::environment& env,
                        std::shared_ptr<partition_scan> scan, uint64_t slice_entries,
                        caf::typed_response_promise<partition_result> rp, slice_watch watch);

/// Answers `pq` for the partition `layout` of `entry`'s model from `self`'s handler: the answer
/// when the first slice completes the scan, else a promise the runner keeps (see above). The
/// runner watches the requester, and `self` unless `watch_self` is false (a one-shot actor that
/// quits after this handler).
template <class Self>
caf::result<partition_result>
answer_in_slices(Self* self, storage::environment& env, partition_layout layout,
                 std::shared_ptr<const void> entry, const model_def& def, partition_query pq,
                 bool watch_self = true) {
  auto slice = pq.slice_entries;
  auto scan =
      std::make_shared<partition_scan>(std::move(layout), def, std::move(entry), std::move(pq));
  if (auto done = scan->step(env, slice))
    return std::move(*done);
  auto rp = self->template make_response_promise<partition_result>();
  continue_in_slices(self->system(), env, std::move(scan), slice, rp,
                     slice_watch{watch_self ? self->address() : caf::actor_addr{},
                                 caf::actor_cast<caf::actor_addr>(self->current_sender())});
  return rp;
}

/// The same, for a query answered later (one that waited): the answer goes to `rp`; a runner
/// watches the partition `self`.
void deliver_in_slices(caf::local_actor* self, storage::environment& env, partition_layout layout,
                       std::shared_ptr<const void> keep_def, const model_def& def,
                       partition_query pq, caf::typed_response_promise<partition_result> rp);

} // namespace debros
