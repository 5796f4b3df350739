// debros-bench-engine: the data engine through the embedded C++ API.
//
// Goals (data engine issue), 300-byte documents with 2 indexed fields, 16 shards:
//   durable creates from 64 concurrent callers            >= 100,000/s
//   get by id                                              >= 300,000/s
//   where indexed = v orderBy createdAt desc limit 20 over 1,000,000 documents: p50 <= 1 ms,
//   p99 <= 5 ms
//   a filter that must scan 1,000,000 documents           >= 5,000,000 documents/s
//
// Method. Model "Post": title, body (together ~300 bytes of msgpack per document), category
// (16 values, indexed), authorId (1,000 values, indexed), views (unindexed), 16 hash shards.
// Every measurement has a raw LMDB baseline doing the same storage work in the same run:
//   creates   engine.create from 64 callers, each keeping one create in flight (as actors do),
//             or 64 threads calling the blocking API; baseline: raw LMDB writing the same keys
//             (document + 3 index entries), one fsync'd transaction per document, and all in one
//             transaction;
//   get       model_handle::get from 2 threads on random ids; baseline: raw mdb_get of the same
//             keys (no decoding);
//   query     1,000 sequential queries on random categories; baseline: the same index prefix
//             walked in reverse with raw LMDB plus 20 document reads;
//   scan      `views = -1` (matches nothing, views is not indexed) over every document; baseline:
//             a raw cursor walk over the same documents.
// The store for get/query/scan is loaded with batch creates (1,000 documents per transaction).
// User-scoped models (the user-database issue), model "UPost" (scope user, isPublic indexed
// "global"), in a second store:
//   user_create  durable creates of user-scoped documents, each for a random one of 100,000
//                users, from 64 callers; baseline: raw LMDB writing the same keys (document,
//                owner entry, outbox item, user entry) with one fsync'd transaction each;
//   user_in      a userIn query over 10 random users; baseline: raw scans of their ranges;
//   gindex       isPublic = true orderBy createdAt desc limit 20 over 1,000,000 documents of
//                100,000 users; baseline: the same index range walked with raw LMDB.
//   gindex under writes  the same query while 16 callers keep creating documents (the index
//                partition's outbox is rarely empty: issue 9 item 4, a query waits only for the
//                work committed before it); baseline: the same query on the idle store, in the
//                same run.
// --quick: 20,000 documents (CI smoke run); default: 1,000,000 (`make bench`).
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <random>
#include <thread>

#include <lmdb.h>

#include "actors/doc_keys.hpp"
#include "actors/engine.hpp"
#include "actors/placement.hpp"
#include "actors/runtime.hpp"
#include "bench/bench_util.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

using namespace debros;
using namespace debros::bench;

namespace {

constexpr int categories = 16;
constexpr int authors = 1000;

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

value make_post(std::mt19937_64& rng) {
  static const std::string body(200, 'x');
  return value{object{{"title", "A post title of moderate length " + std::to_string(rng() % 1000)},
                      {"body", body},
                      {"category", "cat" + std::to_string(rng() % categories)},
                      {"authorId", "author" + std::to_string(rng() % authors)},
                      {"isPublic", rng() % 4 != 0},
                      {"views", static_cast<int64_t>(rng() % 100000)}}};
}

void die(const std::string& what, const caf::error& err) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), message_of(err).c_str());
  std::exit(1);
}

std::unique_ptr<runtime> start(const std::string& dir, bool by_author = true) {
  runtime_options o;
  o.data_dir = dir;
  o.initial_map_bytes = size_t{1} << 30;
  auto rt = runtime::start(o);
  if (!rt)
    die("start", rt.error());
  if (auto def = (*rt)->define_json("Post", post_model(by_author)); !def)
    die("define", def.error());
  return std::move(*rt);
}

json_line line(std::string_view bench, double ops_per_s, double p50, double p99,
               std::string_view baseline, double baseline_ops_per_s) {
  json_line out;
  out.str("bench", bench)
      .num("ops_per_s", ops_per_s)
      .num("p50_us", p50)
      .num("p99_us", p99)
      .str("baseline", baseline)
      .num("baseline_ops_per_s", baseline_ops_per_s)
      .num("ratio", baseline_ops_per_s > 0 ? ops_per_s / baseline_ops_per_s : 0);
  return out;
}

