// The same-run baselines of debros-bench-engine, and what they share with its engine side: the
// documents, the keys and records a create writes, and a thread pool shaped like the engine's
// scheduler. A baseline does the storage work and the msgpack field extraction of its
// measurement without the engine (actors, routing, planning, merging through messages), so a
// ratio to it is what the engine costs on top:
//   creates  the storage writer alone (group commit) writing the keys and records the engine
//            writes, from as many concurrent callers;
//   reads    the partitions walked with the same number of threads as the engine's scheduler,
//            each record's version byte checked and the fields the query looks at extracted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/ids.hpp"
#include "actors/placement.hpp"
#include "bench/bench_util.hpp"
#include "messages/errc.hpp"
#include "messages/query.hpp"
#include "storage/environment.hpp"
#include "storage/key_codec.hpp"
#include "storage/outbox.hpp"
#include "storage/record.hpp"
#include "storage/writer.hpp"

namespace debros::bench {

constexpr int categories = 16;
constexpr int authors = 1000;
constexpr uint32_t shard_count = 16;

/// The engine's scheduler threads in this benchmark (runtime_options::scheduler_threads is set
/// to it), and so the threads of every read baseline.
inline int engine_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

[[noreturn]] inline void fail(const std::string& what, const caf::error& err) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), message_of(err).c_str());
  std::exit(1);
}

inline value make_post(std::mt19937_64& rng) {
  static const std::string body(200, 'x');
  return value{object{{"title", "A post title of moderate length " + std::to_string(rng() % 1000)},
                      {"body", body},
                      {"category", "cat" + std::to_string(rng() % categories)},
                      {"authorId", "author" + std::to_string(rng() % authors)},
                      {"isPublic", rng() % 4 != 0},
                      {"views", static_cast<int64_t>(rng() % 100000)}}};
}

inline value make_user_post(std::mt19937_64& rng, int users) {
  static const std::string body(220, 'u');
  return value{object{{"userId", "user" + std::to_string(rng() % static_cast<uint64_t>(users))},
                      {"title", "A user's post " + std::to_string(rng() % 1000)},
                      {"body", body},
                      {"isPublic", rng() % 4 != 0}}};
}

/// The shard of a document id under hash sharding by id (placement.hpp: stable_hash of the
/// id's key encoding).
inline uint32_t shard_of_id(std::string_view id) {
  std::string k;
  storage::append_key(k, value{std::string{id}});
  return static_cast<uint32_t>(stable_hash(k) % shard_count);
}

/// The record a create stores for `doc` (model id 1): the document with the system fields the
/// engine adds (id, createdAt, updatedAt, in that order), as a version-1 record.
inline std::string record_with_system_fields(value& doc, const std::string& id, int64_t now) {
  auto& obj = doc.as_object();
  obj.set("id", id);
  obj.set("createdAt", now);
  obj.set("updatedAt", now);
  auto rec = storage::encode_record(doc);
  if (!rec)
    fail("record", rec.error());
  return std::move(*rec);
}

/// A Post create as the engine writes it: the document under its shard and its three index
/// entries (category, authorId or isPublic, createdAt).
struct post_write {
  std::string doc_key;
  std::string record;
  std::vector<std::string> index_keys;
  /// The shard's write sequence (doc_keys::seq_key), advanced as the engine does.
  doc_keys::partition_id part;
};

inline post_write plan_post(value doc, bool by_author) {
  post_write w;
  auto id = new_id();
  auto now = now_ms();
  auto shard = shard_of_id(id);
  w.record = record_with_system_fields(doc, id, now);
  w.doc_key = doc_keys::doc_key(1, shard, id);
  for (auto* f : {"category", by_author ? "authorId" : "isPublic"})
    w.index_keys.push_back(doc_keys::index_key(1, shard, f, *doc.find(f), now, id));
  w.index_keys.push_back(doc_keys::index_key(1, shard, "createdAt", value{now}, now, id));
  w.part = doc_keys::partition_id{1, doc_keys::partition_kind::shard, shard};
  return w;
}

/// A user-scoped create as the engine writes it (model id 1, isPublic indexed "global"): the
/// document in its user's database, the owners entry, the user entry when new, and the global
/// index work item in the outbox.
struct user_post_write {
  std::string doc_key;
  std::string record;
  std::string owner_key;
  std::string user;
  std::string user_record;
  std::string channel;
  std::string work;
};

