// debros-bench-engine: the data engine through the embedded C++ API.
//
// Goals (data engine issue), 300-byte documents with 2 indexed fields, 16 shards:
//   durable creates from 64 concurrent callers            >= 100,000/s
//   get by id                                              >= 300,000/s
//   where indexed = v orderBy createdAt desc limit 20 over 1,000,000 documents: p50 <= 1 ms,
//   p99 <= 5 ms
//   a filter that must scan 1,000,000 documents           >= 5,000,000 documents/s
// and (user-database issue) user-scoped creates with a global index >= 50,000/s, userIn over 10
// users p50 <= 2 ms, a global-index query p50 <= 5 ms.
//
// Method. Model "Post": title, body (together ~300 bytes of msgpack per document), category
// (16 values, indexed), authorId (1,000 values, indexed), views (unindexed), 16 hash shards.
// The engine runs with as many scheduler threads as the machine has cores (engine_threads()).
// Every measurement is a warm-up round, then 5 rounds (3 with --quick), each running the engine
// side and its baseline once, in alternating order; each line reports the medians, every run's
// throughput, and ratio = median / baseline median; "met" is judged on the medians only. The
// baselines (engine_baselines.hpp) do the same storage work without the engine:
//   creates   engine.create from 64 callers, each keeping one create in flight (as actors do),
//             or 64 threads calling the blocking API, each run in a fresh store; baseline: the
//             storage writer alone (group commit) writing the same keys and records (document
//             with id, createdAt, updatedAt, and its 3 index entries) from as many callers, in
//             the same caller mode;
//   get       model_handle::get from 2 threads on random ids; baseline: raw gets of the same
//             keys from 2 threads (no decoding);
//   query     sequential queries on random categories; baseline: the same 16 shards walked by
//             as many threads as the engine's scheduler, each shard reading its best 21 index
//             entries and their documents (each record verified: version byte and CRC-32C;
//             category, createdAt and id extracted from the msgpack), then the best 20 merged and
//             decoded;
//   scan      `views = -1` (matches nothing, views is not indexed) over every document;
//             baseline: the 16 shards' documents walked by as many threads as the engine's
//             scheduler, each record verified (version byte, CRC-32C) and views extracted and
//             compared.
// The store for get/query/scan is loaded with batch creates (1,000 documents per transaction).
// User-scoped models (the user-database issue), model "UPost" (scope user, isPublic indexed
// "global"), in a second store:
//   user_create  durable creates of user-scoped documents, each for a random one of 100,000
//                users, from 64 callers; baseline: the storage writer alone writing the same
//                keys (document, owner entry, user entry when new, outbox item) from 64 callers;
//   user_in      a userIn query over 10 random users (limit 100); baseline: their ranges read
//                by as many threads as the engine's scheduler (ids extracted), the best 100
//                merged and decoded;
//   gindex       isPublic = true orderBy createdAt desc limit 20 over 1,000,000 documents of
//                100,000 users; baseline: the same index range walked (isPublic and createdAt
//                extracted from each document), the 20 decoded.
// --quick: 20,000 documents, 4,000 creates per run, 3 runs (CI smoke run); default: 1,000,000
// documents, 100,000 creates per run, 5 runs (`make bench`).
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <random>
#include <thread>

#include <lmdb.h>

#include "actors/engine.hpp"
#include "actors/runtime.hpp"
#include "bench/bench_util.hpp"
#include "bench/engine_baselines.hpp"

using namespace debros;
using namespace debros::bench;

namespace {

// The two indexed fields: category (16 values) and either authorId (1,000 values: each create
// touches its own index page, the I/O-heavy case) or isPublic (2 values).
std::string post_model(bool by_author) {
  return std::string{R"({"fields": {
    "title": {"type": "string"},
    "body": {"type": "string"},
    "category": {"type": "string", "index": true},
    "authorId": {"type": "string", "index": )"} +
         (by_author ? "true" : "false") + R"(},
    "isPublic": {"type": "boolean", "index": )" +
         (by_author ? "false" : "true") + R"(},
    "views": {"type": "number"}
  },
  "sharding": {"strategy": "hash", "count": 16, "key": "id"}})";
}