// -- raw LMDB baselines for creates --------------------------------------------------------------

// The keys and record of one document as the engine writes them (model id 1, shard by hash).
struct raw_doc {
  std::string doc_key;
  std::string record;
  std::vector<std::string> index_keys;
};

raw_doc raw_for(uint64_t i, std::mt19937_64& rng, bool by_author) {
  raw_doc d;
  auto id = std::to_string(1'000'000'000'000 + i);
  auto shard = static_cast<uint32_t>(mix(i) % 16);
  auto post = make_post(rng);
  d.doc_key = doc_keys::doc_key(1, shard, id);
  d.record = "\x01" + to_msgpack(post);
  auto created = static_cast<int64_t>(i);
  for (auto* f : {"category", by_author ? "authorId" : "isPublic"})
    d.index_keys.push_back(doc_keys::index_key(1, shard, f, *post.find(f), created, id));
  d.index_keys.push_back(doc_keys::index_key(1, shard, "createdAt", value{created}, created, id));
  return d;
}

struct raw_store {
  MDB_env* env = nullptr;
  MDB_dbi docs = 0;
  MDB_dbi index = 0;

  explicit raw_store(const std::string& dir) {
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_mapsize(env, size_t{4} << 30);
    if (int rc = mdb_env_open(env, dir.c_str(), 0, 0640); rc != 0) {
      std::fprintf(stderr, "raw open: %s\n", mdb_strerror(rc));
      std::exit(1);
    }
    MDB_txn* txn;
    mdb_txn_begin(env, nullptr, 0, &txn);
    mdb_dbi_open(txn, "docs", MDB_CREATE, &docs);
    mdb_dbi_open(txn, "index", MDB_CREATE, &index);
    mdb_txn_commit(txn);
  }
  ~raw_store() { mdb_env_close(env); }

  void put(MDB_txn* txn, const raw_doc& d) {
    MDB_val k{d.doc_key.size(), const_cast<char*>(d.doc_key.data())};
    MDB_val v{d.record.size(), const_cast<char*>(d.record.data())};
    mdb_put(txn, docs, &k, &v, 0);
    for (auto& ik : d.index_keys) {
      MDB_val kk{ik.size(), const_cast<char*>(ik.data())};
      MDB_val empty{0, nullptr};
      mdb_put(txn, index, &kk, &empty, 0);
    }
  }
};

double raw_creates_fsync_each(const std::string& dir, uint64_t n, bool by_author) {
  raw_store s{dir};
  std::mt19937_64 rng{1};
  auto t0 = clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    auto d = raw_for(i, rng, by_author);
    MDB_txn* txn;
    mdb_txn_begin(s.env, nullptr, 0, &txn);
    s.put(txn, d);
    mdb_txn_commit(txn);
  }
  return static_cast<double>(n) / seconds_since(t0);
}

double raw_creates_one_txn(const std::string& dir, uint64_t n, bool by_author) {
  raw_store s{dir};
  std::mt19937_64 rng{1};
  auto t0 = clock::now();
  MDB_txn* txn;
  mdb_txn_begin(s.env, nullptr, 0, &txn);
  for (uint64_t i = 0; i < n; ++i)
    s.put(txn, raw_for(i, rng, by_author));
  mdb_txn_commit(txn);
  return static_cast<double>(n) / seconds_since(t0);
}

// -- engine creates ------------------------------------------------------------------------------

struct create_result {
  double ops_per_s;
  samples lat;
};

