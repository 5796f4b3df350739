#include "actors/partition_scan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "actors/doc_keys.hpp"
#include "actors/placement.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

using storage::prefix_end;

struct key_range {
  std::string lo; // inclusive
  std::string hi; // exclusive; empty: no upper bound
};

// -- candidate collection ----------------------------------------------------------------------

// What a kept hit costs in memory: its parts and the heap blocks of its strings (non-scalar
// sort values, rare, by their encoded size).
size_t hit_bytes(const query_hit& h) {
  size_t n = sizeof(query_hit) + h.body.capacity() + h.tuple.capacity() * sizeof(value);
  for (auto& v : h.tuple) {
    if (v.is_string())
      n += v.as_string().size();
    else if (v.is_array() || v.is_object())
      n += to_msgpack(v).size();
  }
  return n;
}

// Receives candidate documents (their msgpack bodies), keeps what the query asks for, within
// the partition's memory bound.
class collector {
public:
  collector(const partition_query& pq, bool streaming)
      : q_(pq.q), k_(pq.k), after_(pq.after), streaming_(streaming && pq.group_limit == 0),
        need_all_(counts_all(pq)), bodies_(pq.bodies), bytes_max_(pq.memory_bytes_max),
        group_path_(pq.group_path), group_limit_(pq.group_limit) {}

  // Whether every match is visited, cursor or not (a total or an aggregate).
  static bool counts_all(const partition_query& pq) {
    return pq.count_total || pq.q.aggregate != aggregate_fn::none;
  }

  // Offers one candidate; `token` is its first-sort-key bytes in a streaming scan (equal tokens
  // are ties). Returns false when the scan can stop.
  bool offer(std::string_view body, std::string_view token) {
    if (over_budget_)
      return false;
    ++examined_;
    if (!matches_msgpack(q_.where, body))
      return true;
    ++total_;
    if (q_.aggregate != aggregate_fn::none)
      add_to_aggregate(body);
    if (done_collecting_)
      return need_all_;
    if (k_ == 0) {
      done_collecting_ = true;
      return need_all_;
    }
    auto tuple = sort_tuple_msgpack(body, q_.order_by);
    if (!after_.empty() && compare_sort_tuples(tuple, after_, q_.order_by) <= 0)
      return true;
    auto kept = bodies_ ? body : std::string_view{};
    bool more = true;
    if (group_limit_ != 0)
      offer_grouped(std::move(tuple), kept, to_msgpack(extract_msgpack(body, group_path_)));
    else if (streaming_)
      more = offer_streaming(std::move(tuple), kept, token);
    else
      offer_heap(std::move(tuple), kept);
    if (bytes_max_ != 0 && held_bytes_ > bytes_max_) {
      over_budget_ = true;
      return false;
    }
    return more;
  }

  // Called at the end of a plan; a scan paused between slices (see scan_progress) finishes
  // later, and what it returns now is not used.
  void set_pause_flag(const bool* paused) { paused_ = paused; }

  // The scan ran in more than one slice: an index entry that moved while it paused (its value
  // changed) may have been offered twice.
  void set_sliced() { sliced_ = true; }

  caf::expected<partition_result> finish(plan_kind plan) {
    if (paused_ != nullptr && *paused_)
      return partition_result{};
    if (over_budget_)
      return make_error(errc::too_large,
                        "the query needs more than its memory bound to answer: this partition "
                        "alone would hold " +
                            std::to_string(held_bytes_) + " bytes of candidates (bound " +
                            std::to_string(bytes_max_) +
                            " per partition); page with the cursor (after/nextCursor) rather "
                            "than a large offset, or narrow the where");
    partition_result out;
    auto less = [&](const query_hit& a, const query_hit& b) {
      return compare_sort_tuples(a.tuple, b.tuple, q_.order_by) < 0;
    };
    for (auto& [key, group] : groups_)
      for (auto& h : group)
        hits_.push_back(std::move(h));
    groups_.clear();
    std::sort(hits_.begin(), hits_.end(), less);
    if (sliced_)
      drop_repeated_ids();
    if (group_limit_ == 0 && hits_.size() > k_)
      hits_.resize(k_);
    out.hits = std::move(hits_);
    out.total = total_;
    out.agg = agg_;
    out.stats.examined = examined_;
    out.stats.plan = plan;
    return out;
  }

private:
  bool offer_streaming(std::vector<value> tuple, std::string_view body, std::string_view token) {
    if (hits_.size() < k_) {
      keep(query_hit{std::move(tuple), std::string{body}});
      if (hits_.size() == k_)
        tie_token_ = std::string{token};
      return true;
    }
    if (token == tie_token_) {
      // A tie with the k-th hit: keep the best k of the tie group (a bounded heap), not every
      // tie, so a large group (one value of a low-cardinality sort field) costs no memory.
      if (!tie_heap_) {
        std::make_heap(hits_.begin(), hits_.end(), [&](const query_hit& a, const query_hit& b) {
          return compare_sort_tuples(a.tuple, b.tuple, q_.order_by) < 0;
        });
        tie_heap_ = true;
      }
      offer_heap(std::move(tuple), body);
      return true;
    }
    // Past the k-th hit's sort key: later candidates can only sort after it.
    done_collecting_ = true;
    return need_all_;
  }