const char* index_label(bool by_author) {
  return by_author ? "category+authorId" : "category+isPublic";
}

std::unique_ptr<runtime> start_with(const std::string& dir, const std::string& model,
                                    std::string_view json) {
  runtime_options o;
  o.data_dir = dir;
  o.initial_map_bytes = size_t{1} << 30;
  o.scheduler_threads = static_cast<size_t>(engine_threads());
  auto rt = runtime::start(o);
  if (!rt)
    fail("start", rt.error());
  if (auto def = (*rt)->define_json(model, json); !def)
    fail("define", def.error());
  return std::move(*rt);
}

std::unique_ptr<runtime> start(const std::string& dir, bool by_author = true) {
  return start_with(dir, "Post", post_model(by_author));
}

// -- engine creates ------------------------------------------------------------------------------

// `callers` closed loops, each with one create in flight, issued from the completions.
run_figures engine_creates_async(runtime& rt, const std::string& model, int callers, uint64_t n,
                                 const std::function<value(uint64_t)>& make) {
  struct loop {
    loop(runtime& r, const std::string& m, uint64_t n, int c,
         const std::function<value(uint64_t)>& mk)
        : rt(r), model(m), total(n), lat(static_cast<size_t>(c)), callers(c), make(mk) {}
    runtime& rt;
    const std::string& model;
    uint64_t total;
    std::atomic<uint64_t> next{0};
    std::atomic<uint64_t> failed{0};
    std::vector<samples> lat;
    std::mutex mtx;
    std::condition_variable cv;
    int finished = 0;
    int callers;
    const std::function<value(uint64_t)>& make;

    void issue(int c) {
      auto op = next.fetch_add(1);
      if (op >= total) {
        std::lock_guard<std::mutex> g{mtx};
        if (++finished == callers)
          cv.notify_all();
        return;
      }
      auto doc = make(op);
      auto start = clock::now();
      rt.engine().create(model, std::move(doc), [this, c, start](caf::expected<value> r) {
        if (!r)
          ++failed;
        lat[static_cast<size_t>(c)].add(clock::now() - start);
        issue(c);
      });
    }
  };
  loop l{rt, model, n, callers, make};
  auto t0 = clock::now();
  for (int c = 0; c < callers; ++c)
    l.issue(c);
  {
    std::unique_lock<std::mutex> g{l.mtx};
    l.cv.wait(g, [&] { return l.finished == callers; });
  }
  double secs = seconds_since(t0);
  if (l.failed > 0)
    fail("async creates", make_error(errc::internal, std::to_string(l.failed) + " failed"));
  auto all = merged(l.lat);
  return figures_of(n, secs, all);
}

run_figures engine_creates_threads(runtime& rt, int threads, uint64_t n) {
  std::vector<samples> lat(static_cast<size_t>(threads));
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> failed{0};
  auto posts = rt.model("Post");
  auto t0 = clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (auto op = next.fetch_add(1); op < n; op = next.fetch_add(1)) {
        std::mt19937_64 rng{op};
        auto doc = make_post(rng);
        auto s = clock::now();
        if (!posts.create(std::move(doc)))
          ++failed;
        lat[static_cast<size_t>(t)].add(clock::now() - s);
      }
    });
  for (auto& t : ts)
    t.join();
  double secs = seconds_since(t0);
  if (failed > 0)
    fail("thread creates", make_error(errc::internal, std::to_string(failed) + " failed"));
  auto all = merged(lat);
  return figures_of(n, secs, all);
}

// The writer's batching in one run, for the lines' avg_batch and commit_us_avg.
struct batching {
  std::vector<double> avg_batch;
  std::vector<double> commit_us;

  void add(const storage::writer_stats& st) {
    avg_batch.push_back(st.commits ? static_cast<double>(st.requests) / st.commits : 0);
    commit_us.push_back(st.commits ? static_cast<double>(st.commit_us_total) / st.commits : 0);
  }
  // The measured runs only: the first entry is the warm-up's.
  double median_batch() const { return median({avg_batch.begin() + 1, avg_batch.end()}); }
  double median_commit_us() const { return median({commit_us.begin() + 1, commit_us.end()}); }
};