// `callers` closed loops, each with one create in flight, issued from the completions.
create_result engine_creates_async(runtime& rt, int callers, uint64_t n) {
  struct loop {
    loop(runtime& r, uint64_t n, int c)
        : rt(r), total(n), lat(static_cast<size_t>(c)), callers(c) {}
    runtime& rt;
    uint64_t total;
    std::atomic<uint64_t> next{0};
    std::atomic<uint64_t> failed{0};
    std::vector<samples> lat;
    std::mutex mtx;
    std::condition_variable cv;
    int finished = 0;
    int callers;

    void issue(int c) {
      auto op = next.fetch_add(1);
      if (op >= total) {
        std::lock_guard<std::mutex> g{mtx};
        if (++finished == callers)
          cv.notify_all();
        return;
      }
      std::mt19937_64 rng{op};
      auto start = clock::now();
      rt.engine().create("Post", make_post(rng), [this, c, start](caf::expected<value> r) {
        if (!r)
          ++failed;
        lat[static_cast<size_t>(c)].add(clock::now() - start);
        issue(c);
      });
    }
  };
  loop l{rt, n, callers};
  auto t0 = clock::now();
  for (int c = 0; c < callers; ++c)
    l.issue(c);
  {
    std::unique_lock<std::mutex> g{l.mtx};
    l.cv.wait(g, [&] { return l.finished == callers; });
  }
  create_result out{static_cast<double>(n) / seconds_since(t0), {}};
  if (l.failed > 0)
    die("async creates", make_error(errc::internal, std::to_string(l.failed) + " failed"));
  for (auto& s : l.lat)
    out.lat.us.insert(out.lat.us.end(), s.us.begin(), s.us.end());
  return out;
}

create_result engine_creates_threads(runtime& rt, int threads, uint64_t n) {
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
        auto s = clock::now();
        if (!posts.create(make_post(rng)))
          ++failed;
        lat[static_cast<size_t>(t)].add(clock::now() - s);
      }
    });
  for (auto& t : ts)
    t.join();
  create_result out{static_cast<double>(n) / seconds_since(t0), {}};
  if (failed > 0)
    die("thread creates", make_error(errc::internal, std::to_string(failed) + " failed"));
  for (auto& s : lat)
    out.lat.us.insert(out.lat.us.end(), s.us.begin(), s.us.end());
  return out;
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
      die("load", r.error());
    ids.insert(ids.end(), r->begin(), r->end());
    if (done % 100000 == 0)
      std::fprintf(stderr, "loaded %llu documents (%.0f/s)\n",
                   static_cast<unsigned long long>(done),
                   static_cast<double>(done) / seconds_since(t0));
  }
  return ids;
}

std::pair<double, samples> gets(runtime& rt, const std::vector<std::string>& ids, uint64_t n,
                                bool raw) {
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
          // The same key lookup without decoding: hash placement, then mdb_get.
          auto shard = static_cast<uint32_t>(stable_hash([&] {
                                               std::string k;
                                               storage::append_key(k, value{id});
                                               return k;
                                             }()) %
                                             16);
          auto txn = env.read();
          auto v = txn->get(docs, doc_keys::doc_key(1, shard, id));
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
  if (failed > 0)
    die("gets", make_error(errc::internal, std::to_string(failed) + " failed"));
  samples all;
  for (auto& s : lat)
    all.us.insert(all.us.end(), s.us.begin(), s.us.end());
  return {static_cast<double>(n) / seconds_since(t0), all};
}

samples engine_queries(runtime& rt, int n) {
  auto posts = rt.model("Post");
  std::mt19937_64 rng{3};
  samples lat;
  for (int i = 0; i < n; ++i) {
    auto cat = "cat" + std::to_string(rng() % categories);
    auto s = clock::now();
    auto r = posts.query().where("category", "=", cat).order_by("createdAt", true).limit(20).exec();
    lat.add(clock::now() - s);
    if (!r || r->docs.size() != 20)
      die("query", r ? make_error(errc::internal, "short page") : r.error());
  }
  return lat;
}

samples raw_queries(runtime& rt, int n) {
  auto& env = rt.env();
  auto index = env.get_table("index");
  auto docs = env.get_table("docs");
  std::mt19937_64 rng{3};
  samples lat;
  for (int i = 0; i < n; ++i) {
    auto cat = "cat" + std::to_string(rng() % categories);
    auto s = clock::now();
    auto txn = env.read();
    size_t got = 0;
    for (uint32_t shard = 0; shard < 16; ++shard) {
      // The raw walk reads the same entries the shards read: this shard's of one value.
      auto prefix = doc_keys::index_value_prefix(1, "category", value{cat});
      auto c = txn->open_cursor(index);
      size_t taken = 0;
      for (bool ok = c->seek_before(storage::prefix_end(prefix)); ok && taken < 20;
           ok = c->prev()) {
        if (c->key().substr(0, prefix.size()) != prefix)
          break;
        if (storage::read_u16(c->key().substr(prefix.size() + 11)) != shard)
          continue;
        auto id = c->key().substr(prefix.size() + 13);
        auto v = txn->get(docs, doc_keys::doc_key(1, shard, id));
        got += v && *v ? 1 : 0;
        ++taken;
      }
    }
    lat.add(clock::now() - s);
    if (got < 20)
      die("raw query", make_error(errc::internal, "short"));
  }
  return lat;
}

