// The engine's routing: where a document lives (place, locate), the fast local get, and the
// operations sent to the partitions that own them, through the placement directory (resolve)
// and the edge (call). See docs/architecture.md.
#include "actors/engine.hpp"

#include "caf/actor_system.hpp"
#include "caf/send.hpp"

#include "actors/batch.hpp"
#include "actors/coordinator.hpp"
#include "actors/doc_keys.hpp"
#include "actors/edge.hpp"
#include "actors/ids.hpp"
#include "actors/placement.hpp"
#include "actors/relations.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"
#include "storage/record.hpp"

namespace debros {

template <class Op, class R>
void engine::call(const caf::actor& target, Op op, reply_fn<R> done,
                  std::chrono::milliseconds deadline) const {
  // One edge per target: calls from one thread to one partition keep their order (each hop is
  // a FIFO mailbox), as the operations of one document must.
  auto& edge = edges_[target.id() % edges_.size()];
  caf::anon_send(edge, edge_call<Op, R>{target, std::move(op), std::move(done), deadline});
}

caf::expected<caf::actor> engine::resolve(const doc_keys::partition_id& p) const {
  using doc_keys::partition_kind;
  auto missing = [&] {
    return make_error(errc::unavailable, "no actor is placed for " + doc_keys::to_string(p));
  };
  auto entry = snapshot()->find(p.model);
  if (!entry)
    return make_error(errc::not_found, "no model has id " + std::to_string(p.model));
  switch (p.kind) {
  case partition_kind::shard:
    if (p.number >= entry->shards.size())
      return missing();
    return caf::actor_cast<caf::actor>(entry->shards[p.number]);
  case partition_kind::gindex:
    if (p.number >= entry->gindex.size())
      return missing();
    return caf::actor_cast<caf::actor>(entry->gindex[p.number]);
  case partition_kind::user_range:
    if (entry->def().scope != model_scope::user || p.number >= doc_keys::user_ranges ||
        hosts_.empty())
      return missing();
    return hosts_[p.number % hosts_.size()];
  default:
    // Claim, directory and users partitions are written by the partition that owns the
    // document, in its transaction (docs/architecture.md): they have no actor yet.
    return missing();
  }
}

const caf::actor& engine::host_of(std::string_view user) const {
  // By user range (doc_keys.hpp): a host's users are whole ranges, which its scans of every
  // user's database walk without skipping other hosts' users one by one.
  return hosts_[doc_keys::user_range_of(user) % hosts_.size()];
}

engine::~engine() = default;

// -- routing -----------------------------------------------------------------------------------

caf::expected<doc_place> engine::place(const model_entry& entry, value& doc) const {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  if (doc.find("id") == nullptr)
    doc.as_object().set("id", new_id());
  if (entry.def().scope == model_scope::user) {
    auto* user = doc.find("userId");
    if (user == nullptr || !user->is_string() || user->as_string().empty() ||
        user->as_string().size() > doc_keys::id_bytes_max) {
      // The document cannot be placed; report every rule it breaks, not only its owner.
      auto copy = doc;
      // Embedder validators run here on the caller's thread (guarded, as in the shard).
      auto err = validate(entry, copy, write_mode::create);
      if (err)
        return err;
      return make_error(errc::validation_failed, "userId is required",
                        {error_detail{"userId", "userId is required (a non-empty string)"}});
    }
    return doc_place{0, user->as_string()};
  }
  return doc_place{shard_of(entry.def(), doc), {}};
}

// The directory partition's entry of document `id` (its user, or its shard as 4 bytes).
caf::expected<std::optional<std::string>> engine::directory_entry(const model_entry& entry,
                                                                  std::string_view id) const {
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto owner = txn->get(tables_.owners, doc_keys::owner_key(entry.id, id));
  if (!owner)
    return owner.error();
  if (!*owner)
    return std::optional<std::string>{};
  return std::optional<std::string>{std::string{**owner}};
}

caf::expected<std::optional<doc_place>>
engine::locate(const model_entry& entry, std::string_view id, std::string_view user_hint) const {
  auto& def = entry.def();
  if (id.empty() || id.size() > doc_keys::id_bytes_max)
    return std::optional<doc_place>{};
  if (def.scope == model_scope::user) {
    if (!user_hint.empty())
      return std::optional<doc_place>{doc_place{0, std::string{user_hint}}};
    // Ids are unique across users: the directory finds the database.
    auto owner = directory_entry(entry, id);
    if (!owner)
      return owner.error();
    if (!*owner)
      return std::optional<doc_place>{};
    return std::optional<doc_place>{doc_place{0, std::move(**owner)}};
  }
  if (def.sharding.key == "id")
    return std::optional<doc_place>{
        doc_place{shard_for_key(def.sharding, value{std::string{id}}), {}}};
  // Sharded by another field: the directory holds the document's shard.
  auto owner = directory_entry(entry, id);
  if (!owner)
    return owner.error();
  if (!*owner)
    return std::optional<doc_place>{};
  if ((*owner)->size() != 4 || storage::read_u32(**owner) >= entry.shards.size())
    return make_error(errc::corruption,
                      "malformed directory entry of " + def.name + "/" + std::string{id});
  return std::optional<doc_place>{doc_place{storage::read_u32(**owner), {}}};
}

caf::expected<value> engine::get(std::string_view model, std::string_view id,
                                 std::string_view user_hint) const {
  auto entry = find(model);
  if (!entry)
    return entry.error();
  auto not_found = [&] {
    return make_error(errc::not_found, std::string{model} + "/" + std::string{id} + " not found");
  };
  auto where = locate(**entry, id, user_hint);
  if (!where)
    return where.error();
  if (!*where)
    return not_found();
  auto txn = env_.read();
  if (!txn)
    return txn.error();
  auto rec = txn->get(tables_.docs, doc_key_of(**entry, **where, id));
  if (!rec)
    return rec.error();
  if (!*rec)
    return not_found();
  return storage::decode_record(**rec, "document " + std::string{model} + "/" + std::string{id});
}

template <class Op, class R>
void engine::send_to(const std::shared_ptr<const model_entry>& entry, const doc_place& where, Op op,
                     reply_fn<R> done) const {
  // The owner, through the placement directory.
  using doc_keys::partition_kind;
  auto owner = resolve(where.user_scoped()
                           ? doc_keys::partition_id{entry->id, partition_kind::user_range,
                                                    doc_keys::user_range_of(where.user)}
                           : doc_keys::partition_id{entry->id, partition_kind::shard, where.shard});
  if (!owner)
    return fail(done, owner.error());
  if (where.user_scoped()) {
    call(*owner, for_user<Op>{entry->def().name, where.user, std::move(op)}, std::move(done),
         request_timeout_);
    return;
  }
  call(*owner, std::move(op), std::move(done), request_timeout_);
}

void engine::create(std::string model, value doc, reply_fn<value> done, std::string as_user) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  auto where = place(**entry, doc);
  if (!where)
    return fail(done, where.error());
  send_to(*entry, *where, doc_create{std::move(model), std::move(doc), std::move(as_user)},
          std::move(done));
}