void create_benchmarks(const options& opt) {
  constexpr int callers = 64;
  uint64_t creates = opt.quick ? 4000 : 100000;
  int runs = measured_runs(opt.quick);
  struct config {
    const char* mode;
    bool by_author;
  };
  for (auto [mode, by_author] :
       {config{"async", true}, config{"threads", true}, config{"async", false}}) {
    bool async = std::string_view{mode} == "async";
    auto make_doc = [](uint64_t op) {
      std::mt19937_64 rng{op};
      return make_post(rng);
    };
    batching eng_batch;
    batching base_batch;
    auto measure = [&] {
      auto rt = start(opt.fresh("creates-engine"), by_author);
      auto r = async ? engine_creates_async(*rt, "Post", callers, creates, make_doc)
                     : engine_creates_threads(*rt, callers, creates);
      eng_batch.add(rt->writer().stats());
      return r;
    };
    auto baseline = [&] {
      writer_store s{opt.fresh("creates-writer")};
      auto make = [&](uint64_t op) { return s.apply(plan_post(make_doc(op), by_author)); };
      auto r = async ? writer_closed_loops(s, callers, engine_threads(), creates, make)
                     : writer_blocking_threads(s, callers, creates, make);
      base_batch.add(s.writer->stats());
      return r;
    };
    auto [eng, base] = interleaved(runs, measure, baseline);
    json_line out;
    out.str("bench", "engine_create")
        .str("callers", mode)
        .str("indexes", index_label(by_author))
        .num("concurrency", callers)
        .num("threads", engine_threads())
        .num("docs", static_cast<double>(creates));
    add_runs(out, eng, "storage_writer_same_writes", base)
        .num("avg_batch", eng_batch.median_batch())
        .num("commit_us_avg", eng_batch.median_commit_us())
        .num("baseline_avg_batch", base_batch.median_batch())
        .num("baseline_commit_us_avg", base_batch.median_commit_us())
        .str("goal", "ops_per_s >= 100000")
        .boolean("met", eng.ops_median() >= 100000)
        .num("rss_mb", peak_rss_mb())
        .print();
  }
}

// -- loading, gets, queries, scans ----------------------------------------------------------------

std::vector<std::string> load(runtime& rt, uint64_t n) {
  auto posts = rt.model("Post");
  std::vector<std::string> ids;
  std::mt19937_64 rng{42};
  auto t0 = clock::now();
  for (uint64_t done = 0; done < n;) {
    std::vector<value> batch;
    for (int i = 0; i < 1000 && done < n; ++i, ++done)
      batch.push_back(make_post(rng));
    auto r = posts.create_batch(std::move(batch));
    if (!r)
      fail("load", r.error());
    ids.insert(ids.end(), r->begin(), r->end());
    if (done % 100000 == 0)
      std::fprintf(stderr, "loaded %llu documents (%.0f/s)\n",
                   static_cast<unsigned long long>(done),
                   static_cast<double>(done) / seconds_since(t0));
  }
  return ids;
}

run_figures gets(runtime& rt, const std::vector<std::string>& ids, uint64_t n, bool raw) {
  constexpr int threads = 2;
  std::vector<samples> lat(threads);
  std::atomic<uint64_t> failed{0};
  auto posts = rt.model("Post");
  auto& env = rt.env();
  auto docs = env.get_table("docs");
  auto t0 = clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng{static_cast<uint64_t>(t) + 7};
      for (uint64_t i = 0; i < n / threads; ++i) {
        auto& id = ids[rng() % ids.size()];
        auto s = clock::now();
        if (raw) {
          // The same key lookup without decoding: hash placement, then the get.
          auto txn = env.read();
          auto v = txn->get(docs, doc_keys::doc_key(1, shard_of_id(id), id));
          if (!v || !*v)
            ++failed;
        } else if (!posts.get(id)) {
          ++failed;
        }
        if (i % 16 == 0)
          lat[static_cast<size_t>(t)].add(clock::now() - s);
      }
    });
  for (auto& t : ts)
    t.join();
  double secs = seconds_since(t0);
  if (failed > 0)
    fail("gets", make_error(errc::internal, std::to_string(failed) + " failed"));
  auto all = merged(lat);
  return figures_of(n, secs, all);
}