double engine_scan_docs_per_s(runtime& rt, uint64_t n, int runs, uint64_t& examined) {
  auto posts = rt.model("Post");
  samples secs;
  for (int i = 0; i < runs; ++i) {
    auto s = clock::now();
    auto r = posts.query().where("views", "=", -1).exec();
    secs.add(clock::now() - s);
    if (!r)
      die("scan", r.error());
    examined = r->stats.examined;
  }
  return static_cast<double>(n) / (secs.percentile(50) / 1e6);
}

double raw_scan_docs_per_s(runtime& rt, uint64_t n, int runs) {
  auto& env = rt.env();
  auto docs = env.get_table("docs");
  samples secs;
  uint64_t sink = 0;
  for (int i = 0; i < runs; ++i) {
    auto s = clock::now();
    auto txn = env.read();
    auto c = txn->open_cursor(docs);
    for (bool ok = c->first(); ok; ok = c->next())
      sink += c->val().size();
    secs.add(clock::now() - s);
  }
  if (sink == 0)
    std::fprintf(stderr, "empty scan\n");
  return static_cast<double>(n) / (secs.percentile(50) / 1e6);
}

// -- user-scoped models ---------------------------------------------------------------------------

constexpr std::string_view user_post_model = R"({"scope": "user", "fields": {
  "title": {"type": "string"}, "body": {"type": "string"},
  "isPublic": {"type": "boolean", "index": "global"}}})";

value make_user_post(std::mt19937_64& rng, int users) {
  static const std::string body(220, 'u');
  return value{object{{"userId", "user" + std::to_string(rng() % static_cast<uint64_t>(users))},
                      {"title", "A user's post " + std::to_string(rng() % 1000)},
                      {"body", body},
                      {"isPublic", rng() % 4 != 0}}};
}

std::unique_ptr<runtime> start_users(const std::string& dir) {
  runtime_options o;
  o.data_dir = dir;
  o.initial_map_bytes = size_t{1} << 30;
  auto rt = runtime::start(o);
  if (!rt)
    die("start", rt.error());
  if (auto def = (*rt)->define_json("UPost", user_post_model); !def)
    die("define", def.error());
  return std::move(*rt);
}

// Raw LMDB writing what one user-scoped create writes: document, owner, outbox item, user.
double raw_user_creates_fsync_each(const std::string& dir, uint64_t n, int users) {
  raw_store s{dir};
  std::mt19937_64 rng{5};
  auto t0 = clock::now();
  auto put = [&](MDB_txn* txn, MDB_dbi dbi, const std::string& k, const std::string& v) {
    MDB_val kk{k.size(), const_cast<char*>(k.data())};
    MDB_val vv{v.size(), const_cast<char*>(v.data())};
    mdb_put(txn, dbi, &kk, &vv, 0);
  };
  for (uint64_t i = 0; i < n; ++i) {
    auto doc = make_user_post(rng, users);
    auto user = doc.find("userId")->as_string();
    auto id = std::to_string(2'000'000'000'000 + i);
    MDB_txn* txn;
    mdb_txn_begin(s.env, nullptr, 0, &txn);
    put(txn, s.docs, doc_keys::user_doc_key(2, user, id), "\x01" + to_msgpack(doc));
    put(txn, s.index, doc_keys::owner_key(2, id), user);
    std::string ob = "gidx/2/0";
    storage::append_u64(ob, i + 1);
    put(txn, s.index, ob, "\x01put-index-entry-of-about-this-size-0123456789");
    put(txn, s.index, "user/" + user, "\x01{}");
    mdb_txn_commit(txn);
  }
  return static_cast<double>(n) / seconds_since(t0);
}