inline user_post_write plan_user_post(value doc) {
  user_post_write w;
  auto id = new_id();
  auto now = now_ms();
  w.user = doc.find("userId")->as_string();
  auto pub = *doc.find("isPublic");
  w.record = record_with_system_fields(doc, id, now);
  w.doc_key = doc_keys::user_doc_key(1, w.user, id);
  w.owner_key = doc_keys::owner_key(1, id);
  auto user = storage::encode_record(value{object{{"id", w.user}, {"createdAt", now}}});
  if (!user)
    fail("user record", user.error());
  w.user_record = std::move(*user);
  auto part = doc_keys::gindex_partition_of(pub);
  w.channel = gindex_channel(1, part);
  w.work = encode_gindex_op(
      gindex_op{true, doc_keys::gindex_key(1, part, "isPublic", pub, now, w.user, id)});
  return w;
}

/// A store with the runtime's tables and its options (1 GiB initial map, fsync per commit) and
/// a storage writer on it: what the engine writes through, without the engine.
struct writer_store {
  std::unique_ptr<storage::environment> env;
  std::unique_ptr<storage::writer> writer;
  doc_tables tables;

  explicit writer_store(const std::string& dir) {
    storage::env_options o;
    o.path = dir;
    for (auto t = runtime_tables; *t != nullptr; ++t)
      o.tables.emplace_back(*t);
    o.initial_map_bytes = size_t{1} << 30;
    auto e = storage::environment::open(o);
    if (!e)
      fail("open", e.error());
    env = std::move(*e);
    writer = std::make_unique<storage::writer>(*env);
    tables = doc_tables_of(*env);
  }
  ~writer_store() { writer->stop(); }

  storage::writer::apply_fn apply(post_write w) const {
    return [w = std::move(w), t = tables](storage::write_txn& txn) -> caf::error {
      if (auto err = txn.put(t.docs, w.doc_key, w.record, MDB_NOOVERWRITE))
        return err;
      for (auto& k : w.index_keys)
        if (auto err = txn.put(t.index, k, {}))
          return err;
      return advance_seq(txn, t.seqs, w.part);
    };
  }

  storage::writer::apply_fn apply(user_post_write w) const {
    return [w = std::move(w), t = tables](storage::write_txn& txn) -> caf::error {
      if (auto err = txn.put(t.docs, w.doc_key, w.record, MDB_NOOVERWRITE))
        return err;
      if (auto err = txn.put(t.owners, w.owner_key, w.user))
        return err;
      auto user_key = doc_keys::user_key(w.user);
      auto known = txn.get(t.users, user_key);
      if (!known)
        return known.error();
      if (!*known)
        if (auto err = txn.put(t.users, user_key, w.user_record))
          return err;
      storage::outbox box{t.outbox};
      if (auto seq = box.append(txn, w.channel, w.work); !seq)
        return seq.error();
      return caf::none;
    };
  }
};

/// `callers` closed loops on the storage writer, each keeping one write in flight, until `n`
/// are acknowledged. A completion runs on the writer thread, so it only hands its caller to one
/// of `threads` feeder threads, which makes the next document and its write and submits it: as
/// the engine's completions go back to its scheduler threads, where the next create is planned.
/// `make(op)` returns the write of operation `op`; latency is from planning to acknowledgement.
inline run_figures
writer_closed_loops(writer_store& s, int callers, int threads, uint64_t n,
                    const std::function<storage::writer::apply_fn(uint64_t)>& make) {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<int> ready;
  int finished = 0;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> failed{0};
  std::vector<samples> lat(static_cast<size_t>(callers));
  std::vector<clock::time_point> started(static_cast<size_t>(callers));
  auto t0 = clock::now();
  for (int c = 0; c < callers; ++c)
    ready.push_back(c);
  std::vector<std::thread> feeders;
  for (int t = 0; t < threads; ++t)
    feeders.emplace_back([&] {
      std::unique_lock<std::mutex> g{mtx};
      while (finished < callers) {
        if (ready.empty()) {
          cv.wait(g);
          continue;
        }
        int c = ready.front();
        ready.pop_front();
        g.unlock();
        auto op = next.fetch_add(1);
        if (op >= n) {
          g.lock();
          ++finished;
          cv.notify_all();
          continue;
        }
        auto i = static_cast<size_t>(c);
        started[i] = clock::now();
        s.writer->submit(make(op), [&, c, i](const caf::error& err) {
          if (err)
            ++failed;
          lat[i].add(clock::now() - started[i]);
          std::lock_guard<std::mutex> lg{mtx};
          ready.push_back(c);
          cv.notify_one();
        });
        g.lock();
      }
    });
  for (auto& f : feeders)
    f.join();
  double secs = seconds_since(t0);
  if (failed > 0)
    fail("writer baseline", make_error(errc::internal, std::to_string(failed) + " failed"));
  return figures_of(n, secs, merged(lat));
}