// Runs `n` sequential calls of `one(i)`, each timed.
run_figures sequential(int n, const std::function<void(int)>& one) {
  samples lat;
  auto t0 = clock::now();
  for (int i = 0; i < n; ++i) {
    auto s = clock::now();
    one(i);
    lat.add(clock::now() - s);
  }
  return figures_of(static_cast<uint64_t>(n), seconds_since(t0), lat);
}

std::vector<std::string> random_categories(int n) {
  std::mt19937_64 rng{3};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("cat" + std::to_string(rng() % categories));
  return out;
}

// `entries` gets the keys the partitions read per query (query_stats::entries), on average.
run_figures engine_queries(runtime& rt, const std::vector<std::string>& cats,
                           double* entries = nullptr) {
  auto posts = rt.model("Post");
  uint64_t read = 0;
  auto out = sequential(static_cast<int>(cats.size()), [&](int i) {
    auto r = posts.query()
                 .where("category", "=", cats[static_cast<size_t>(i)])
                 .order_by("createdAt", true)
                 .limit(20)
                 .exec();
    if (!r || r->docs.size() != 20)
      fail("query", r ? make_error(errc::internal, "short page") : r.error());
    read += r->stats.entries;
  });
  if (entries != nullptr)
    *entries = static_cast<double>(read) / static_cast<double>(cats.size());
  return out;
}

// Each shard walks its entries of the category backwards (newest first, in its own key range)
// and keeps its best 21 (the engine asks each partition for offset + limit + 1), reading and
// checking each document as a shard does; then the best 20 of all are decoded.
run_figures raw_queries(runtime& rt, partition_pool& pool, const std::vector<std::string>& cats) {
  auto& env = rt.env();
  auto index = env.get_table("shard_index");
  auto docs = env.get_table("docs");
  auto fp_size = doc_keys::index_field_prefix(1, 0, "category").size();
  return sequential(static_cast<int>(cats.size()), [&](int i) {
    value cat{cats[static_cast<size_t>(i)]};
    std::mutex mtx;
    std::vector<raw_hit> hits;
    pool.run(shard_count, [&](uint32_t shard) {
      auto prefix = doc_keys::index_value_prefix(1, shard, "category", cat);
      auto txn = env.read();
      auto c = txn->open_cursor(index);
      std::vector<raw_hit> mine;
      for (bool ok = c->seek_before(storage::prefix_end(prefix)); ok && mine.size() < 21;
           ok = c->prev()) {
        if (c->key().substr(0, prefix.size()) != prefix)
          break;
        doc_keys::index_entry e;
        if (!doc_keys::split_index_key(c->key(), fp_size, e))
          fail("raw query", make_error(errc::corruption, "malformed index entry"));
        auto rec = txn->get(docs, doc_keys::doc_key(1, shard, e.id));
        if (!rec || !*rec)
          fail("raw query", make_error(errc::internal, "index entry without document"));
        auto body = checked_body(**rec);
        if (!(extract_msgpack(body, "category") == cat))
          continue;
        mine.push_back(raw_hit{extract_msgpack(body, "createdAt"),
                               extract_msgpack(body, "id").as_string(), std::string{body}});
      }
      std::lock_guard<std::mutex> g{mtx};
      for (auto& h : mine)
        hits.push_back(std::move(h));
    });
    if (decode_page(hits, 20, true) != 20)
      fail("raw query", make_error(errc::internal, "short page"));
  });
}

run_figures engine_scan(runtime& rt, uint64_t n) {
  auto posts = rt.model("Post");
  auto s = clock::now();
  auto r = posts.query().where("views", "=", -1).exec();
  double secs = seconds_since(s);
  if (!r)
    fail("scan", r.error());
  if (r->stats.examined != n || !r->docs.empty())
    fail("scan", make_error(errc::internal, "examined " + std::to_string(r->stats.examined)));
  return {static_cast<double>(n) / secs, 0, 0};
}

