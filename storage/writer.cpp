#include "storage/writer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <future>

#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros::storage {

writer::writer(environment& env, writer_options opts) : env_(env), opts_(opts) {
  if (opts_.max_batch_requests == 0)
    opts_.max_batch_requests = 1;
  thread_ = std::thread{[this] { run(); }};
}

writer::~writer() {
  stop();
}

void writer::submit(apply_fn apply, done_fn done, size_t bytes) {
  // Both run on the writer thread, far from the caller: an empty one would fail there.
  DEBROS_ASSERT(apply && done);
  std::unique_lock<std::mutex> guard{mtx_};
  if (stopping_) {
    guard.unlock();
    done(make_error(errc::shutting_down, "the store is closing"));
    return;
  }
  if (queue_.size() >= opts_.max_queued_requests) {
    guard.unlock();
    refused_.fetch_add(1, std::memory_order_relaxed);
    done(make_error(errc::unavailable, "write queue full (" +
                                           std::to_string(opts_.max_queued_requests) +
                                           " requests waiting); retry later"));
    return;
  }
  // Into an empty queue anything goes: a request larger than the bound is not refused forever.
  if (!queue_.empty() &&
      bytes > opts_.max_queued_bytes - std::min(queued_bytes_, opts_.max_queued_bytes)) {
    auto held = queued_bytes_;
    guard.unlock();
    refused_.fetch_add(1, std::memory_order_relaxed);
    done(make_error(errc::unavailable,
                    "write queue full (" + std::to_string(held) + " bytes waiting, at most " +
                        std::to_string(opts_.max_queued_bytes) + "); retry later"));
    return;
  }
  queued_bytes_ += bytes;
  queue_.push_back(request{std::move(apply), std::move(done), bytes});
  bool wake = idle_;
  idle_ = false;
  guard.unlock();
  if (wake)
    cv_.notify_one();
}

caf::error writer::write(apply_fn apply) {
  std::promise<caf::error> result;
  auto fut = result.get_future();
  submit(std::move(apply), [&result](const caf::error& err) { result.set_value(err); });
  return fut.get();
}

void writer::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
    if (env_.options().sync == durability::process)
      env_.sync();
  });
}

writer_stats writer::stats() const {
  writer_stats out;
  out.commits = commits_.load(std::memory_order_relaxed);
  out.requests = requests_.load(std::memory_order_relaxed);
  out.failed_requests = failed_requests_.load(std::memory_order_relaxed);
  out.failed_commits = failed_commits_.load(std::memory_order_relaxed);
  out.redone_batches = redone_batches_.load(std::memory_order_relaxed);
  out.largest_batch = largest_batch_.load(std::memory_order_relaxed);
  out.commit_us_total = commit_us_total_.load(std::memory_order_relaxed);
  out.refused = refused_.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    out.queued = queue_.size();
    out.queued_bytes = queued_bytes_;
  }
  return out;
}

void writer::run() {
  std::deque<request> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{mtx_};
      if (queue_.empty() && !stopping_) {
        idle_ = true;
        cv_.wait(guard, [&] { return !queue_.empty() || stopping_; });
        idle_ = false;
      }
      if (queue_.empty())
        return; // stopping and drained
      if (queue_.size() <= opts_.max_batch_requests) {
        batch.swap(queue_);
      } else {
        for (size_t i = 0; i < opts_.max_batch_requests; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      // Taken off the queue: its bytes no longer count against max_queued_bytes.
      size_t taken = 0;
      for (auto& r : batch)
        taken += r.bytes;
      DEBROS_ASSERT(taken <= queued_bytes_);
      queued_bytes_ -= taken;
    }
    run_batch(batch);
    batch.clear();
  }
}

namespace {

// Runs one request, turning an escaping exception (a bug) into an error.
caf::error apply_one(const writer::apply_fn& apply, write_txn& txn) {
  try {
    return apply(txn);
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"write request threw: "} + e.what());
  } catch (...) {
    return make_error(errc::internal, "write request threw a non-standard exception");
  }
}

} // namespace

void writer::run_batch(std::deque<request>& batch) {
  DEBROS_ASSERT(!batch.empty() && batch.size() <= opts_.max_batch_requests);
  auto n = batch.size();
  std::vector<caf::error> results(n);
  std::vector<char> excluded(n, 0);
  auto fail_rest = [&](const caf::error& err) {
    for (size_t i = 0; i < n; ++i)
      if (!excluded[i]) {
        results[i] = err;
        excluded[i] = 1;
      }
  };
  for (;;) {
    auto txn = env_.begin_write();
    if (!txn) {
      fail_rest(txn.error());
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    bool redo = false;
    for (size_t i = 0; i < n && !redo; ++i) {
      if (excluded[i])
        continue;
      auto before = txn->mutations();
      auto err = apply_one(batch[i].apply, *txn);
      if (txn->broken()) {
        int rc = txn->broken_rc();
        txn->abort();
        redo = true;
        if (rc == MDB_MAP_FULL) {
          if (auto gerr = env_.grow()) {
            fail_rest(gerr);
            finish(batch, results);
            return;
          }
        } else {
          results[i] = err ? std::move(err) : from_mdb(rc, "write");
          excluded[i] = 1;
        }
      } else if (err) {
        results[i] = std::move(err);
        excluded[i] = 1;
        if (txn->mutations() != before) {
          // It changed the transaction before refusing: redo the batch without it.
          txn->abort();
          redo = true;
        }
      }
    }
    if (redo) {
      redone_batches_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto cerr = txn->commit();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
    commit_us_total_.fetch_add(static_cast<uint64_t>(us.count()), std::memory_order_relaxed);
    if (cerr && txn->broken_rc() == MDB_MAP_FULL) {
      // Committing may need pages too (the free list); grow and redo.
      if (auto gerr = env_.grow()) {
        fail_rest(gerr);
        break;
      }
      redone_batches_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (cerr) {
      fail_rest(cerr);
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      commits_.fetch_add(1, std::memory_order_relaxed);
    }
    break;
  }
  finish(batch, results);
}

void writer::finish(std::deque<request>& batch, std::vector<caf::error>& results) {
  // One result per request: each completion runs exactly once.
  DEBROS_ASSERT(results.size() == batch.size());
  auto n = batch.size();
  requests_.fetch_add(n, std::memory_order_relaxed);
  if (n > largest_batch_.load(std::memory_order_relaxed))
    largest_batch_.store(n, std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    if (results[i])
      failed_requests_.fetch_add(1, std::memory_order_relaxed);
    try {
      batch[i].done(results[i]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "debros: write completion threw: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "debros: write completion threw a non-standard exception\n");
    }
  }
}

} // namespace debros::storage