  void offer_heap(std::vector<value> tuple, std::string_view body) {
    offer_bounded(hits_, k_, std::move(tuple), body);
  }

  // Each group (its key: the msgpack of the group field's value) keeps its best group_limit_.
  void offer_grouped(std::vector<value> tuple, std::string_view body, std::string key) {
    offer_bounded(groups_[std::move(key)], group_limit_, std::move(tuple), body);
  }

  // Keeps the best `k` hits in `heap`, a max-heap on the sort order (the worst kept hit is at
  // the front).
  void offer_bounded(std::vector<query_hit>& heap, uint64_t k, std::vector<value> tuple,
                     std::string_view body) {
    auto less = [&](const query_hit& a, const query_hit& b) {
      return compare_sort_tuples(a.tuple, b.tuple, q_.order_by) < 0;
    };
    if (heap.size() < k) {
      keep(heap, query_hit{std::move(tuple), std::string{body}});
      std::push_heap(heap.begin(), heap.end(), less);
      return;
    }
    if (compare_sort_tuples(tuple, heap.front().tuple, q_.order_by) >= 0)
      return;
    std::pop_heap(heap.begin(), heap.end(), less);
    held_bytes_ -= hit_bytes(heap.back());
    heap.back() = query_hit{std::move(tuple), std::string{body}};
    held_bytes_ += hit_bytes(heap.back());
    std::push_heap(heap.begin(), heap.end(), less);
  }

  void keep(query_hit h) { keep(hits_, std::move(h)); }

  // Keeps the first (best) hit of each id; a tuple ends with the id.
  void drop_repeated_ids() {
    std::set<std::string> seen;
    auto last = std::remove_if(hits_.begin(), hits_.end(), [&](const query_hit& h) {
      auto& id = h.tuple.back();
      return id.is_string() && !seen.insert(id.as_string()).second;
    });
    hits_.erase(last, hits_.end());
  }

  void keep(std::vector<query_hit>& into, query_hit h) {
    held_bytes_ += hit_bytes(h);
    into.push_back(std::move(h));
  }

  void add_to_aggregate(std::string_view body) {
    if (q_.aggregate == aggregate_fn::count) {
      aggregate_add(agg_, q_.aggregate, nullptr);
      return;
    }
    auto v = extract_msgpack(body, q_.aggregate_field);
    aggregate_add(agg_, q_.aggregate, &v);
  }

  const query& q_;
  uint64_t k_;
  const std::vector<value>& after_;
  bool streaming_;
  bool need_all_;
  bool bodies_;
  uint64_t bytes_max_;
  uint64_t held_bytes_ = 0;
  bool over_budget_ = false;
  const std::string& group_path_;
  uint64_t group_limit_;
  std::map<std::string, std::vector<query_hit>> groups_;
  const bool* paused_ = nullptr;
  bool sliced_ = false;
  bool done_collecting_ = false;
  bool tie_heap_ = false;
  std::vector<query_hit> hits_;
  std::string tie_token_;
  uint64_t examined_ = 0;
  uint64_t total_ = 0;
  aggregate_state agg_;
};

// -- slices ------------------------------------------------------------------------------------

// What a scan keeps between its slices. Each slice is one run of the planner in a read snapshot
// of its own: it reads at most `entries_max` entries, then pauses at the next key it would have
// read. The walks of a plan (one per key range) happen in the same order in every run, so the
// next slice skips the walks finished before and starts the paused one at its key.
struct scan_progress {
  std::optional<collector> col;
  uint64_t entries_max = 0; // per slice; 0: no pause
  uint64_t used = 0;        // entries read in this slice
  size_t seq = 0;           // walks started in this slice's run
  bool paused = false;
  bool resuming = false;
  size_t resume_seq = 0;
  std::string resume_key; // the first key not read yet
  uint32_t slices = 0;
  uint64_t entries = 0; // entries read in all slices

