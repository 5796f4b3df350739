// A reply that is either a CAF response promise (the request came from an actor) or a callback
// (it came from outside the actor system). Delivered only on the thread of the actor that
// created it.
#pragma once

#include <utility>

#include "caf/expected.hpp"
#include "caf/result.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/interfaces.hpp"

namespace debros {

template <class R>
class reply {
public:
  explicit reply(caf::typed_response_promise<R> rp) : rp_(std::move(rp)) {}
  explicit reply(reply_fn<R> fn) : fn_(std::move(fn)) {}

  void deliver(R x) const {
    if (fn_)
      call_reply(fn_, caf::expected<R>{std::move(x)});
    else
      rp_.deliver(std::move(x));
  }

  void fail(caf::error err) const {
    if (fn_)
      call_reply(fn_, caf::expected<R>{std::move(err)});
    else
      rp_.deliver(std::move(err));
  }

private:
  mutable caf::typed_response_promise<R> rp_;
  reply_fn<R> fn_;
};

} // namespace debros
