// debros-bench-storage: durable write throughput of the group-commit writer.
//
// Goal (foundation issue): with 64 concurrent writers of 300-byte records, at least 100,000
// durable acknowledged writes/s, at least 30x the one-fsync-per-write baseline and at least a
// quarter of the single-transaction baseline.
//
// Method: every measurement writes 300-byte values under 16-byte keys into a fresh store, fsync on
// every commit (LMDB's default, durability::full). Two key patterns, each with its own baselines:
//   sequential  keys in write order, as Debros' time-sortable document ids are (the goal's case),
//   random      keys spread over the key space (splitmix64), the worst case for page writes.
// In the same run, for each pattern:
//   lmdb_fsync_per_put  raw LMDB, one put per committed transaction (the baseline),
//   lmdb_single_txn     raw LMDB, all puts in one transaction and one commit,
//   group_commit        storage::writer with W writers (1, 8, 64); each writer keeps one request
//                       in flight and submits the next from the acknowledgement, as an actor does.
// Latency is submit-to-acknowledgement: "latency": "per_write" on a line. lmdb_single_txn is
// timed as a whole only (per-put clock reads would slow the baseline): "latency": "none", p50_us
// and p99_us 0. Output: one JSON line per measurement.
// Every measurement runs once as a warm-up, then 5 times (3 with --quick) in rounds whose order
// reverses each round; a line reports the medians and every run's throughput, and its ratios are
// of medians; the goal's "met" is judged on the medians only.
// Sizes per run: --quick for CI smoke runs; full size by default (`make bench`): 10,000 writes
// with one fsync each (and 1 writer), 1,000,000 in one transaction, 200,000 with 8 writers or
// random keys, 500,000 with 64 writers and sequential keys.
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include <lmdb.h>

#include "bench/bench_util.hpp"
#include "messages/errc.hpp"
#include "storage/environment.hpp"
#include "storage/writer.hpp"

using namespace debros;
using namespace debros::bench;

namespace {

constexpr size_t value_bytes = 300;

enum class keys { sequential, random };

const char* to_string(keys k) {
  return k == keys::sequential ? "sequential" : "random";
}

std::string key_for(keys k, uint64_t i) {
  char buf[17];
  auto x = k == keys::sequential ? i : mix(i);
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return std::string{buf, 16};
}

struct raw_env {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;

  explicit raw_env(const std::string& dir) {
    check(mdb_env_create(&env), "create");
    check(mdb_env_set_mapsize(env, size_t{8} << 30), "mapsize");
    check(mdb_env_open(env, dir.c_str(), 0, 0640), "open");
    MDB_txn* txn;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi), "dbi");
    check(mdb_txn_commit(txn), "commit");
  }
  ~raw_env() { mdb_env_close(env); }

  static void check(int rc, const char* what) {
    if (rc != 0) {
      std::fprintf(stderr, "lmdb %s: %s\n", what, mdb_strerror(rc));
      std::exit(1);
    }
  }
};

struct result {
  double ops_per_s;
  double p50_us;
  double p99_us;
  /// Whether p50/p99 are measured per write (submit to acknowledgement); when false they are 0.
  bool per_write_latency = true;
};

result raw_fsync_per_put(const std::string& dir, keys kp, uint64_t n) {
  raw_env e{dir};
  std::string val(value_bytes, 'v');
  samples lat;
  auto t0 = clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    auto s = clock::now();
    auto k = key_for(kp, i);
    MDB_val mk{k.size(), k.data()};
    MDB_val mv{val.size(), val.data()};
    MDB_txn* txn;
    raw_env::check(mdb_txn_begin(e.env, nullptr, 0, &txn), "begin");
    raw_env::check(mdb_put(txn, e.dbi, &mk, &mv, 0), "put");
    raw_env::check(mdb_txn_commit(txn), "commit");
    lat.add(clock::now() - s);
  }
  double secs = seconds_since(t0);
  return {static_cast<double>(n) / secs, lat.percentile(50), lat.percentile(99)};
}

// Only the whole run is timed: two clock reads and a sample per put would slow the loop this
// baseline exists to measure. There is no per-write latency here (every put is acknowledged by
// the one commit), so p50/p99 are 0 and the line says latency "none".
result raw_single_txn(const std::string& dir, keys kp, uint64_t n) {
  raw_env e{dir};
  std::string val(value_bytes, 'v');
  auto t0 = clock::now();
  MDB_txn* txn;
  raw_env::check(mdb_txn_begin(e.env, nullptr, 0, &txn), "begin");
  for (uint64_t i = 0; i < n; ++i) {
    auto k = key_for(kp, i);
    MDB_val mk{k.size(), k.data()};
    MDB_val mv{val.size(), val.data()};
    raw_env::check(mdb_put(txn, e.dbi, &mk, &mv, 0), "put");
  }
  raw_env::check(mdb_txn_commit(txn), "commit");
  double secs = seconds_since(t0);
  return {static_cast<double>(n) / secs, 0, 0, false};
}

// W closed-loop writers, each with one request in flight, until `n` writes are acknowledged.
class group_commit_run {
public:
  group_commit_run(const std::string& dir, keys kp, int writers, uint64_t n)
      : keys_(kp), writers_(writers), total_(n), lat_(static_cast<size_t>(writers)) {
    storage::env_options opts;
    opts.path = dir;
    opts.tables = {"t"};
    opts.initial_map_bytes = size_t{1} << 30;
    env_ = std::move(*storage::environment::open(opts));
    table_ = env_->get_table("t");
    writer_ = std::make_unique<storage::writer>(*env_);
  }

