// Requests held until the consumer of an outbox channel has applied the work that was committed
// before they arrived (a global index partition's queries: gindex.cpp).
//
// A request arriving when the channel's last sequence number is L needs every item through L
// applied, and nothing later: a write acknowledged before the request was sent committed its
// item before the request's snapshot of the outbox, so its number is at most L. Items appended
// afterwards never hold the request up, so it is answered under sustained writes too, where an
// empty channel may never come.
//
// Pure state: no I/O and no actors. The consumer reads the outbox and tells the gate what it saw;
// it removes each item in the transaction that applies (or quarantines) it, so the first item
// left in the channel is the first one not applied.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace debros {

/// Where a channel stands in one snapshot of the outbox.
struct channel_position {
  /// The last sequence number appended by a committed transaction (outbox::last_seq).
  uint64_t last = 0;
  /// The first item left in the channel, if any: the first one not applied yet.
  std::optional<uint64_t> first_left;

  /// Every item with a number up to this one is applied.
  uint64_t applied() const noexcept { return first_left ? *first_left - 1 : last; }
};

/// Holds requests of type T (a query and its response promise) until the channel is applied
/// through the number each one waits for. Not thread-safe: one actor owns it.
template <class T>
class apply_gate {
public:
  /// The number a request arriving at `at` must wait for, or std::nullopt when everything it
  /// may depend on is applied already (answer it at once).
  static std::optional<uint64_t> target(const channel_position& at) noexcept {
    if (at.applied() >= at.last)
      return std::nullopt;
    return at.last;
  }

  /// Holds `item` until every item through `through` is applied.
  void hold(uint64_t through, T item) { held_.emplace_back(through, std::move(item)); }

  /// The held requests that are due now that `first_left` is the first item left in the
  /// channel (std::nullopt: nothing is left), in arrival order; the others stay held.
  std::vector<T> release(std::optional<uint64_t> first_left) {
    std::vector<T> due;
    std::vector<std::pair<uint64_t, T>> later;
    for (auto& [through, item] : held_) {
      if (!first_left || through < *first_left)
        due.push_back(std::move(item));
      else
        later.emplace_back(through, std::move(item));
    }
    held_ = std::move(later);
    return due;
  }

  /// Every held request, in arrival order (to fail them).
  std::vector<T> release_all() {
    std::vector<T> out;
    for (auto& held : held_)
      out.push_back(std::move(held.second));
    held_.clear();
    return out;
  }

  size_t size() const noexcept { return held_.size(); }

private:
  std::vector<std::pair<uint64_t, T>> held_;
};

} // namespace debros