// Every shard's documents, each record's version checked and views extracted and compared.
run_figures raw_scan(runtime& rt, partition_pool& pool, uint64_t n) {
  auto& env = rt.env();
  auto docs = env.get_table("docs");
  std::atomic<uint64_t> examined{0};
  std::atomic<uint64_t> matched{0};
  value minus_one{int64_t{-1}};
  auto s = clock::now();
  pool.run(shard_count, [&](uint32_t shard) {
    auto prefix = doc_keys::shard_prefix(1, shard);
    auto txn = env.read();
    auto c = txn->open_cursor(docs);
    uint64_t seen = 0;
    uint64_t hit = 0;
    for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix;
         ok = c->next()) {
      ++seen;
      hit += extract_msgpack(checked_body(c->val()), "views") == minus_one ? 1 : 0;
    }
    examined += seen;
    matched += hit;
  });
  double secs = seconds_since(s);
  if (examined != n || matched != 0)
    fail("raw scan", make_error(errc::internal, "examined " + std::to_string(examined.load())));
  return {static_cast<double>(n) / secs, 0, 0};
}

void read_benchmarks(const options& opt) {
  uint64_t docs = opt.quick ? 20000 : 1000000;
  int runs = measured_runs(opt.quick);
  auto rt = start(opt.fresh("reads"));
  auto ids = load(*rt, docs);
  partition_pool pool{engine_threads()};

  uint64_t get_n = opt.quick ? 100000 : 1000000;
  auto [eng_get, raw_get] = interleaved(
      runs, [&] { return gets(*rt, ids, get_n, false); },
      [&] { return gets(*rt, ids, get_n, true); });
  json_line get_line;
  get_line.str("bench", "engine_get_by_id")
      .num("threads", 2)
      .num("docs", static_cast<double>(docs));
  add_runs(get_line, eng_get, "lmdb_get_same_key", raw_get)
      .str("goal", "ops_per_s >= 300000")
      .boolean("met", eng_get.ops_median() >= 300000)
      .num("rss_mb", peak_rss_mb())
      .print();

  auto cats = random_categories(opt.quick ? 200 : 1000);
  double entries_per_query = 0;
  auto [eng_q, raw_q] = interleaved(
      runs, [&] { return engine_queries(*rt, cats, &entries_per_query); },
      [&] { return raw_queries(*rt, pool, cats); });
  json_line q_line;
  q_line.str("bench", "engine_query_indexed_eq_created_desc_20")
      .num("docs", static_cast<double>(docs))
      .num("queries", static_cast<double>(cats.size()))
      .num("index_entries_per_query", entries_per_query)
      .num("threads", engine_threads());
  add_runs(q_line, eng_q, "same_shards_index_walk_parallel", raw_q)
      .str("goal", "p50_us <= 1000 and p99_us <= 5000")
      .boolean("met", eng_q.p50_median() <= 1000 && eng_q.p99_median() <= 5000)
      .num("rss_mb", peak_rss_mb())
      .print();

  auto [eng_scan, raw_sc] = interleaved(
      runs, [&] { return engine_scan(*rt, docs); }, [&] { return raw_scan(*rt, pool, docs); });
  json_line scan_line;
  scan_line.str("bench", "engine_scan_filter")
      .num("docs", static_cast<double>(docs))
      .num("examined", static_cast<double>(docs))
      .num("threads", engine_threads());
  add_runs(scan_line, eng_scan, "same_shards_walk_parallel_views_extracted", raw_sc)
      .str("goal", "ops_per_s >= 5000000")
      .boolean("met", eng_scan.ops_median() >= 5000000)
      .num("rss_mb", peak_rss_mb())
      .print();
}

// -- user-scoped models ---------------------------------------------------------------------------

constexpr std::string_view user_post_model = R"({"scope": "user", "fields": {
  "title": {"type": "string"}, "body": {"type": "string"},
  "isPublic": {"type": "boolean", "index": "global"}}})";

void load_users(runtime& rt, uint64_t n, int users) {
  auto posts = rt.model("UPost");
  std::mt19937_64 rng{99};
  auto t0 = clock::now();
  for (uint64_t done = 0; done < n;) {
    std::vector<value> batch;
    for (int i = 0; i < 1000 && done < n; ++i, ++done)
      batch.push_back(make_user_post(rng, users));
    if (auto r = posts.create_batch(std::move(batch)); !r)
      fail("load users", r.error());
    if (done % 200000 == 0)
      std::fprintf(stderr, "loaded %llu user-scoped documents (%.0f/s)\n",
                   static_cast<unsigned long long>(done),
                   static_cast<double>(done) / seconds_since(t0));
  }
}