  // Whether to pause before reading `key` of walk `seq`; records where.
  bool pause_before(size_t walk, std::string_view key) {
    if (entries_max == 0 || used < entries_max) {
      ++used;
      ++entries;
      return false;
    }
    paused = true;
    resume_seq = walk;
    resume_key = std::string{key};
    return true;
  }
};

// -- scanning ----------------------------------------------------------------------------------

// Every record a query reads is verified (storage::record_body: version and checksum) before
// anything in it is looked at; damage is `corruption` naming the document, never a silent skip.
caf::expected<std::string_view> body_of(std::string_view record, const std::string& model,
                                        std::string_view id) {
  constexpr std::string_view what = "document";
  auto body = storage::record_body(record, what);
  if (!body) // the message is "document: <damage>"; name which document
    return make_error(errc::corruption, "document " + model + "/" + std::string{id} +
                                            message_of(body.error()).substr(what.size()));
  return body;
}

// Visits the entries of `t` with keys in `r`, forward or backward, until `fn` returns false.
template <class F>
caf::error scan_range(const storage::read_txn& txn, storage::table t, const key_range& r,
                      bool reverse, F&& fn) {
  auto c = txn.open_cursor(t);
  if (!c)
    return c.error();
  bool ok;
  if (!reverse)
    ok = c->seek(r.lo);
  else
    ok = r.hi.empty() ? c->last() : c->seek_before(r.hi);
  while (ok) {
    auto k = c->key();
    if (reverse ? k < std::string_view{r.lo} : (!r.hi.empty() && k >= std::string_view{r.hi}))
      break;
    caf::error err;
    if (!fn(*c, err))
      return err;
    ok = reverse ? c->prev() : c->next();
  }
  return c->error();
}

// -- which conditions an index can answer -------------------------------------------------------

bool scalar(const value& v) {
  return !v.is_array() && !v.is_object();
}

bool is_eq_lookup(const query_expr& c) {
  return c.op == query_op::eq && scalar(c.operand);
}

bool is_in_lookup(const query_expr& c) {
  if (c.op != query_op::in || !c.operand.is_array())
    return false;
  auto& xs = c.operand.as_array();
  return std::all_of(xs.begin(), xs.end(), [](const value& v) { return scalar(v); });
}

// An `in` worth answering from an index where the documents could also be scanned.
bool is_small_in_lookup(const query_expr& c) {
  return is_in_lookup(c) && c.operand.as_array().size() <= 64;
}

bool is_range_lookup(const query_expr& c) {
  switch (c.op) {
  case query_op::gt:
  case query_op::ge:
  case query_op::lt:
  case query_op::le:
  case query_op::starts_with:
    return scalar(c.operand);
  case query_op::between:
    return c.operand.is_array() && c.operand.as_array().size() == 2;
  default:
    return false;
  }
}

// -- the plan: chosen from the query, the model and the layout alone -----------------------------

// What plan_scan looks at: the partition's indexed fields and the query's top-level conditions.
struct plan_inputs {
  const model_def& def;
  const partition_layout& layout;
  std::vector<const query_expr*> conds;

  plan_inputs(const model_def& d, const partition_layout& l, const query& q) : def(d), layout(l) {
    if (q.where.type == query_expr::kind::all)
      for (auto& c : q.where.children)
        if (c.type == query_expr::kind::cond)
          conds.push_back(&c);
  }

  bool indexed(const std::string& f) const {
    return std::find(layout.indexed.begin(), layout.indexed.end(), f) != layout.indexed.end();
  }

  // An index whose key order is the order of the field's values.
  bool ordered_index(const std::string& f) const {
    if (!indexed(f))
      return false;
    if (f == "createdAt")
      return true;
    auto* fd = def.find_field(f);
    return fd != nullptr && fd->type != field_type::array && fd->type != field_type::object;
  }

  // A top-level `id = "x"` or `id in [...]`.
  const query_expr* find_id_lookup() const {
    for (auto* c : conds)
      if (c->path == "id" && ((c->op == query_op::eq && c->operand.is_string()) ||
                              (c->op == query_op::in && c->operand.is_array())))
        return c;
    return nullptr;
  }

  template <class Pred>
  const query_expr* find_cond(Pred pred) const {
    for (auto* c : conds)
      if (indexed(c->path) && pred(*c))
        return c;
    return nullptr;
  }

  const query_expr* find_range_on(const std::string& f) const {
    for (auto* c : conds)
      if (c->path == f && (is_range_lookup(*c) || is_eq_lookup(*c)))
        return c;
    return nullptr;
  }
};

