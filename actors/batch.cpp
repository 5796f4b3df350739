#include "actors/batch.hpp"

#include "caf/actor_system.hpp"
#include <cstdio>

#include "caf/actor_cast.hpp"
#include "caf/event_based_actor.hpp"

#include "actors/ack_channel.hpp"
#include "actors/catalog.hpp"
#include "actors/doc_writes.hpp"
#include "actors/engine.hpp"
#include "actors/guarded.hpp"
#include "actors/ids.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

struct prepared {
  std::vector<std::string> ids;
  std::vector<value> docs;
  std::vector<write_plan> plans;
};

// Places, hooks and validates every document; collects every failure.
caf::expected<prepared> prepare(engine& eng, const model_entry& entry, std::vector<value> docs) {
  if (docs.size() > batch_docs_max)
    return make_error(errc::too_large,
                      "a batch holds at most " + std::to_string(batch_docs_max) + " documents");
  prepared out;
  std::vector<error_detail> problems;
  auto now = now_ms();
  for (size_t i = 0; i < docs.size(); ++i) {
    auto where = "docs[" + std::to_string(i) + "]";
    auto& doc = docs[i];
    auto shard = eng.place(entry, doc);
    if (!shard) {
      problems.push_back(error_detail{where, where + ": " + message_of(shard.error())});
      continue;
    }
    DEBROS_ASSERT(doc.find("id") != nullptr); // place() gives every document an id
    auto id = *doc.find("id");
    doc.as_object().set("createdAt", now);
    doc.as_object().set("updatedAt", now);
    entry.model->normalize(doc, write_mode::create);
    auto err = guarded("a before-hook or validator", [&]() -> caf::error {
      for (auto& hook : entry.ext->before_create)
        if (auto e = hook(doc))
          return e;
      if (auto* hooked = doc.find("id"); hooked == nullptr || !(*hooked == id))
        return make_error(errc::invalid_argument, "a before-create hook changed the id");
      if (auto e = entry.model->validate(doc, write_mode::create, &entry.ext->validators))
        return e;
      return check_place(entry.def(), *shard, doc);
    });
    if (err) {
      auto details = details_of(err);
      if (details.empty())
        details.push_back(error_detail{"", message_of(err)});
      for (auto& d : details)
        problems.push_back(
            error_detail{where + (d.field.empty() ? "" : "." + d.field), where + ": " + d.message});
      continue;
    }
    auto plan = plan_create(entry, *shard, doc);
    if (!plan)
      return plan.error();
    out.ids.push_back(plan->id);
    out.plans.push_back(std::move(*plan));
    out.docs.push_back(std::move(doc));
  }
  if (!problems.empty()) {
    auto summary =
        std::to_string(problems.size()) + " problem(s) in the batch; nothing was written";
    return make_error(errc::validation_failed, std::move(summary), std::move(problems));
  }
  return out;
}

caf::behavior batch_main(caf::event_based_actor* self, engine* eng,
                         std::shared_ptr<const model_entry> entry, std::vector<value> docs,
                         reply_fn<std::vector<std::string>> done) {
  auto p = prepare(*eng, *entry, std::move(docs));
  if (!p) {
    done(p.error());
    self->quit();
    return {};
  }
  auto batch = std::make_shared<prepared>(std::move(*p));
  auto acks = std::make_shared<ack_channel>(caf::weak_actor_ptr{self->ctrl()});
  auto tables = eng->tables();
  // Nothing else refers to this actor: the pending write holds it alive until it completes
  // (an actor with no strong reference is destroyed, and the channel's weak one would fail).
  auto me = caf::actor_cast<caf::actor>(self);
  size_t bytes = 0;
  for (auto& plan : batch->plans)
    bytes += plan_bytes(plan);
  eng->writer().submit(
      [batch, tables](storage::write_txn& txn) -> caf::error {
        for (auto& plan : batch->plans)
          if (auto err = apply_plan(txn, tables, plan))
            return err;
        return caf::none;
      },
      [acks, me](const caf::error& err) { acks->push(0, err); }, bytes);
  return {
      [self, eng, acks, batch, entry, done](acks_atom) {
        auto items = acks->drain();
        if (items.empty())
          return;
        auto& err = items.front().second;
        if (err) {
          done(err);
        } else {
          if (auto e = guarded("an after-hook", [&]() -> caf::error {
                for (auto& doc : batch->docs)
                  for (auto& hook : entry->ext->after_create)
                    hook(doc);
                return caf::none;
              }))
            std::fprintf(stderr, "debros: %s\n", message_of(e).c_str());
          eng->model_generations().bump(entry->def().name);
          // User-scoped documents left global index work in the outbox.
          std::vector<bool> told(entry->gindex.size(), false);
          for (auto& plan : batch->plans)
            for (auto& [channel, payload] : plan.outbox) {
              auto p = static_cast<size_t>(std::stoul(channel.substr(channel.rfind('/') + 1)));
              if (p < told.size() && !told[p]) {
                told[p] = true;
                self->send(entry->gindex[p], drain_atom::value);
              }
            }
          done(batch->ids);
        }
        self->quit();
      },
  };
}

} // namespace

void spawn_batch(engine& eng, std::shared_ptr<const model_entry> entry, std::vector<value> docs,
                 reply_fn<std::vector<std::string>> done) {
  eng.system().spawn(batch_main, &eng, std::move(entry), std::move(docs),
                     answered_once(std::move(done)));
}

} // namespace debros
