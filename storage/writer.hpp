// The group-commit writer: the only thread that writes to a node's LMDB environment.
//
// Any thread (actors, the gateway, embedders) submits requests. The writer thread takes every
// request queued so far (at most max_batch_requests), applies them in submission order inside
// one write transaction, commits it (one fsync under durability::full) and only then calls each
// request's completion. Batching adapts to load without a timer: while a commit is in flight,
// new requests queue up and form the next batch; a lone request on an idle writer is committed
// at once. Wait bound: a request that finds Q requests queued ahead of it waits for the batch
// being committed, then ceil((Q + 1) / max_batch_requests) more batches, its own the last. With
// Q < max_batch_requests (the usual case: the queue empties every commit) that is the batch in
// flight plus its own; under a sustained overload the queue may hold up to max_queued_requests
// (past it, submit fails with `unavailable`), so the worst case is max_queued_requests /
// max_batch_requests + 1 commits (257 with the defaults), not two.
//
// Memory bound: each request says how many bytes it holds while it waits (its payload: record,
// keys); the queue holds at most max_queued_bytes of them. Past it, submit fails at once with
// `unavailable`, so a flood of large writes is shed before it grows memory, not after a million
// of them. One request larger than the whole bound is still taken when nothing else is queued,
// so that no write is refused for its size alone.
//
// Failure isolation: a request that refuses (returns an error) fails alone. If it had already
// changed the transaction, or LMDB broke the transaction inside it, the batch is redone without
// it. If the map is full the map grows and the batch is redone. A failed commit fails exactly
// the requests of that batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "caf/error.hpp"

#include "storage/environment.hpp"

namespace debros::storage {

struct writer_options {
  /// Most requests in one transaction.
  size_t max_batch_requests = 4096;
  /// Most requests waiting for the writer; past it, submit fails at once with `unavailable`
  /// ("write queue full") instead of growing memory without bound.
  size_t max_queued_requests = size_t{1} << 20;
  /// Most bytes held by the requests waiting for the writer (the `bytes` each submit declares);
  /// past it, submit fails at once with `unavailable` ("write queue full"). A request is always
  /// taken into an empty queue, however large.
  size_t max_queued_bytes = size_t{512} << 20;
};

/// Counters since the writer started. Read with relaxed atomics: figures, not synchronization.
struct writer_stats {
  uint64_t commits = 0;
  uint64_t requests = 0;
  uint64_t failed_requests = 0;
  uint64_t failed_commits = 0;
  uint64_t redone_batches = 0;
  uint64_t largest_batch = 0;
  uint64_t queued = 0;
  /// Bytes declared by the requests queued now.
  uint64_t queued_bytes = 0;
  /// Requests refused at submit because the queue was full (in requests or in bytes).
  uint64_t refused = 0;
  uint64_t commit_us_total = 0;
};

class writer {
public:
  /// Applies one request inside the batch transaction. It must act only through `txn`: it may run
  /// more than once (when its batch is redone), and only its last run counts. Returning an error
  /// refuses the request; whatever it changed is rolled back.
  using apply_fn = std::function<caf::error(write_txn& txn)>;

  /// Called exactly once per request, on the writer thread: with no error after the request's
  /// transaction is durable, or with the error that failed it. It must be short and must not
  /// block (deliver a promise, send a message, notify a waiter).
  using done_fn = std::function<void(const caf::error& err)>;

  /// Starts the writer thread. `env` must outlive the writer.
  explicit writer(environment& env, writer_options opts = {});

  /// Stops (see stop()).
  ~writer();

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Queues a request. Thread-safe. `bytes` is what the request holds in memory while it waits
  /// (its record and keys; 0 for a request that carries no payload), counted against
  /// max_queued_bytes. After stop() began, or when the queue is full (max_queued_requests, or
  /// max_queued_bytes with another request queued), `done` is called at once on the calling
  /// thread with shutting_down or unavailable, and `apply` never runs.
  void submit(apply_fn apply, done_fn done, size_t bytes = 0);

  /// Submits and waits for the result. For plain threads only (setup code, tools, tests): never
  /// call it from an actor, and never while holding a read transaction.
  caf::error write(apply_fn apply);

  /// Commits everything queued so far, then ends the writer thread. Idempotent; thread-safe.
  void stop();

  writer_stats stats() const;

private:
  struct request {
    apply_fn apply;
    done_fn done;
    size_t bytes = 0;
  };

  void run();
  void run_batch(std::deque<request>& batch);
  void finish(std::deque<request>& batch, std::vector<caf::error>& results);

  environment& env_;
  writer_options opts_;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<request> queue_;
  /// The sum of queue_'s bytes.
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool idle_ = false;

  std::thread thread_;
  std::once_flag stop_once_;

  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> failed_requests_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> redone_batches_{0};
  std::atomic<uint64_t> largest_batch_{0};
  std::atomic<uint64_t> commit_us_total_{0};
  std::atomic<uint64_t> refused_{0};
};

} // namespace debros::storage