scan_plan make_plan(const partition_layout& layout, scan_plan::step what, const query_expr* cond,
                    std::string field, bool descending) {
  using step = scan_plan::step;
  scan_plan p{what, cond, std::move(field), descending, plan_kind::none};
  bool g = layout.global_index;
  switch (what) {
  case step::point_lookup:
    p.kind = plan_kind::point_lookup;
    break;
  case step::stream_eq_by_created:
    p.kind = g ? plan_kind::gindex_stream_eq_by_created : plan_kind::stream_eq_by_created;
    break;
  case step::stream_index:
    p.kind = g ? plan_kind::gindex_stream_index : plan_kind::stream_index;
    break;
  case step::heap_index:
    p.kind = g ? plan_kind::gindex_heap_index : plan_kind::heap_index;
    break;
  case step::stream_docs:
    p.kind = plan_kind::stream_docs;
    break;
  case step::heap_docs:
    p.kind = layout.docs_by_user ? plan_kind::scan_users : plan_kind::heap_docs;
    break;
  }
  return p;
}

// A global index partition: its documents can only be reached through its entries, and it
// walks the entries of the field the coordinator chose it for (choose_gindex).
caf::expected<scan_plan> plan_global_index(const model_def& def, const partition_layout& layout,
                                           const query& q) {
  using step = scan_plan::step;
  auto choice = choose_gindex(def, layout.indexed, q);
  if (!choice)
    return make_error(errc::internal, "a global index partition of " + def.name +
                                          " got a query its index cannot answer");
  const sort_key* first = q.order_by.empty() ? nullptr : &q.order_by[0];
  if (choice->cond == nullptr)
    return make_plan(layout, step::stream_index, nullptr, first->path, first->descending);
  auto& c = *choice->cond;
  if (c.op == query_op::eq) {
    if (first != nullptr && first->path == "createdAt")
      return make_plan(layout, step::stream_eq_by_created, &c, c.path, first->descending);
    return make_plan(layout, step::heap_index, &c, c.path, false);
  }
  if (c.op == query_op::in)
    return make_plan(layout, step::heap_index, &c, c.path, false);
  if (first != nullptr && first->path == c.path)
    return make_plan(layout, step::stream_index, &c, c.path, first->descending);
  return make_plan(layout, step::heap_index, &c, c.path, false);
}

} // namespace

caf::expected<scan_plan> plan_scan(const model_def& def, const partition_layout& layout,
                                   const query& q) {
  using step = scan_plan::step;
  if (layout.global_index)
    return plan_global_index(def, layout, q);
  plan_inputs in{def, layout, q};
  // Documents keyed by id: `id =` and `id in` read just those documents.
  if (!layout.docs_by_user)
    if (auto* ids = in.find_id_lookup())
      return make_plan(layout, step::point_lookup, ids, "id", false);
  const query_expr* eq = in.find_cond(is_eq_lookup);
  const query_expr* small_in = in.find_cond(is_small_in_lookup);
  const sort_key* first = q.order_by.empty() ? nullptr : &q.order_by[0];
  if (eq != nullptr && first != nullptr && first->path == "createdAt")
    return make_plan(layout, step::stream_eq_by_created, eq, eq->path, first->descending);
  if (first != nullptr && in.ordered_index(first->path)) {
    if (auto* rc = in.find_range_on(first->path))
      return make_plan(layout, step::stream_index, rc, first->path, first->descending);
    // Streaming a whole index pays only while no `=` or `in` narrows the candidates.
    if (eq == nullptr && small_in == nullptr)
      return make_plan(layout, step::stream_index, nullptr, first->path, first->descending);
  }
  if (eq != nullptr)
    return make_plan(layout, step::heap_index, eq, eq->path, false);
  if (small_in != nullptr)
    return make_plan(layout, step::heap_index, small_in, small_in->path, false);
  if (!layout.docs_by_user && (first == nullptr || (first->path == "id" && q.order_by.size() <= 2)))
    return make_plan(layout, step::stream_docs, nullptr, {}, first != nullptr && first->descending);
  if (auto* rc = in.find_cond(is_range_lookup))
    return make_plan(layout, step::heap_index, rc, rc->path, false);
  return make_plan(layout, step::heap_docs, nullptr, {}, false);
}

namespace {

class planner {
public:
  planner(const storage::read_txn& txn, const partition_layout& layout, const model_def& def,
          const partition_query& pq, scan_progress& prog)
      : txn_(txn), layout_(layout), def_(def), pq_(pq), keys_(pq.q.order_by), prog_(prog) {}