/// `threads` threads, each making a write and waiting for its acknowledgement (writer::write),
/// until `n` are acknowledged: the baseline of callers using the blocking API.
inline run_figures
writer_blocking_threads(writer_store& s, int threads, uint64_t n,
                        const std::function<storage::writer::apply_fn(uint64_t)>& make) {
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> failed{0};
  std::vector<samples> lat(static_cast<size_t>(threads));
  auto t0 = clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (auto op = next.fetch_add(1); op < n; op = next.fetch_add(1)) {
        auto st = clock::now();
        if (s.writer->write(make(op)))
          ++failed;
        lat[static_cast<size_t>(t)].add(clock::now() - st);
      }
    });
  for (auto& t : ts)
    t.join();
  double secs = seconds_since(t0);
  if (failed > 0)
    fail("writer baseline", make_error(errc::internal, std::to_string(failed) + " failed"));
  return figures_of(n, secs, merged(lat));
}

/// A fixed set of threads that runs the partitions of one query: each thread takes the next
/// partition until none is left, and the caller waits for the last (as the engine's caller waits
/// for the coordinator while the scheduler's threads run the shards' parts).
class partition_pool {
public:
  explicit partition_pool(int threads) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this] { work(); });
  }
  ~partition_pool() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }
  partition_pool(const partition_pool&) = delete;
  partition_pool& operator=(const partition_pool&) = delete;

  int threads() const { return static_cast<int>(threads_.size()); }

  /// Runs fn(p) for every p in [0, partitions) on the pool's threads; returns when all ran.
  void run(uint32_t partitions, const std::function<void(uint32_t)>& fn) {
    std::unique_lock<std::mutex> g{mtx_};
    fn_ = &fn;
    count_ = partitions;
    next_ = 0;
    left_ = partitions;
    ++round_;
    cv_.notify_all();
    done_.wait(g, [&] { return left_ == 0; });
    fn_ = nullptr;
  }

private:
  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> g{mtx_};
    for (;;) {
      cv_.wait(g, [&] { return stop_ || (round_ != seen && next_ < count_); });
      if (stop_)
        return;
      while (next_ < count_) {
        auto p = next_++;
        auto* fn = fn_;
        g.unlock();
        (*fn)(p);
        g.lock();
        if (--left_ == 0)
          done_.notify_all();
      }
      seen = round_;
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable done_;
  const std::function<void(uint32_t)>* fn_ = nullptr;
  uint32_t count_ = 0;
  uint32_t next_ = 0;
  uint32_t left_ = 0;
  uint64_t round_ = 0;
  bool stop_ = false;
};

/// The msgpack body of a stored record after it is verified (version and checksum), as the
/// partitions read records.
inline std::string_view checked_body(std::string_view record) {
  auto body = storage::record_body(record, "document");
  if (!body)
    fail("baseline", body.error());
  return *body;
}

/// One candidate a partition keeps: its sort values and its stored body.
struct raw_hit {
  value key;
  std::string id;
  std::string body;
};

/// The best `limit` of `hits` (descending by key then id when `descending`, else ascending by
/// id), each decoded as the coordinator decodes the page it returns. Returns how many.
inline size_t decode_page(std::vector<raw_hit>& hits, size_t limit, bool descending) {
  auto end = std::min(limit, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(end), hits.end(),
                    [&](const raw_hit& a, const raw_hit& b) {
                      if (!descending)
                        return a.id < b.id;
                      int c = compare(a.key, b.key);
                      return c != 0 ? c > 0 : a.id > b.id;
                    });
  for (size_t i = 0; i < end; ++i)
    if (auto doc = storage::decode_body(hits[i].body, "document"); !doc)
      fail("baseline decode", doc.error());
  return end;
}

} // namespace debros::bench