double user_creates(runtime& rt, int callers, uint64_t n, int users) {
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::function<void()> issue = [&] {
    auto op = next.fetch_add(1);
    if (op >= n)
      return;
    std::mt19937_64 rng{op + 77};
    rt.engine().create("UPost", make_user_post(rng, users), [&](caf::expected<value> r) {
      if (!r)
        ++failed;
      ++done;
      issue();
    });
  };
  auto t0 = clock::now();
  for (int c = 0; c < callers; ++c)
    issue();
  while (done.load() < n)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (failed > 0)
    die("user creates", make_error(errc::internal, std::to_string(failed) + " failed"));
  return static_cast<double>(n) / seconds_since(t0);
}

void load_users(runtime& rt, uint64_t n, int users) {
  auto posts = rt.model("UPost");
  std::mt19937_64 rng{99};
  auto t0 = clock::now();
  for (uint64_t done = 0; done < n;) {
    std::vector<value> batch;
    for (int i = 0; i < 1000 && done < n; ++i, ++done)
      batch.push_back(make_user_post(rng, users));
    if (auto r = posts.create_batch(std::move(batch)); !r)
      die("load users", r.error());
    if (done % 200000 == 0)
      std::fprintf(stderr, "loaded %llu user-scoped documents (%.0f/s)\n",
                   static_cast<unsigned long long>(done),
                   static_cast<double>(done) / seconds_since(t0));
  }
}

samples user_in_queries(runtime& rt, int n, int users, bool raw) {
  auto posts = rt.model("UPost");
  auto& env = rt.env();
  auto docs = env.get_table("docs");
  std::mt19937_64 rng{4};
  samples lat;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> who;
    for (int k = 0; k < 10; ++k)
      who.push_back("user" + std::to_string(rng() % static_cast<uint64_t>(users)));
    auto s = clock::now();
    if (raw) {
      auto txn = env.read();
      size_t got = 0;
      for (auto& u : who) {
        auto prefix = doc_keys::user_docs_prefix(1, u);
        auto c = txn->open_cursor(docs);
        for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix;
             ok = c->next())
          got += c->val().size() > 0;
      }
      if (got == static_cast<size_t>(-1))
        die("raw", make_error(errc::internal, "impossible"));
    } else if (auto r = posts.query().user_in(who).limit(100).exec(); !r) {
      die("userIn", r.error());
    }
    lat.add(clock::now() - s);
  }
  return lat;
}

samples gindex_queries(runtime& rt, int n, bool raw) {
  auto posts = rt.model("UPost");
  auto& env = rt.env();
  samples lat;
  for (int i = 0; i < n; ++i) {
    auto s = clock::now();
    if (raw) {
      auto txn = env.read();
      auto part = doc_keys::gindex_partition_of(value{true});
      auto prefix = doc_keys::gindex_prefix(1, part);
      storage::append_key_string(prefix, "isPublic");
      doc_keys::append_index_value(prefix, value{true});
      auto c = txn->open_cursor(env.get_table("gindex"));
      size_t taken = 0;
      for (bool ok = c->seek_before(storage::prefix_end(prefix)); ok && taken < 21;
           ok = c->prev()) {
        if (c->key().substr(0, prefix.size()) != prefix)
          break;
        doc_keys::gindex_entry e;
        auto fp = doc_keys::gindex_prefix(1, part);
        storage::append_key_string(fp, "isPublic");
        if (doc_keys::split_gindex_key(c->key(), fp.size(), e)) {
          auto v = txn->get(env.get_table("docs"), doc_keys::user_doc_key(1, e.user, e.id));
          taken += v && *v ? 1 : 0;
        }
      }
      if (taken < 20)
        die("raw gindex", make_error(errc::internal, "short"));
    } else {
      auto r =
          posts.query().where("isPublic", "=", true).order_by("createdAt", true).limit(20).exec();
      if (!r || r->docs.size() != 20)
        die("gindex query", r ? make_error(errc::internal, "short page") : r.error());
    }
    lat.add(clock::now() - s);
  }
  return lat;
}