  // Executes the plan plan_scan chose (no store access there), reporting the kind it named.
  caf::expected<partition_result> run() {
    auto p = plan_scan(def_, layout_, pq_.q);
    if (!p)
      return p.error();
    kind_ = p->kind;
    return execute(*p);
  }

  caf::expected<partition_result> execute(const scan_plan& p) {
    using step = scan_plan::step;
    switch (p.what) {
    case step::point_lookup:
      return point_lookup(*p.cond);
    case step::stream_eq_by_created:
      return stream_eq_by_created(*p.cond, p.descending);
    case step::stream_index:
      return stream_index(p.field, p.cond != nullptr ? range_of(*p.cond) : key_range{},
                          p.descending);
    case step::heap_index: {
      auto& c = *p.cond;
      if (c.op == query_op::eq)
        return heap_index(c.path, {prefix_range(c, c.operand)});
      if (c.op == query_op::in)
        return heap_index(c.path, in_ranges(c));
      return heap_index(c.path, {range_of(c)});
    }
    case step::stream_docs:
      return stream_docs(p.descending);
    case step::heap_docs:
      return heap_docs();
    }
    return make_error(errc::internal, "unknown scan plan");
  }

  // One prefix per distinct value of an `in` (1 and 1.0 share one), so no document is offered
  // twice.
  std::vector<key_range> in_ranges(const query_expr& in) const {
    std::vector<key_range> ranges;
    for (auto& v : in.operand.as_array())
      ranges.push_back(prefix_range(in, v));
    std::sort(ranges.begin(), ranges.end(),
              [](const key_range& a, const key_range& b) { return a.lo < b.lo; });
    ranges.erase(std::unique(ranges.begin(), ranges.end(),
                             [](const key_range& a, const key_range& b) { return a.lo == b.lo; }),
                 ranges.end());
    return ranges;
  }

private:
  // -- key ranges --

  std::string field_prefix(const std::string& f) const {
    std::string out = layout_.index_base;
    storage::append_key_string(out, f);
    return out;
  }

  std::string value_prefix(const std::string& f, const value& v) const {
    auto out = field_prefix(f);
    doc_keys::append_index_value(out, v);
    return out;
  }

  key_range prefix_range(const query_expr& c, const value& v) const {
    auto p = value_prefix(c.path, v);
    return key_range{p, prefix_end(p)};
  }

  // The index range holding every candidate of a range condition: values of the operand's type
  // on the condition's side. Candidates are re-checked, so bounds may be generous.
  key_range range_of(const query_expr& c) const {
    auto fp = field_prefix(c.path);
    // The key range of the operand's type: its tag byte; false (0x10) and true (0x11) form one
    // range, since `< true` matches false.
    auto type_start = [&](const value& v) {
      std::string t = fp;
      if (v.is_bool()) {
        t += static_cast<char>(storage::key_tag::false_);
        return t;
      }
      doc_keys::append_index_value(t, v);
      t.resize(fp.size() + 1);
      return t;
    };
    auto type_end = [&](const value& v) {
      std::string t = fp;
      if (v.is_bool()) {
        t += static_cast<char>(storage::key_tag::true_ + 1);
        return t;
      }
      return prefix_end(type_start(v));
    };
    auto at = [&](const value& v) { return value_prefix(c.path, v); };
    switch (c.op) {
    case query_op::eq:
      return prefix_range(c, c.operand);
    case query_op::gt:
    case query_op::ge:
      return key_range{at(c.operand), type_end(c.operand)};
    case query_op::lt:
    case query_op::le:
      return key_range{type_start(c.operand), prefix_end(at(c.operand))};
    case query_op::between: {
      auto& lohi = c.operand.as_array();
      return key_range{at(lohi[0]), prefix_end(at(lohi[1]))};
    }
    case query_op::starts_with: {
      auto p = at(c.operand);
      // Drop the string terminator (0x00 0x01): every string extending the operand follows.
      if (c.operand.is_string() && p.size() >= 2)
        p.resize(p.size() - 2);
      return key_range{p, prefix_end(p)};
    }
    default:
      return key_range{fp, prefix_end(fp)};
    }
  }

  // Narrows `r` to start (or end, for reverse scans) at `pos`, where a cursor points; not when
  // every match must be counted (the collector then skips what precedes the cursor itself).
  void seek_to(key_range& r, const std::string& pos, bool reverse) const {
    if (collector::counts_all(pq_))
      return;
    if (!reverse) {
      if (pos > r.lo)
        r.lo = pos;
    } else {
      auto end = prefix_end(pos);
      if (r.hi.empty() || (!end.empty() && end < r.hi))
        r.hi = end;
    }
  }

