// The engine's users: the users directory (ensure_user, get_user), document counts, and
// engine::get_user_async: a user's directory entry with the number of documents of each of its
// databases, counted without blocking the caller (the HTTP gateway's GET /v1/users/{U}).
#include "actors/engine.hpp"

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"

#include "actors/catalog.hpp"
#include "actors/doc_counts.hpp"
#include "actors/doc_keys.hpp"
#include "actors/ids.hpp"
#include "actors/partition_scan.hpp"
#include "messages/errc.hpp"
#include "messages/names.hpp"
#include "storage/record.hpp"

namespace debros {

// -- users -------------------------------------------------------------------------------------

caf::error engine::check_user_id(std::string_view user) {
  // The one rule of messages/names.hpp, also for embedders that bypass the gateway.
  return check_name(name_kind::user_id, user);
}

void engine::ensure_user(std::string user, reply_fn<bool> done) {
  if (auto err = check_user_id(user))
    return fail(done, std::move(err));
  auto rec = storage::encode_record(value{object{{"id", user}, {"createdAt", now_ms()}}});
  if (!rec)
    return fail(done, rec.error());
  auto created = std::make_shared<bool>(false);
  auto table = tables_.users;
  auto seqs = tables_.seqs;
  auto* sys = &sys_;
  writer_.submit(
      [table, seqs, user, rec = std::move(*rec), created](storage::write_txn& txn) -> caf::error {
        auto key = doc_keys::user_key(user);
        auto known = txn.get(table, key);
        if (!known)
          return known.error();
        *created = !*known;
        if (*known)
          return caf::none;
        if (auto err = txn.put(table, key, rec))
          return err;
        return advance_seq(txn, seqs,
                           doc_keys::partition_id{0, doc_keys::partition_kind::users,
                                                  doc_keys::user_range_of(user)});
      },
      [sys, created, done = std::move(done)](const caf::error& err) {
        // Completions run on the writer thread, which must not block: `done` (which may read
        // the user's record and count its documents) runs in a one-shot actor instead.
        auto r = err ? caf::expected<bool>{err} : caf::expected<bool>{*created};
        // The values go as spawn arguments: CAF 0.17.6 dereferences a null argument tuple for a
        // functor spawned with none (UBSan: reference binding to null pointer).
        sys->spawn([](caf::event_based_actor*, const std::function<void(caf::expected<bool>)>& f,
                      const caf::expected<bool>& x) { f(x); },
                   done, r);
      });
}

caf::expected<uint64_t> engine::document_count(const model_entry& entry) const {
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  return doc_counts::read(*txn, tables_.counts, entry.id);
}

caf::expected<std::map<std::string, uint64_t, std::less<>>>
engine::document_counts(const catalog_snapshot& models) const {
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  std::map<std::string, uint64_t, std::less<>> out;
  for (auto& [name, entry] : models.models) {
    auto n = doc_counts::read(*txn, tables_.counts, entry->id);
    if (!n)
      return n.error();
    out.emplace(name, *n);
  }
  return out;
}

caf::expected<value> engine::get_user(std::string_view user) const {
  if (auto err = check_user_id(user))
    return err;
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(tables_.users, doc_keys::user_key(user));
  if (!rec)
    return rec.error();
  if (!*rec)
    return make_error(errc::not_found, "user " + std::string{user} + " not found");
  auto doc = storage::decode_record(**rec, "user " + std::string{user});
  if (!doc)
    return doc;
  // The user's databases: one per user-scoped model, with its number of documents.
  object models;
  for (auto& [name, entry] : snapshot()->models) {
    if (entry->def().scope != model_scope::user)
      continue;
    auto prefix = doc_keys::user_docs_prefix(entry->id, user);
    auto c = txn->open_cursor(tables_.docs);
    if (!c)
      return c.error();
    int64_t n = 0;
    for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix;
         ok = c->next())
      ++n;
    models.set(name, object{{"documents", n}});
  }
  doc->as_object().set("models", std::move(models));
  return doc;
}

namespace {

using count_atom = caf::atom_constant<caf::atom("ucount")>;

// One database of the user still to count.
struct pending_db {
  std::string model;
  std::shared_ptr<const model_entry> entry;
};

// Counts the databases one after the other, one slice per message, then answers and quits.
struct user_counter {
  engine* eng;
  value doc;
  std::vector<pending_db> dbs;
  size_t next = 0;
  std::unique_ptr<partition_scan> scan;
  object counts;
  reply_fn<value> done;

  std::unique_ptr<partition_scan> scan_of(const pending_db& db, const std::string& user) const {
    partition_layout layout;
    layout.docs = eng->tables().docs;
    layout.model_id = db.entry->id;
    layout.docs_prefix = doc_keys::user_docs_prefix(db.entry->id, user);
    partition_query pq;
    pq.q.model = db.model;
    pq.q.aggregate = aggregate_fn::count;
    return std::make_unique<partition_scan>(std::move(layout), db.entry->def(), db.entry,
                                            std::move(pq));
  }
};

caf::behavior counter_main(caf::event_based_actor* self, std::shared_ptr<user_counter> st,
                           std::string user) {
  self->send(self, count_atom::value);
  return {
      [=](count_atom) {
        if (st->eng->stopping()) {
          call_reply(st->done, caf::expected<value>{
                                   make_error(errc::shutting_down, "the runtime is stopping")});
          return self->quit();
        }
        if (st->next == st->dbs.size()) {
          st->doc.as_object().set("models", value{std::move(st->counts)});
          call_reply(st->done, caf::expected<value>{std::move(st->doc)});
          return self->quit();
        }
        auto& db = st->dbs[st->next];
        if (!st->scan)
          st->scan = st->scan_of(db, user);
        auto r = st->scan->step(st->eng->env(), st->eng->scan_slice_entries());
        if (r) {
          if (!*r) {
            call_reply(st->done, caf::expected<value>{std::move(r->error())});
            return self->quit();
          }
          st->counts.set(db.model, object{{"documents", static_cast<int64_t>((**r).agg.count)}});
          st->scan.reset();
          ++st->next;
        }
        self->send(self, count_atom::value);
      },
  };
}

} // namespace

void engine::get_user_async(std::string user, reply_fn<value> done) {
  auto once = answered_once(std::move(done));
  if (auto err = check_user_id(user))
    return once(err);
  auto st = std::make_shared<user_counter>();
  st->eng = this;
  st->done = once;
  {
    // The directory entry itself: one read of one key.
    auto txn = env_.read();
    if (!txn)
      return once(txn.error());
    auto rec = txn->get(tables_.users, doc_keys::user_key(user));
    if (!rec)
      return once(rec.error());
    if (!*rec)
      return once(make_error(errc::not_found, "user " + user + " not found"));
    auto doc = storage::decode_record(**rec, "user " + user);
    if (!doc)
      return once(doc.error());
    st->doc = std::move(*doc);
  }
  for (auto& [name, entry] : snapshot()->models)
    if (entry->def().scope == model_scope::user)
      st->dbs.push_back(pending_db{name, entry});
  sys_.spawn(counter_main, std::move(st), std::move(user));
}

} // namespace debros