// `n` gindex queries while `callers` keep one create each in flight; `writes_per_s` is the
// create rate during the queries.
samples gindex_queries_under_writes(runtime& rt, int n, int callers, int users,
                                    double& writes_per_s) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> in_flight{callers};
  std::function<void(uint64_t)> issue = [&](uint64_t op) {
    if (stop.load()) {
      --in_flight;
      return;
    }
    std::mt19937_64 rng{op + 5555};
    rt.engine().create("UPost", make_user_post(rng, users), [&, op](caf::expected<value> r) {
      if (!r)
        ++failed;
      ++done;
      issue(op + static_cast<uint64_t>(callers));
    });
  };
  for (int c = 0; c < callers; ++c)
    issue(static_cast<uint64_t>(c));
  while (done.load() < 1000) // writes under way
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto t0 = clock::now();
  auto before = done.load();
  auto lat = gindex_queries(rt, n, false);
  writes_per_s = static_cast<double>(done.load() - before) / seconds_since(t0);
  stop = true;
  while (in_flight.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (failed > 0)
    die("creates under queries", make_error(errc::internal, std::to_string(failed) + " failed"));
  return lat;
}

void user_scoped_benchmarks(const options& opt) {
  constexpr int users = 100000;
  uint64_t creates = opt.quick ? 20000 : 300000;
  uint64_t docs = opt.quick ? 20000 : 1000000;
  int load_users_n = opt.quick ? 2000 : users;
  double raw = raw_user_creates_fsync_each(opt.fresh("raw-user"), opt.quick ? 500 : 10000, users);
  {
    auto rt = start_users(opt.fresh("user-creates"));
    auto ops = user_creates(*rt, 64, creates, users);
    auto st = rt->writer().stats();
    line("user_create_global_index", ops, 0, 0, "lmdb_same_keys_fsync_per_doc", raw)
        .num("concurrency", 64)
        .num("users", users)
        .num("docs", static_cast<double>(creates))
        .num("avg_batch", st.commits ? static_cast<double>(st.requests) / st.commits : 0)
        .num("live_user_databases_peak",
             static_cast<double>(rt->engine().user_databases().peak_live.load()))
        .num("rss_mb", peak_rss_mb())
        .print();
  }
  auto rt = start_users(opt.fresh("user-reads"));
  load_users(*rt, docs, load_users_n);
  int qn = opt.quick ? 200 : 1000;
  // The first query of each kind drains the index partitions' outbox: warm up.
  gindex_queries(*rt, 5, false);
  auto raw_in = user_in_queries(*rt, qn, load_users_n, true);
  auto eng_in = user_in_queries(*rt, qn, load_users_n, false);
  line("user_in_10_users", 1e6 / eng_in.percentile(50), eng_in.percentile(50),
       eng_in.percentile(99), "lmdb_same_user_ranges", 1e6 / raw_in.percentile(50))
      .num("users", load_users_n)
      .num("docs", static_cast<double>(docs))
      .num("baseline_p50_us", raw_in.percentile(50))
      .num("rss_mb", peak_rss_mb())
      .print();
  auto raw_g = gindex_queries(*rt, qn, true);
  auto eng_g = gindex_queries(*rt, qn, false);
  line("gindex_public_created_desc_20", 1e6 / eng_g.percentile(50), eng_g.percentile(50),
       eng_g.percentile(99), "lmdb_same_index_walk", 1e6 / raw_g.percentile(50))
      .num("users", load_users_n)
      .num("docs", static_cast<double>(docs))
      .num("baseline_p50_us", raw_g.percentile(50))
      .num("rss_mb", peak_rss_mb())
      .print();
  double writes_per_s = 0;
  auto busy_g = gindex_queries_under_writes(*rt, qn, 16, load_users_n, writes_per_s);
  line("gindex_public_created_desc_20_under_writes", 1e6 / busy_g.percentile(50),
       busy_g.percentile(50), busy_g.percentile(99), "same_query_idle", 1e6 / eng_g.percentile(50))
      .num("max_us", busy_g.percentile(100))
      .num("writes_per_s", writes_per_s)
      .num("concurrency", 16)
      .num("baseline_p50_us", eng_g.percentile(50))
      .num("rss_mb", peak_rss_mb())
      .print();
}

} // namespace