  // -- scans --

  // The scan's collector, made by the first slice (the plan, and so `streaming`, is the same in
  // every slice).
  collector& collector_for(bool streaming) {
    if (!prog_.col) {
      prog_.col.emplace(pq_, streaming);
      prog_.col->set_pause_flag(&prog_.paused);
    }
    return *prog_.col;
  }

  // Visits the entries of `t` in `r` like scan_range, as one walk of the scan's slices: a walk
  // finished by an earlier slice is skipped, the paused one starts at its key, and the walk
  // pauses when the slice has read its entries.
  template <class F>
  caf::error walk(storage::table t, key_range r, bool reverse, F&& fn) {
    auto seq = prog_.seq++;
    if (prog_.paused)
      return caf::none;
    if (prog_.resuming) {
      if (seq < prog_.resume_seq)
        return caf::none;
      if (seq == prog_.resume_seq) {
        prog_.resuming = false;
        auto& at = prog_.resume_key;
        if (!reverse) {
          if (at > r.lo)
            r.lo = at;
        } else {
          auto next = at + '\0'; // the smallest key after `at`: `at` itself is still to read
          if (r.hi.empty() || next < r.hi)
            r.hi = std::move(next);
        }
      }
    }
    return scan_range(txn_, t, r, reverse, [&](storage::cursor& c, caf::error& err) {
      if (prog_.pause_before(seq, c.key()))
        return false;
      return fn(c, err);
    });
  }

  caf::expected<std::string_view> fetch(std::string_view id) {
    auto key = layout_.docs_prefix;
    key.append(id);
    return fetch_key(key, id);
  }

  // An empty view means "no document": allowed only for global index entries (see the layout).
  caf::expected<std::string_view> fetch_key(const std::string& key, std::string_view id) {
    auto rec = txn_.get(layout_.docs, key);
    if (!rec)
      return rec.error();
    if (!*rec) {
      if (layout_.global_index)
        return std::string_view{};
      return make_error(errc::corruption,
                        "index entry without document " + def_.name + "/" + std::string{id});
    }
    return body_of(**rec, def_.name, id);
  }

  // What identifies ties in a streaming index scan: entries with equal tokens tie.
  enum class token { value, created, order };

  // Walks index entries in `r`, offering each entry's token (see token).
  caf::error walk_index(const std::string& field, key_range r, bool reverse, token tk,
                        collector& col) {
    auto fp_size = field_prefix(field).size();
    if (layout_.global_index)
      return walk_gindex(fp_size, r, reverse, tk, col);
    return walk(layout_.index, r, reverse, [&](storage::cursor& c, caf::error& err) {
      doc_keys::index_entry e;
      if (!doc_keys::split_index_key(c.key(), fp_size, e)) {
        err = make_error(errc::corruption, "malformed index entry of " + def_.name + "." + field);
        return false;
      }
      auto body = fetch(e.id);
      if (!body) {
        err = std::move(body.error());
        return false;
      }
      // The order part: createdAt and id (entries are in id order within one createdAt).
      auto order = c.key().substr(fp_size + e.value_part.size());
      return col.offer(*body, tk == token::value     ? e.value_part
                              : tk == token::created ? e.created_part
                                                     : order);
    });
  }

  caf::error walk_gindex(size_t fp_size, key_range r, bool reverse, token tk, collector& col) {
    return walk(layout_.index, r, reverse, [&](storage::cursor& c, caf::error& err) {
      doc_keys::gindex_entry e;
      if (!doc_keys::split_gindex_key(c.key(), fp_size, e)) {
        err = make_error(errc::corruption, "malformed global index entry of " + def_.name);
        return false;
      }
      if (layout_.owner_is_shard && e.user.size() != 2) {
        err = make_error(errc::corruption, "malformed global index entry of " + def_.name);
        return false;
      }
      auto body =
          fetch_key(layout_.owner_is_shard
                        ? doc_keys::doc_key(layout_.model_id, storage::read_u16(e.user), e.id)
                        : doc_keys::user_doc_key(layout_.model_id, e.user, e.id),
                    e.id);
      if (!body) {
        err = std::move(body.error());
        return false;
      }
      if (body->empty())
        return true; // the document is gone; its index removal is still in the outbox
      return col.offer(*body, tk == token::value     ? e.value_part
                              : tk == token::created ? e.created_part
                                                     : e.order_part);
    });
  }

