#include "actors/scan_runner.hpp"

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/local_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/interfaces.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

using slice_atom = caf::atom_constant<caf::atom("slice")>;

struct runner_state {
  std::shared_ptr<partition_scan> scan;
  caf::typed_response_promise<partition_result> rp;
  bool answered = false;
};

caf::behavior runner_main(caf::stateful_actor<runner_state>* self, slice_watch watch,
                          storage::environment* env, uint64_t slice_entries,
                          std::shared_ptr<partition_scan> scan,
                          caf::typed_response_promise<partition_result> rp) {
  self->state.scan = std::move(scan);
  self->state.rp = std::move(rp);
  self->set_down_handler([self](caf::down_msg&) {
    if (!self->state.answered) {
      self->state.answered = true;
      self->state.rp.deliver(make_error(errc::unavailable,
                                        "the scan for this query stopped: its partition stopped, "
                                        "or the query's coordinator is gone"));
    }
    self->quit();
  });
  for (auto& addr : {watch.partition, watch.requester})
    if (auto p = caf::actor_cast<caf::strong_actor_ptr>(addr))
      self->monitor(p);
  self->send(self, slice_atom::value);
  return {
      [=](slice_atom) {
        auto& st = self->state;
        if (st.answered)
          return;
        auto done = st.scan->step(*env, slice_entries);
        if (!done) {
          self->send(self, slice_atom::value); // behind whatever else came meanwhile
          return;
        }
        st.answered = true;
        if (*done)
          st.rp.deliver(std::move(**done));
        else
          st.rp.deliver(std::move(done->error()));
        self->quit();
      },
  };
}

} // namespace

void continue_in_slices(caf::actor_system& sys, storage::environment& env,
                        std::shared_ptr<partition_scan> scan, uint64_t slice_entries,
                        caf::typed_response_promise<partition_result> rp, slice_watch watch) {
  sys.spawn(runner_main, std::move(watch), &env, slice_entries, std::move(scan), std::move(rp));
}

void deliver_in_slices(caf::local_actor* self, storage::environment& env, partition_layout layout,
                       std::shared_ptr<const void> keep_def, const model_def& def,
                       partition_query pq, caf::typed_response_promise<partition_result> rp) {
  auto slice = pq.slice_entries;
  auto scan =
      std::make_shared<partition_scan>(std::move(layout), def, std::move(keep_def), std::move(pq));
  auto done = scan->step(env, slice);
  if (!done)
    return continue_in_slices(self->system(), env, std::move(scan), slice, std::move(rp),
                              slice_watch{self->address(), {}});
  if (*done)
    rp.deliver(std::move(**done));
  else
    rp.deliver(std::move(done->error()));
}

} // namespace debros