int main(int argc, char** argv) {
  options opt{argc, argv, {"creates", "reads", "users"}};
  uint64_t docs = opt.quick ? 20000 : 1000000;
  uint64_t creates = opt.quick ? 20000 : 500000;
  uint64_t raw_fsync_n = opt.quick ? 500 : 10000;

  if (opt.runs("creates")) {
    // Creates: engine against raw LMDB writing the same keys.
    double raw_each[2];
    double raw_one[2];
    for (int a = 0; a < 2; ++a) {
      raw_each[a] = raw_creates_fsync_each(opt.fresh("raw-each"), raw_fsync_n, a == 1);
      raw_one[a] = raw_creates_one_txn(opt.fresh("raw-one"), creates, a == 1);
    }
    struct config {
      const char* mode;
      bool by_author;
    };
    for (auto [mode, by_author] :
         {config{"async", true}, config{"threads", true}, config{"async", false}}) {
      auto rt =
          start(opt.fresh(std::string{"creates-"} + mode + index_label(by_author)), by_author);
      auto r = std::string_view{mode} == "async" ? engine_creates_async(*rt, 64, creates)
                                                 : engine_creates_threads(*rt, 64, creates);
      auto st = rt->writer().stats();
      line("engine_create", r.ops_per_s, r.lat.percentile(50), r.lat.percentile(99),
           "lmdb_same_keys_fsync_per_doc", raw_each[by_author])
          .str("callers", mode)
          .str("indexes", index_label(by_author))
          .num("concurrency", 64)
          .num("docs", static_cast<double>(creates))
          .num("single_txn_ops_per_s", raw_one[by_author])
          .num("ratio_vs_single_txn", r.ops_per_s / raw_one[by_author])
          .num("avg_batch", st.commits ? static_cast<double>(st.requests) / st.commits : 0)
          .num("commit_us_avg",
               st.commits ? static_cast<double>(st.commit_us_total) / st.commits : 0)
          .num("commits_per_s",
               static_cast<double>(st.commits) * r.ops_per_s / static_cast<double>(creates))
          .num("rss_mb", peak_rss_mb())
          .print();
    }
  }
  if (opt.runs("reads")) {
    // A loaded store for reads.
    auto rt = start(opt.fresh("reads"));
    auto ids = load(*rt, docs);
    uint64_t get_n = opt.quick ? 100000 : 2000000;
    auto raw_get = gets(*rt, ids, get_n, true);
    auto eng_get = gets(*rt, ids, get_n, false);
    line("engine_get_by_id", eng_get.first, eng_get.second.percentile(50),
         eng_get.second.percentile(99), "lmdb_get_same_key", raw_get.first)
        .num("threads", 2)
        .num("docs", static_cast<double>(docs))
        .num("rss_mb", peak_rss_mb())
        .print();

    int qn = opt.quick ? 200 : 1000;
    auto raw_q = raw_queries(*rt, qn);
    auto eng_q = engine_queries(*rt, qn);
    line("engine_query_indexed_eq_created_desc_20", 1e6 / eng_q.percentile(50),
         eng_q.percentile(50), eng_q.percentile(99), "lmdb_same_index_walk",
         1e6 / raw_q.percentile(50))
        .num("docs", static_cast<double>(docs))
        .num("baseline_p50_us", raw_q.percentile(50))
        .num("rss_mb", peak_rss_mb())
        .print();

    uint64_t examined = 0;
    int runs = opt.quick ? 3 : 5;
    auto raw_scan = raw_scan_docs_per_s(*rt, docs, runs);
    auto eng_scan = engine_scan_docs_per_s(*rt, docs, runs, examined);
    line("engine_scan_filter", eng_scan, 0, 0, "lmdb_cursor_walk", raw_scan)
        .num("docs", static_cast<double>(docs))
        .num("examined", static_cast<double>(examined))
        .num("rss_mb", peak_rss_mb())
        .print();
  }
  if (opt.runs("users"))
    user_scoped_benchmarks(opt);
  return 0;
}