  caf::expected<partition_result> stream_eq_by_created(const query_expr& eq, bool reverse) {
    auto& col = collector_for(true);
    auto vp = value_prefix(eq.path, eq.operand);
    key_range r{vp, prefix_end(vp)};
    if (!pq_.after.empty() && pq_.after[0].is_int()) {
      std::string pos = vp;
      storage::append_key_int(pos, pq_.after[0].as_int());
      seek_to(r, pos, reverse);
    }
    // Ordered by createdAt alone, the sort tuple is (createdAt, id) with the id in the same
    // direction: the entries' own order, so every entry is its own tie group and the scan stops
    // at exactly k hits. With more sort keys, entries of one createdAt tie.
    auto tk = keys_.size() == 1 ? token::order : token::created;
    if (auto err = walk_index(eq.path, r, reverse, tk, col))
      return err;
    return col.finish(kind_);
  }

  caf::expected<partition_result> stream_index(const std::string& field, key_range r,
                                               bool reverse) {
    auto& col = collector_for(true);
    if (r.lo.empty()) {
      auto fp = field_prefix(field);
      r = key_range{fp, prefix_end(fp)};
    }
    if (!pq_.after.empty())
      seek_to(r, value_prefix(field, pq_.after[0]), reverse);
    if (auto err = walk_index(field, r, reverse, token::value, col))
      return err;
    return col.finish(kind_);
  }

  caf::expected<partition_result> heap_index(const std::string& field,
                                             const std::vector<key_range>& ranges) {
    auto& col = collector_for(false);
    for (auto& r : ranges)
      if (auto err = walk_index(field, r, false, token::value, col))
        return err;
    return col.finish(kind_);
  }

  // The documents of the ids `c` names, each read once.
  caf::expected<partition_result> point_lookup(const query_expr& c) {
    auto& col = collector_for(false);
    std::vector<std::string> ids;
    if (c.op == query_op::eq)
      ids.push_back(c.operand.as_string());
    else
      for (auto& v : c.operand.as_array())
        if (v.is_string())
          ids.push_back(v.as_string());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (auto& id : ids) {
      if (id.empty() || id.size() > doc_keys::id_bytes_max)
        continue; // no document has it
      auto rec = txn_.get(layout_.docs, layout_.docs_prefix + id);
      if (!rec)
        return rec.error();
      if (!*rec)
        continue;
      auto body = body_of(**rec, def_.name, id);
      if (!body)
        return body.error();
      col.offer(*body, id);
    }
    return col.finish(kind_);
  }

  caf::error walk_docs(key_range r, bool reverse, collector& col) {
    auto id_offset = layout_.docs_prefix.size();
    return walk(layout_.docs, r, reverse, [&](storage::cursor& c, caf::error& err) {
      auto body = body_of(c.val(), def_.name, c.key().substr(id_offset));
      if (!body) {
        err = std::move(body.error());
        return false;
      }
      return col.offer(*body, c.key().substr(id_offset));
    });
  }

  caf::expected<partition_result> stream_docs(bool reverse) {
    auto& col = collector_for(true);
    key_range r{layout_.docs_prefix, prefix_end(layout_.docs_prefix)};
    if (!pq_.after.empty() && pq_.after[0].is_string())
      seek_to(r, layout_.docs_prefix + pq_.after[0].as_string(), reverse);
    if (auto err = walk_docs(r, reverse, col))
      return err;
    return col.finish(kind_);
  }

  caf::expected<partition_result> heap_docs() {
    auto& col = collector_for(false);
    auto err = layout_.docs_by_user
                   ? walk_my_users(col)
                   : walk_docs(key_range{layout_.docs_prefix, prefix_end(layout_.docs_prefix)},
                               false, col);
    if (err)
      return err;
    return col.finish(kind_);
  }