// Sends an operation to the actor owning document `id`, or fails with not_found.
template <class Op, class R>
void engine::send_to_owner(const std::string& model, const std::string& id, Op op,
                           reply_fn<R> done) const {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  auto where = locate(**entry, id, {});
  if (!where)
    return fail(done, where.error());
  if (!*where)
    return fail(done, make_error(errc::not_found, model + "/" + id + " not found"));
  send_to(*entry, **where, std::move(op), std::move(done));
}

void engine::update(std::string model, std::string id, value fields, bool replace,
                    reply_fn<value> done, std::string as_user) {
  doc_update op{model, id, std::move(fields), replace, std::move(as_user)};
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::remove(std::string model, std::string id, reply_fn<bool> done, std::string as_user) {
  doc_remove op{model, id, std::move(as_user)};
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::increment(std::string model, std::string id, std::string field, value by,
                       reply_fn<value> done, std::string as_user) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  doc_increment op{model, id, std::move(field), std::move(by), std::move(as_user)};
  auto& def = (*entry)->def();
  // Global counters are created by their first increment, so route by placement, not lookup.
  if (def.type == store_type::counter && def.scope == model_scope::global &&
      def.sharding.key == "id") {
    auto shard = shard_for_key(def.sharding, value{id});
    return send_to(*entry, doc_place{shard, {}}, std::move(op), std::move(done));
  }
  send_to_owner(model, id, std::move(op), std::move(done));
}

void engine::run_query(query q, reply_fn<query_result> done) {
  auto entry = find(q.model);
  if (!entry)
    return fail(done, entry.error());
  // The coordinator asks each partition with the call deadline and names one that does not
  // answer; the edge's own deadline is a backstop beyond it (and beyond relation loading).
  auto coordinator = spawn_coordinator(*this, *entry);
  call(caf::actor_cast<caf::actor>(coordinator), std::move(q), std::move(done),
       3 * request_timeout_);
}

void engine::create_batch(std::string model, std::vector<value> docs,
                          reply_fn<std::vector<std::string>> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  spawn_batch(*this, *entry, std::move(docs), std::move(done));
}

void engine::get_with(std::string model, std::string id, std::string user_hint,
                      std::vector<std::string> with, reply_fn<value> done) {
  auto entry = find(model);
  if (!entry)
    return fail(done, entry.error());
  if (auto models = relation_models(*this, **entry, with); !models)
    return fail(done, models.error());
  auto doc = get(model, id, user_hint);
  if (!doc)
    return fail(done, doc.error());
  auto loader = spawn_relation_loader(*this);
  call(caf::actor_cast<caf::actor>(loader),
       relation_request{*entry, {std::move(*doc)}, std::move(with)},
       reply_fn<relation_result>{[done = std::move(done)](caf::expected<relation_result> r) {
         if (!r)
           return done(r.error());
         // One document in, one out (relations embedded).
         DEBROS_ASSERT(r->docs.size() == 1);
         done(std::move(r->docs.front()));
       }},
       3 * request_timeout_);
}

} // namespace debros
