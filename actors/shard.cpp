#include "actors/shard.hpp"

#include <cstdio>
#include <deque>
#include <unordered_map>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/ack_channel.hpp"
#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/guarded.hpp"
#include "actors/ids.hpp"
#include "actors/partition_scan.hpp"
#include "actors/placement.hpp"
#include "actors/reply.hpp"
#include "actors/scan_runner.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "storage/record.hpp"

namespace debros {

namespace {

struct pending_increment {
  std::string field;
  value by;
  reply<value> r;
  std::string as_user;
};

// An operation waiting for the document it touches to be free.
struct deferred {
  std::function<void()> run;
  std::shared_ptr<pending_increment> inc; // set for increments, which are coalesced
};

struct shard_state {
  shard_config cfg;
  std::shared_ptr<const model_entry> entry;
  doc_tables tables;
  partition_layout layout;
  std::shared_ptr<ack_channel> acks;
  uint64_t next_token = 1;
  std::unordered_map<uint64_t, std::function<void(const caf::error&)>> pending;
  std::unordered_map<std::string, std::deque<deferred>> busy;
  /// Operations waiting in `busy`, all documents together (cfg.queued_ops_max).
  size_t queued = 0;

  static inline const char* name = "debros.shard";
};

using self_ptr = shard_actor::stateful_pointer<shard_state>;

const model_def& def_of(self_ptr self) {
  return self->state.entry->def();
}

std::string not_found_message(self_ptr self, const std::string& id) {
  return def_of(self).name + "/" + id + " not found";
}

caf::expected<std::optional<value>> read_doc(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto txn = st.cfg.env->read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(st.tables.docs, doc_key_of(*st.entry, st.cfg.place, id));
  if (!rec)
    return rec.error();
  if (!*rec)
    return std::optional<value>{};
  auto doc = storage::decode_record(**rec, "document " + def_of(self).name + "/" + id);
  if (!doc)
    return doc.error();
  // After the read: the record is the document stored under this id (every write keeps the id,
  // check_hooked_id). Writes plan from it (doc_writes.cpp asserts its id), so a damaged one is
  // reported here, not dereferenced.
  auto* stored_id = doc->is_object() ? doc->find("id") : nullptr;
  if (stored_id == nullptr || !(*stored_id == value{id}))
    return make_error(errc::corruption, "document " + def_of(self).name + "/" + id +
                                            ": the stored record does not hold this id");
  return std::optional<value>{std::move(*doc)};
}

// -- per-document serialization ----------------------------------------------------------------

bool is_busy(self_ptr self, const std::string& id) {
  return self->state.busy.count(id) > 0;
}

// The error of an operation that finds the partition's queue full.
caf::error queue_full(self_ptr self, const std::string& id) {
  return make_error(errc::unavailable, "too many operations wait for writes in this partition of " +
                                           def_of(self).name + " (" +
                                           std::to_string(self->state.cfg.queued_ops_max) +
                                           ", document " + id + " among them); retry later");
}

// Whether one more operation may wait; callers fail it with queue_full otherwise.
bool may_defer(self_ptr self) {
  return self->state.queued < self->state.cfg.queued_ops_max;
}

void defer(self_ptr self, const std::string& id, deferred d) {
  DEBROS_ASSERT(may_defer(self));
  ++self->state.queued;
  self->state.busy[id].push_back(std::move(d));
}

void run_increments(self_ptr self, const std::string& id, std::vector<pending_increment> incs);

// The write of `id` is durable (or failed): run what waited for it, in order. The first
// operation that writes marks the document busy again and the rest queue up behind it.
void release(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto it = st.busy.find(id);
  // submit() marked the document busy and only this release, once per write, clears it.
  DEBROS_ASSERT(it != st.busy.end());
  auto waiting = std::move(it->second);
  st.busy.erase(it);
  DEBROS_ASSERT(waiting.size() <= st.queued);
  st.queued -= waiting.size();
  size_t i = 0;
  while (i < waiting.size()) {
    if (waiting[i].inc) {
      std::vector<pending_increment> group;
      while (i < waiting.size() && waiting[i].inc)
        group.push_back(std::move(*waiting[i++].inc));
      run_increments(self, id, std::move(group));
    } else {
      waiting[i++].run();
    }
  }
}

// After a write of a user-scoped document: the global index partitions have work in the outbox.
void nudge_indexes(self_ptr self, const std::vector<std::pair<std::string, std::string>>& work);

// Submits a plan to the writer; `on_commit` runs in this actor once the write is durable or
// failed, and the document is released after it.
void submit(self_ptr self, write_plan plan, std::function<void(const caf::error&)> on_commit) {
  auto& st = self->state;
  auto id = plan.id;
  // One write per document at a time: every caller checked is_busy first, in this message.
  auto [busy_entry, fresh] = st.busy.try_emplace(id);
  DEBROS_ASSERT(fresh && busy_entry->second.empty());
  auto token = st.next_token++;
  st.pending.emplace(token, [self, id, work = plan.outbox,
                             on_commit = std::move(on_commit)](const caf::error& err) {
    if (!err) {
      nudge_indexes(self, work);
      if (self->state.cfg.gens != nullptr)
        self->state.cfg.gens->bump(self->state.entry->def().name);
    }
    on_commit(err);
    release(self, id);
  });
  auto acks = st.acks;
  auto tables = st.tables;
  auto bytes = plan_bytes(plan);
  st.cfg.writer->submit([plan = std::move(plan),
                         tables](storage::write_txn& txn) { return apply_plan(txn, tables, plan); },
                        [acks, token](const caf::error& err) { acks->push(token, err); }, bytes);
}

void on_acks(self_ptr self) {
  auto& st = self->state;
  for (auto& [token, err] : st.acks->drain()) {
    auto it = st.pending.find(token);
    if (it == st.pending.end())
      continue;
    auto fn = std::move(it->second);
    st.pending.erase(it);
    fn(err);
  }
}

// The runtime stops the writer before its actors, so every write submitted from here on fails
// at once and its ack is already in the channel: drain until nothing is pending, so that every
// operation this actor took is answered before it quits.
void stop(self_ptr self) {
  auto& st = self->state;
  for (int round = 0; !st.pending.empty() && round < 1000; ++round)
    on_acks(self);
  for (auto& [token, fn] : std::exchange(st.pending, {}))
    fn(make_error(errc::shutting_down, "the runtime is stopping"));
  self->quit();
}

caf::error run_before(const std::vector<before_hook>& hooks, value& doc) {
  return guarded("a before-hook", [&]() -> caf::error {
    for (auto& h : hooks)
      if (auto err = h(doc))
        return err;
    return caf::none;
  });
}

void run_after(const std::vector<after_hook>& hooks, const value& doc) {
  // The write is durable already: a failing after-hook is reported, not propagated.
  if (auto err = guarded("an after-hook", [&]() -> caf::error {
        for (auto& h : hooks)
          h(doc);
        return caf::none;
      }))
    std::fprintf(stderr, "debros: %s\n", message_of(err).c_str());
}

caf::error check_placement(self_ptr self, const value& doc) {
  return check_place(def_of(self), self->state.cfg.place, doc);
}

// A before-hook must not change or remove a document's id.
caf::error check_hooked_id(const value& doc, const std::string& id, const char* hook) {
  auto* hooked = doc.is_object() ? doc.find("id") : nullptr;
  if (hooked == nullptr || !(*hooked == value{id}))
    return make_error(errc::invalid_argument, std::string{"a "} + hook + " hook changed the id");
  return caf::none;
}

std::string owner_of(const value& doc) {
  auto* u = doc.is_object() ? doc.find("userId") : nullptr;
  return u != nullptr && u->is_string() ? u->as_string() : std::string{};
}

// A write made for `as_user` (not empty) changes only documents that user owns: checked here,
// on the state the write changes, while the document is this actor's alone.
caf::error check_owner(const value& doc, const std::string& as_user) {
  if (as_user.empty() || owner_of(doc) == as_user)
    return caf::none;
  return make_error(errc::forbidden,
                    "a user token writes only documents of its own user (" + as_user + ")");
}

// Tells the host of a user database that one operation is answered.
void op_done(self_ptr self) {
  auto& cfg = self->state.cfg;
  // The host is an untyped actor: typed actors may not send() to it.
  if (cfg.host)
    caf::anon_send(cfg.host, done_atom::value, cfg.host_key);
}

// A reply that also reports the operation done to the host.
template <class R>
reply<R> tracked(self_ptr self, reply<R> r) {
  if (!self->state.cfg.host)
    return r;
  return reply<R>{reply_fn<R>{[self, r](caf::expected<R> x) {
    if (x)
      r.deliver(std::move(*x));
    else
      r.fail(std::move(x.error()));
    op_done(self);
  }}};
}

// -- create ------------------------------------------------------------------------------------

void do_replace(self_ptr self, value old_doc, value fields, bool replace, reply<value> r);

void do_create(self_ptr self, doc_create op, reply<value> r) {
  auto entry = self->state.entry;
  if (!op.doc.is_object())
    return r.fail(make_error(errc::invalid_argument, "a document must be a JSON object"));
  auto& obj = op.doc.as_object();
  if (obj.find("id") == nullptr)
    obj.set("id", new_id());
  if (!obj.find("id")->is_string() || obj.find("id")->as_string().empty())
    return r.fail(make_error(errc::validation_failed, "id must be a non-empty string",
                             {error_detail{"id", "id must be a non-empty string"}}));
  auto id = obj.find("id")->as_string();
  if (is_busy(self, id)) {
    if (!may_defer(self))
      return r.fail(queue_full(self, id));
    return defer(self, id, deferred{[self, op, r]() { do_create(self, op, r); }, nullptr});
  }
  if (entry->def().type == store_type::keyvalue) {
    // Key-value models: writing an existing key replaces its value.
    auto cur = read_doc(self, id);
    if (!cur)
      return r.fail(cur.error());
    if (*cur) {
      // Replacing a value is a write to the stored document: its owner's alone.
      if (auto err = check_owner(**cur, op.as_user))
        return r.fail(err);
      return do_replace(self, std::move(**cur), std::move(op.doc), true, r);
    }
  }
  auto now = now_ms();
  obj.set("createdAt", now);
  obj.set("updatedAt", now);
  entry->model->normalize(op.doc, write_mode::create);
  if (auto err = run_before(entry->ext->before_create, op.doc))
    return r.fail(err);
  if (auto err = check_hooked_id(op.doc, id, "before-create"))
    return r.fail(err);
  if (auto err = check_owner(op.doc, op.as_user))
    return r.fail(err);
  if (auto err = validate(*entry, op.doc, write_mode::create))
    return r.fail(err);
  if (auto err = check_placement(self, op.doc))
    return r.fail(err);
  auto plan = plan_create(*entry, self->state.cfg.place, op.doc);
  if (!plan)
    return r.fail(plan.error());
  submit(self, std::move(*plan), [entry, doc = std::move(op.doc), r](const caf::error& err) {
    if (err)
      return r.fail(err);
    run_after(entry->ext->after_create, doc);
    r.deliver(doc);
  });
}

// -- update ------------------------------------------------------------------------------------

// The document after applying `fields` to `old_doc`: merged (null removes a field) or replacing
// the fields. The system fields keep their values; updatedAt is now.
caf::expected<value> next_version(const value& old_doc, const value& fields, bool replace) {
  if (!fields.is_object())
    return make_error(errc::invalid_argument, "the fields must be a JSON object");
  // read_doc checked it on the stored document.
  DEBROS_ASSERT(old_doc.find("id") != nullptr && old_doc.find("id")->is_string());
  auto& id = old_doc.find("id")->as_string();
  if (auto* given = fields.find("id"); given != nullptr && !(*given == value{id}))
    return make_error(errc::invalid_argument, "id cannot change (document " + id + ")");
  const value* old_user = old_doc.find("userId");
  if (auto* given = fields.find("userId");
      given != nullptr && old_user != nullptr && !(*given == *old_user))
    return make_error(errc::invalid_argument, "userId cannot change (document " + id + ")");
  value next = replace ? value{object{}} : old_doc;
  auto& obj = next.as_object();
  for (auto& [k, v] : fields.as_object()) {
    if (k == "createdAt" || k == "updatedAt")
      continue; // maintained by Debros
    if (v.is_null() && !replace)
      obj.erase(k);
    else
      obj.set(k, v);
  }
  obj.set("id", id);
  // Kept when stored. Not asserted: nothing requires it, and a before-hook may remove it.
  if (auto* created = old_doc.find("createdAt"))
    obj.set("createdAt", *created);
  obj.set("updatedAt", now_ms());
  if (old_user != nullptr)
    obj.set("userId", *old_user);
  return next;
}

void do_replace(self_ptr self, value old_doc, value fields, bool replace, reply<value> r) {
  auto entry = self->state.entry;
  auto next = next_version(old_doc, fields, replace);
  if (!next)
    return r.fail(next.error());
  auto mode = replace ? write_mode::replace : write_mode::patch;
  entry->model->normalize(*next, mode);
  if (auto err = run_before(entry->ext->before_update, *next))
    return r.fail(err);
  if (auto err = check_hooked_id(*next, old_doc.find("id")->as_string(), "before-update"))
    return r.fail(err);
  if (auto err = validate(*entry, *next, mode))
    return r.fail(err);
  if (auto err = check_placement(self, *next))
    return r.fail(err);
  auto plan = plan_update(*entry, self->state.cfg.place, old_doc, *next);
  if (!plan)
    return r.fail(plan.error());
  submit(self, std::move(*plan), [entry, doc = std::move(*next), r](const caf::error& err) {
    if (err)
      return r.fail(err);
    run_after(entry->ext->after_update, doc);
    r.deliver(doc);
  });
}

caf::error updatable(const model_def& def) {
  switch (def.type) {
  case store_type::eventlog:
  case store_type::feed:
    return make_error(errc::invalid_argument, "documents of " + def.name + " (store type " +
                                                  std::string{to_string(def.type)} +
                                                  ") are append-only and cannot be updated");
  case store_type::counter:
    return make_error(errc::invalid_argument,
                      "documents of " + def.name + " (store type counter) change by increment");
  default:
    return caf::none;
  }
}

caf::error incrementable(const model_def& def) {
  if (def.type == store_type::eventlog || def.type == store_type::feed)
    return make_error(errc::invalid_argument, "documents of " + def.name + " (store type " +
                                                  std::string{to_string(def.type)} +
                                                  ") are append-only and cannot be incremented");
  return caf::none;
}

void do_update(self_ptr self, doc_update op, reply<value> r) {
  if (is_busy(self, op.id)) {
    if (!may_defer(self))
      return r.fail(queue_full(self, op.id));
    return defer(self, op.id, deferred{[self, op, r]() { do_update(self, op, r); }, nullptr});
  }
  if (auto err = updatable(def_of(self)))
    return r.fail(err);
  auto cur = read_doc(self, op.id);
  if (!cur)
    return r.fail(cur.error());
  if (!*cur)
    return r.fail(make_error(errc::not_found, not_found_message(self, op.id)));
  if (auto err = check_owner(**cur, op.as_user))
    return r.fail(err);
  do_replace(self, std::move(**cur), std::move(op.fields), op.replace, r);
}

// -- delete ------------------------------------------------------------------------------------

void do_remove(self_ptr self, doc_remove op, reply<bool> r) {
  if (is_busy(self, op.id)) {
    if (!may_defer(self))
      return r.fail(queue_full(self, op.id));
    return defer(self, op.id, deferred{[self, op, r]() { do_remove(self, op, r); }, nullptr});
  }
  auto entry = self->state.entry;
  auto cur = read_doc(self, op.id);
  if (!cur)
    return r.fail(cur.error());
  if (!*cur)
    return r.fail(make_error(errc::not_found, not_found_message(self, op.id)));
  if (auto err = check_owner(**cur, op.as_user))
    return r.fail(err);
  value seen = **cur;
  if (auto err = run_before(entry->ext->before_delete, seen))
    return r.fail(err);
  auto plan = plan_delete(*entry, self->state.cfg.place, **cur);
  submit(self, std::move(plan), [entry, doc = std::move(**cur), r](const caf::error& err) {
    if (err)
      return r.fail(err);
    run_after(entry->ext->after_delete, doc);
    r.deliver(true);
  });
}

// -- increment ---------------------------------------------------------------------------------

// An exact integer stays exact: a sum past the int64 range is refused, never turned into an
// approximate double. A real on either side gives a real.
caf::expected<value> add_numbers(const value& a, const value& b, const std::string& field) {
  if (a.is_int() && b.is_int()) {
    int64_t sum;
    if (__builtin_add_overflow(a.as_int(), b.as_int(), &sum))
      return make_error(errc::invalid_argument,
                        "the increment would take " + field + " past the 64-bit integer range");
    return value{sum};
  }
  return value{a.as_double() + b.as_double()};
}

// Applies `inc` to `doc` if the result is valid. Returns the field's new value.
caf::expected<value> apply_increment(const model_entry& entry, value& doc,
                                     const pending_increment& inc) {
  auto& def = entry.def();
  auto* fd = def.find_field(inc.field);
  if (fd == nullptr || fd->type != field_type::number)
    return make_error(errc::invalid_argument, inc.field + " is not a number field of " + def.name);
  if (!inc.by.is_number())
    return make_error(errc::invalid_argument, "the increment must be a number");
  auto* old = doc.find(inc.field);
  value base = old != nullptr && !old->is_null() ? *old : value{int64_t{0}};
  if (!base.is_number())
    return make_error(errc::invalid_argument, inc.field + " does not hold a number");
  auto sum = add_numbers(base, inc.by, inc.field);
  if (!sum)
    return sum.error();
  value trial = doc;
  trial.as_object().set(inc.field, *sum);
  if (auto err = validate(entry, trial, write_mode::patch))
    return err;
  doc = std::move(trial);
  return sum;
}

void run_increments(self_ptr self, const std::string& id, std::vector<pending_increment> incs) {
  if (is_busy(self, id)) {
    for (auto& inc : incs) {
      if (!may_defer(self)) {
        inc.r.fail(queue_full(self, id));
        continue;
      }
      defer(self, id, deferred{nullptr, std::make_shared<pending_increment>(std::move(inc))});
    }
    return;
  }
  auto entry = self->state.entry;
  auto fail_all = [&](const caf::error& err) {
    for (auto& inc : incs)
      inc.r.fail(err);
  };
  if (auto err = incrementable(entry->def()))
    return fail_all(err);
  auto cur = read_doc(self, id);
  if (!cur)
    return fail_all(cur.error());
  bool creating = !*cur;
  if (creating && entry->def().type != store_type::counter)
    return fail_all(make_error(errc::not_found, not_found_message(self, id)));
  auto now = now_ms();
  value doc = creating ? value{object{{"id", id}, {"createdAt", now}}} : **cur;
  std::vector<std::pair<reply<value>, value>> accepted;
  // A missing counter belongs to whoever makes the first accepted increment (nobody for a
  // trusted one); every increment for a user is checked against that owner.
  bool owned = !creating;
  for (auto& inc : incs) {
    if (owned) {
      if (auto err = check_owner(doc, inc.as_user)) {
        inc.r.fail(err);
        continue;
      }
    }
    value next = doc;
    if (!owned && !inc.as_user.empty())
      next.as_object().set("userId", inc.as_user);
    auto v = apply_increment(*entry, next, inc);
    if (!v) {
      inc.r.fail(v.error());
      continue;
    }
    doc = std::move(next);
    owned = true;
    accepted.emplace_back(inc.r, std::move(*v));
  }
  if (accepted.empty())
    return;
  doc.as_object().set("updatedAt", now);
  auto mode = creating ? write_mode::create : write_mode::patch;
  entry->model->normalize(doc, mode);
  auto& hooks = creating ? entry->ext->before_create : entry->ext->before_update;
  // What the hooks change is checked like any write: the id, every rule, the placement.
  caf::error err = run_before(hooks, doc);
  if (!err)
    err = check_hooked_id(doc, id, creating ? "before-create" : "before-update");
  if (!err)
    err = validate(*entry, doc, mode);
  if (!err)
    err = check_placement(self, doc);
  auto plan = err ? caf::expected<write_plan>{err}
                  : (creating ? plan_create(*entry, self->state.cfg.place, doc)
                              : plan_update(*entry, self->state.cfg.place, **cur, doc));
  if (!plan) {
    for (auto& [r, v] : accepted)
      r.fail(plan.error());
    return;
  }
  submit(self, std::move(*plan),
         [entry, creating, doc = std::move(doc), accepted](const caf::error& err) {
           if (!err)
             run_after(creating ? entry->ext->after_create : entry->ext->after_update, doc);
           for (auto& [r, v] : accepted)
             err ? r.fail(err) : r.deliver(v);
         });
}

void nudge_indexes(self_ptr self, const std::vector<std::pair<std::string, std::string>>& work) {
  auto& gindex = self->state.entry->gindex;
  std::vector<bool> told(gindex.size(), false);
  for (auto& [channel, payload] : work) {
    auto slash = channel.rfind('/');
    DEBROS_ASSERT(slash != std::string::npos); // gindex_channel: "gidx/MODEL/PARTITION"
    auto p = static_cast<size_t>(std::stoul(channel.substr(slash + 1)));
    if (p < gindex.size() && !told[p]) {
      told[p] = true;
      self->send(gindex[p], drain_atom::value);
    }
  }
}

// -- reads -------------------------------------------------------------------------------------

caf::expected<value> do_get(self_ptr self, const doc_get& op) {
  auto cur = read_doc(self, op.id);
  if (!cur)
    return cur.error();
  if (!*cur)
    return make_error(errc::not_found, not_found_message(self, op.id));
  return std::move(**cur);
}

// -- behavior ----------------------------------------------------------------------------------

shard_actor::behavior_type shard_main(self_ptr self, shard_config cfg) {
  // The runtime (or a user database's host) gives every shard its model, store and writer;
  // the handlers dereference them without checking.
  DEBROS_ASSERT(cfg.entry != nullptr && cfg.entry->model != nullptr && cfg.entry->ext != nullptr);
  DEBROS_ASSERT(cfg.env != nullptr && cfg.writer != nullptr);
  auto& st = self->state;
  st.entry = cfg.entry;
  auto& env = *cfg.env;
  st.tables = doc_tables_of(env);
  st.layout.docs = st.tables.docs;
  st.layout.index = st.tables.index;
  st.layout.model_id = st.entry->id;
  if (cfg.place.user_scoped()) {
    // A user's database: its documents are scanned, it keeps no local index.
    st.layout.docs_prefix = doc_keys::user_docs_prefix(st.entry->id, cfg.place.user);
  } else {
    st.layout.docs_prefix = doc_keys::shard_prefix(st.entry->id, cfg.place.shard);
    st.layout.index_base = doc_keys::shard_prefix(st.entry->id, cfg.place.shard);
    st.layout.shard = cfg.place.shard;
    st.layout.indexed = st.entry->indexed;
  }
  st.acks = std::make_shared<ack_channel>(caf::weak_actor_ptr{self->ctrl()});
  st.cfg = std::move(cfg);
  return {
      [self](doc_create& op) {
        auto rp = self->make_response_promise<value>();
        do_create(self, std::move(op), tracked(self, reply<value>{rp}));
        return rp;
      },
      [self](doc_get& op) -> caf::result<value> {
        auto r = do_get(self, op);
        op_done(self);
        return r;
      },
      [self](doc_update& op) {
        auto rp = self->make_response_promise<value>();
        do_update(self, std::move(op), tracked(self, reply<value>{rp}));
        return rp;
      },
      [self](doc_remove& op) {
        auto rp = self->make_response_promise<bool>();
        do_remove(self, std::move(op), tracked(self, reply<bool>{rp}));
        return rp;
      },
      [self](doc_increment& op) {
        auto rp = self->make_response_promise<value>();
        std::vector<pending_increment> incs;
        incs.push_back(pending_increment{std::move(op.field), std::move(op.by),
                                         tracked(self, reply<value>{rp}), std::move(op.as_user)});
        run_increments(self, op.id, std::move(incs));
        return rp;
      },
      [self](partition_query& pq) -> caf::result<partition_result> {
        auto& s = self->state;
        auto r =
            answer_in_slices(self, *s.cfg.env, s.layout, s.entry, s.entry->def(), std::move(pq));
        op_done(self);
        return r;
      },
      [self](acks_atom) { on_acks(self); },
      [self](set_model& m) {
        DEBROS_ASSERT(m.entry != nullptr && m.entry->id == self->state.entry->id);
        self->state.entry = std::move(m.entry);
        if (!self->state.cfg.place.user_scoped())
          self->state.layout.indexed = self->state.entry->indexed;
      },
      [self](stop_atom) { stop(self); },
  };
}

} // namespace

shard_actor spawn_shard(caf::actor_system& sys, shard_config cfg) {
  return sys.spawn(shard_main, std::move(cfg));
}

} // namespace debros