  // A scan of every user's database (docs_prefix covers the model): the documents of the user
  // ranges that are this scanner's share (range % user_mod == user_rem), skipping each other
  // range with one seek.
  caf::error walk_my_users(collector& col) {
    // One walk of the scan's slices (see walk), with its own cursor for the seeks past other
    // hosts' users.
    auto seq = prog_.seq++;
    if (prog_.paused || (prog_.resuming && seq < prog_.resume_seq))
      return caf::none;
    auto from = layout_.docs_prefix;
    if (prog_.resuming && seq == prog_.resume_seq) {
      prog_.resuming = false;
      if (prog_.resume_key > from)
        from = prog_.resume_key;
    }
    auto c = txn_.open_cursor(layout_.docs);
    if (!c)
      return c.error();
    auto end = prefix_end(layout_.docs_prefix);
    bool ok = c->seek(from);
    while (ok && (end.empty() || c->key() < std::string_view{end})) {
      auto rest = c->key().substr(layout_.docs_prefix.size());
      if (rest.size() < 2)
        return make_error(errc::corruption, "malformed document key of " + def_.name);
      auto range = storage::read_u16(rest);
      if (layout_.user_mod != 0 && range % layout_.user_mod != layout_.user_rem) {
        if (prog_.pause_before(seq, c->key()))
          return caf::none;
        ok = c->seek(prefix_end(layout_.docs_prefix + std::string{rest.substr(0, 2)}));
        continue;
      }
      rest.remove_prefix(2);
      if (!storage::skip_key(rest))
        return make_error(errc::corruption, "malformed document key of " + def_.name);
      // The user's database: model | range | user (a copy: the cursor's key changes as it moves).
      std::string up{c->key().substr(0, c->key().size() - rest.size())};
      for (; ok && c->key().substr(0, up.size()) == up; ok = c->next()) {
        if (prog_.pause_before(seq, c->key()))
          return caf::none;
        auto id = c->key().substr(up.size());
        auto body = body_of(c->val(), def_.name, id);
        if (!body)
          return body.error();
        if (!col.offer(*body, id))
          return c->error();
      }
    }
    return c->error();
  }

  const storage::read_txn& txn_;
  const partition_layout& layout_;
  const model_def& def_;
  const partition_query& pq_;
  const std::vector<sort_key>& keys_;
  scan_progress& prog_;
  plan_kind kind_ = plan_kind::none; // the plan being executed (plan_scan's choice)
};

} // namespace

std::optional<gindex_choice>
choose_gindex(const model_def& def, const std::vector<std::string>& global_fields, const query& q) {
  if (global_fields.empty() || q.where.type != query_expr::kind::all)
    return std::nullopt;
  auto global = [&](const std::string& f) {
    auto* fd = def.find_field(f);
    return std::find(global_fields.begin(), global_fields.end(), f) != global_fields.end() &&
           fd != nullptr && fd->type != field_type::array && fd->type != field_type::object;
  };
  for (auto& c : q.where.children) {
    if (c.type != query_expr::kind::cond || !global(c.path))
      continue;
    if (is_eq_lookup(c))
      return gindex_choice{&c, {doc_keys::gindex_partition_of(c.operand)}};
    if (is_in_lookup(c)) {
      gindex_choice out{&c, {}};
      for (auto& v : c.operand.as_array())
        out.partitions.push_back(doc_keys::gindex_partition_of(v));
      std::sort(out.partitions.begin(), out.partitions.end());
      out.partitions.erase(std::unique(out.partitions.begin(), out.partitions.end()),
                           out.partitions.end());
      if (out.partitions.empty()) // `in []`: nothing matches; one partition says so
        out.partitions.push_back(0);
      return out;
    }
    if (is_range_lookup(c))
      return gindex_choice{&c, {}};
  }
  if (!q.order_by.empty() && global(q.order_by[0].path))
    return gindex_choice{};
  return std::nullopt;
}

struct partition_scan::state {
  partition_layout layout;
  std::shared_ptr<const void> keep_def;
  const model_def* def;
  partition_query pq;
  scan_progress prog;
};

partition_scan::partition_scan(partition_layout layout, const model_def& def,
                               std::shared_ptr<const void> keep_def, partition_query pq)
    : st_(std::make_unique<state>(
          state{std::move(layout), std::move(keep_def), &def, std::move(pq), {}})) {}

partition_scan::~partition_scan() = default;

std::optional<caf::expected<partition_result>> partition_scan::step(storage::environment& env,
                                                                    uint64_t entries_max) {
  auto& prog = st_->prog;
  auto txn = env.read();
  if (!txn)
    return caf::expected<partition_result>{txn.error()};
  prog.entries_max = entries_max;
  prog.used = 0;
  prog.seq = 0;
  prog.paused = false;
  ++prog.slices;
  planner p{*txn, st_->layout, *st_->def, st_->pq, prog};
  auto r = p.run();
  if (prog.paused) {
    prog.resuming = true;
    if (prog.col)
      prog.col->set_sliced();
    return std::nullopt;
  }
  if (r) {
    r->stats.slices = prog.slices;
    r->stats.entries = prog.entries;
  }
  return r;
}

caf::expected<partition_result> run_partition_query(storage::environment& env,
                                                    const partition_layout& layout,
                                                    const model_def& def,
                                                    const partition_query& pq) {
  partition_scan scan{layout, def, nullptr, pq};
  return *scan.step(env, 0);
}

} // namespace debros