  result run() {
    auto t0 = clock::now();
    for (int i = 0; i < writers_; ++i)
      issue(i);
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [&] { return finished_ == writers_; });
    }
    double secs = seconds_since(t0);
    samples all;
    for (auto& s : lat_)
      all.us.insert(all.us.end(), s.us.begin(), s.us.end());
    writer_->stop();
    if (failures_ > 0) {
      std::fprintf(stderr, "%llu writes failed\n", static_cast<unsigned long long>(failures_));
      std::exit(1);
    }
    return {static_cast<double>(total_) / secs, all.percentile(50), all.percentile(99)};
  }

  storage::writer_stats stats() const { return writer_->stats(); }

private:
  void issue(int w) {
    auto op = next_.fetch_add(1);
    if (op >= total_) {
      std::lock_guard<std::mutex> guard{mtx_};
      if (++finished_ == writers_)
        cv_.notify_all();
      return;
    }
    auto start = clock::now();
    writer_->submit(
        [this, op](storage::write_txn& txn) { return txn.put(table_, key_for(keys_, op), value_); },
        [this, w, start](const caf::error& err) {
          if (err)
            ++failures_;
          lat_[static_cast<size_t>(w)].add(clock::now() - start);
          issue(w);
        });
  }

  keys keys_;
  int writers_;
  uint64_t total_;
  std::unique_ptr<storage::environment> env_;
  storage::table table_;
  std::unique_ptr<storage::writer> writer_;
  std::string value_ = std::string(value_bytes, 'v');
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> failures_{0};
  std::vector<samples> lat_;
  std::mutex mtx_;
  std::condition_variable cv_;
  int finished_ = 0;
};

// The writer's batching of each run (the warm-up's included: a figure of how the writer
// batched, not a measurement).
struct batch_figures {
  std::vector<double> avg_batch;
  std::vector<double> commit_us;

  void add(const storage::writer_stats& st) {
    avg_batch.push_back(st.commits ? static_cast<double>(st.requests) / st.commits : 0);
    commit_us.push_back(st.commits ? static_cast<double>(st.commit_us_total) / st.commits : 0);
  }
};

} // namespace

int main(int argc, char** argv) {
  options opt{argc, argv};
  int runs = measured_runs(opt.quick);
  uint64_t fsync_n = opt.quick ? 200 : 10000;
  uint64_t single_n = opt.quick ? 20000 : 1000000;
  auto group_n = [&](keys kp, int writers) -> uint64_t {
    if (writers == 1)
      return opt.quick ? 200 : 10000;
    if (writers == 8 || kp == keys::random)
      return opt.quick ? 2000 : 200000;
    return opt.quick ? 5000 : 500000;
  };
  auto to_figures = [](const result& r) { return run_figures{r.ops_per_s, r.p50_us, r.p99_us}; };
  for (keys kp : {keys::sequential, keys::random}) {
    std::string suffix = std::string{"-"} + to_string(kp);
    // The random pattern is shown at the goal's concurrency only.
    std::vector<int> writer_counts =
        kp == keys::sequential ? std::vector<int>{1, 8, 64} : std::vector<int>{64};
    std::vector<batch_figures> batches(writer_counts.size());
    std::vector<std::function<run_figures()>> ms;
    ms.emplace_back([&] {
      return to_figures(raw_fsync_per_put(opt.fresh("raw-fsync" + suffix), kp, fsync_n));
    });
    ms.emplace_back(
        [&] { return to_figures(raw_single_txn(opt.fresh("raw-single" + suffix), kp, single_n)); });
    for (size_t w = 0; w < writer_counts.size(); ++w)
      ms.emplace_back([&, w] {
        int writers = writer_counts[w];
        group_commit_run gc{opt.fresh("group-" + std::to_string(writers) + suffix), kp, writers,
                            group_n(kp, writers)};
        auto r = gc.run();
        batches[w].add(gc.stats());
        return to_figures(r);
      });
    auto series = rounds(runs, ms);
    auto& fsync_per_put = series[0];
    auto& single = series[1];
    auto line = [&](const char* bench, int writers, uint64_t n, const run_series& r, bool latency) {
      json_line out;
      out.str("bench", bench)
          .str("keys", to_string(kp))
          .num("writers", writers)
          .num("ops", static_cast<double>(n))
          .str("latency", latency ? "per_write" : "none");
      add_runs(out, r, "lmdb_fsync_per_put", fsync_per_put)
          .num("single_txn_ops_per_s", single.ops_median())
          .num("ratio_vs_single_txn", r.ops_median() / single.ops_median());
      return out;
    };
    line("lmdb_fsync_per_put", 1, fsync_n, fsync_per_put, true)
        .num("rss_mb", peak_rss_mb())
        .print();
    line("lmdb_single_txn", 1, single_n, single, false).num("rss_mb", peak_rss_mb()).print();
    for (size_t w = 0; w < writer_counts.size(); ++w) {
      int writers = writer_counts[w];
      auto& r = series[2 + w];
      auto out = line("group_commit", writers, group_n(kp, writers), r, true);
      out.num("avg_batch", median(batches[w].avg_batch))
          .num("commit_us_avg", median(batches[w].commit_us));
      if (kp == keys::sequential && writers == 64) {
        double ratio = r.ops_median() / fsync_per_put.ops_median();
        double vs_single = r.ops_median() / single.ops_median();
        out.str("goal", "ops_per_s >= 100000, ratio >= 30, ratio_vs_single_txn >= 0.25")
            .boolean("met", r.ops_median() >= 100000 && ratio >= 30 && vs_single >= 0.25);
      }
      out.num("rss_mb", peak_rss_mb()).print();
    }
  }
  return 0;
}