std::vector<std::vector<std::string>> random_user_sets(int n, int users) {
  std::mt19937_64 rng{4};
  std::vector<std::vector<std::string>> out(static_cast<size_t>(n));
  for (auto& who : out)
    for (int k = 0; k < 10; ++k)
      who.push_back("user" + std::to_string(rng() % static_cast<uint64_t>(users)));
  return out;
}

run_figures user_in_queries(runtime& rt, const std::vector<std::vector<std::string>>& sets) {
  auto posts = rt.model("UPost");
  return sequential(static_cast<int>(sets.size()), [&](int i) {
    if (auto r = posts.query().user_in(sets[static_cast<size_t>(i)]).limit(100).exec(); !r)
      fail("userIn", r.error());
  });
}

// Each user's range read by the pool (ids extracted, the best 101 kept), the best 100 decoded.
run_figures raw_user_in(runtime& rt, partition_pool& pool,
                        const std::vector<std::vector<std::string>>& sets, uint64_t& found) {
  auto& env = rt.env();
  auto docs = env.get_table("docs");
  return sequential(static_cast<int>(sets.size()), [&](int i) {
    auto& who = sets[static_cast<size_t>(i)];
    std::mutex mtx;
    std::vector<raw_hit> hits;
    pool.run(static_cast<uint32_t>(who.size()), [&](uint32_t u) {
      auto prefix = doc_keys::user_docs_prefix(1, who[u]);
      auto txn = env.read();
      auto c = txn->open_cursor(docs);
      std::vector<raw_hit> mine;
      for (bool ok = c->seek(prefix);
           ok && mine.size() < 101 && c->key().substr(0, prefix.size()) == prefix; ok = c->next()) {
        auto body = checked_body(c->val());
        mine.push_back(
            raw_hit{value{}, extract_msgpack(body, "id").as_string(), std::string{body}});
      }
      std::lock_guard<std::mutex> g{mtx};
      for (auto& h : mine)
        hits.push_back(std::move(h));
    });
    found += decode_page(hits, 100, false);
  });
}

run_figures gindex_queries(runtime& rt, int n) {
  auto posts = rt.model("UPost");
  return sequential(n, [&](int) {
    auto r =
        posts.query().where("isPublic", "=", true).order_by("createdAt", true).limit(20).exec();
    if (!r || r->docs.size() != 20)
      fail("gindex query", r ? make_error(errc::internal, "short page") : r.error());
  });
}

// The one global index partition of isPublic = true walked newest first, each entry's document
// read and checked (isPublic, createdAt, id extracted) until 21, then 20 decoded.
run_figures raw_gindex(runtime& rt, int n) {
  auto& env = rt.env();
  auto gindex = env.get_table("gindex");
  auto docs = env.get_table("docs");
  auto part = doc_keys::gindex_partition_of(value{true});
  auto fp = doc_keys::gindex_prefix(1, part);
  storage::append_key_string(fp, "isPublic");
  auto prefix = fp;
  doc_keys::append_index_value(prefix, value{true});
  return sequential(n, [&](int) {
    auto txn = env.read();
    auto c = txn->open_cursor(gindex);
    std::vector<raw_hit> hits;
    for (bool ok = c->seek_before(storage::prefix_end(prefix)); ok && hits.size() < 21;
         ok = c->prev()) {
      if (c->key().substr(0, prefix.size()) != prefix)
        break;
      doc_keys::gindex_entry e;
      if (!doc_keys::split_gindex_key(c->key(), fp.size(), e))
        fail("raw gindex", make_error(errc::corruption, "malformed entry"));
      auto rec = txn->get(docs, doc_keys::user_doc_key(1, e.user, e.id));
      if (!rec || !*rec)
        continue;
      auto body = checked_body(**rec);
      if (!(extract_msgpack(body, "isPublic") == value{true}))
        continue;
      hits.push_back(raw_hit{extract_msgpack(body, "createdAt"),
                             extract_msgpack(body, "id").as_string(), std::string{body}});
    }
    if (decode_page(hits, 20, true) != 20)
      fail("raw gindex", make_error(errc::internal, "short"));
  });
}

void user_scoped_benchmarks(const options& opt) {
  constexpr int users = 100000;
  constexpr int callers = 64;
  uint64_t creates = opt.quick ? 4000 : 100000;
  uint64_t docs = opt.quick ? 20000 : 1000000;
  int load_users_n = opt.quick ? 2000 : users;
  int runs = measured_runs(opt.quick);
  auto make_doc = [](uint64_t op) {
    std::mt19937_64 rng{op + 77};
    return make_user_post(rng, users);
  };
  batching eng_batch;
  double live_peak = 0;
  auto measure = [&] {
    auto rt = start_with(opt.fresh("user-creates"), "UPost", user_post_model);
    auto r = engine_creates_async(*rt, "UPost", callers, creates, make_doc);
    eng_batch.add(rt->writer().stats());
    live_peak = static_cast<double>(rt->engine().user_databases().peak_live.load());
    return r;
  };
  auto baseline = [&] {
    writer_store s{opt.fresh("user-creates-writer")};
    return writer_closed_loops(s, callers, engine_threads(), creates,
                               [&](uint64_t op) { return s.apply(plan_user_post(make_doc(op))); });
  };
  auto [eng_c, base_c] = interleaved(runs, measure, baseline);
  json_line c_line;
  c_line.str("bench", "user_create_global_index")
      .num("concurrency", callers)
      .num("users", users)
      .num("docs", static_cast<double>(creates));
  add_runs(c_line, eng_c, "storage_writer_same_writes", base_c)
      .num("avg_batch", eng_batch.median_batch())
      .num("live_user_databases_peak", live_peak)
      .str("goal", "ops_per_s >= 50000")
      .boolean("met", eng_c.ops_median() >= 50000)
      .num("rss_mb", peak_rss_mb())
      .print();

  auto rt = start_with(opt.fresh("user-reads"), "UPost", user_post_model);
  load_users(*rt, docs, load_users_n);
  int qn = opt.quick ? 200 : 1000;
  // The first query of each kind drains the index partitions' outbox: warm up.
  gindex_queries(*rt, 5);
  partition_pool pool{engine_threads()};
  auto sets = random_user_sets(qn, load_users_n);
  uint64_t found = 0;
  auto [eng_in, raw_in] = interleaved(
      runs, [&] { return user_in_queries(*rt, sets); },
      [&] { return raw_user_in(*rt, pool, sets, found); });
  if (found == 0)
    fail("raw userIn", make_error(errc::internal, "found no documents"));
  json_line in_line;
  in_line.str("bench", "user_in_10_users")
      .num("users", load_users_n)
      .num("docs", static_cast<double>(docs))
      .num("threads", engine_threads());
  add_runs(in_line, eng_in, "same_user_ranges_parallel", raw_in)
      .str("goal", "p50_us <= 2000")
      .boolean("met", eng_in.p50_median() <= 2000)
      .num("rss_mb", peak_rss_mb())
      .print();

  auto [eng_g, raw_g] = interleaved(
      runs, [&] { return gindex_queries(*rt, qn); }, [&] { return raw_gindex(*rt, qn); });
  json_line g_line;
  g_line.str("bench", "gindex_public_created_desc_20")
      .num("users", load_users_n)
      .num("docs", static_cast<double>(docs));
  add_runs(g_line, eng_g, "same_index_walk", raw_g)
      .str("goal", "p50_us <= 5000")
      .boolean("met", eng_g.p50_median() <= 5000)
      .num("rss_mb", peak_rss_mb())
      .print();
}

} // namespace

int main(int argc, char** argv) {
  options opt{argc, argv, {"creates", "reads", "users"}};
  if (opt.runs("creates"))
    create_benchmarks(opt);
  if (opt.runs("reads"))
    read_benchmarks(opt);
  if (opt.runs("users"))
    user_scoped_benchmarks(opt);
  return 0;
}
