#include "actors/gindex.hpp"

#include <cstdio>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/ack_channel.hpp"
#include "actors/apply_gate.hpp"
#include "actors/catalog.hpp"
#include "actors/doc_keys.hpp"
#include "actors/doc_writes.hpp"
#include "actors/partition_scan.hpp"
#include "actors/reply.hpp"
#include "actors/scan_runner.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "storage/outbox.hpp"

namespace debros {

namespace {

// Work items applied per transaction: enough to amortize a commit, small enough to keep it short.
constexpr size_t drain_batch = 4096;

struct waiting_query {
  partition_query pq;
  caf::typed_response_promise<partition_result> rp;
};

struct gindex_state {
  gindex_config cfg;
  std::shared_ptr<const model_entry> entry;
  std::string channel;
  storage::table gindex;
  storage::table outbox;
  storage::table seqs;
  partition_layout layout;
  std::shared_ptr<ack_channel> acks;
  bool draining = false;
  bool again = false; // nudged while a drain was in flight
  // Queries waiting for the work committed before they arrived (not for an empty outbox).
  apply_gate<waiting_query> waiting;

  static inline const char* name = "debros.gindex";
};

using self_ptr = gindex_actor::stateful_pointer<gindex_state>;

// Answers the waiting queries that are due now that `first_left` is the first item left in the
// channel (std::nullopt: none is).
void answer_due(self_ptr self, std::optional<uint64_t> first_left) {
  auto& st = self->state;
  for (auto& w : st.waiting.release(first_left))
    deliver_in_slices(self, *st.cfg.env, st.layout, st.entry, st.entry->def(), std::move(w.pq),
                      std::move(w.rp));
}

void fail_waiting(self_ptr self, const caf::error& err) {
  for (auto& w : self->state.waiting.release_all())
    w.rp.deliver(err);
}

// Applies the next batch of this partition's outbox. The items before the batch are applied
// (each drain removes what it applied, or quarantined, in the same transaction), so the queries
// that wait for no more than those are answered first.
void drain(self_ptr self) {
  auto& st = self->state;
  st.again = false;
  storage::outbox box{st.outbox};
  caf::expected<std::vector<storage::outbox_entry>> items{std::vector<storage::outbox_entry>{}};
  if (auto txn = st.cfg.env->read())
    items = box.read(*txn, st.channel, 0, drain_batch);
  else
    items = txn.error();
  if (!items) {
    st.draining = false;
    return fail_waiting(self, items.error());
  }
  if (items->empty()) {
    st.draining = false;
    return answer_due(self, std::nullopt);
  }
  answer_due(self, items->front().seq);
  st.draining = true;
  // Poison items (a payload that does not decode, a key LMDB cannot store: writes check keys
  // before they are acknowledged, so only older data or damage gives one) can never apply:
  // they move to the dead-letter channel in the same transaction, are logged and counted
  // (debros_outbox_dead_letters), and the drain goes on.
  std::vector<gindex_op> ops;
  std::vector<std::string> poison;
  for (auto& item : *items) {
    auto op = decode_gindex_op(item.payload);
    if (!op || op->key.size() > storage::key_bytes_max || op->key.empty()) {
      std::fprintf(stderr,
                   "debros: global index %s: work item %llu cannot be applied (%s); moved to %s\n",
                   st.channel.c_str(), static_cast<unsigned long long>(item.seq),
                   !op ? message_of(op.error()).c_str() : "its key is longer than LMDB allows",
                   dead_letter_channel(st.channel).c_str());
      poison.push_back(std::move(item.payload));
      continue;
    }
    ops.push_back(std::move(*op));
  }
  auto last = items->back().seq;
  size_t bytes = 0;
  for (auto& op : ops)
    bytes += op.key.size();
  for (auto& payload : poison)
    bytes += payload.size();
  auto table = st.gindex;
  auto seqs = st.seqs;
  auto part =
      doc_keys::partition_id{st.cfg.entry->id, doc_keys::partition_kind::gindex, st.cfg.partition};
  auto channel = st.channel;
  auto acks = st.acks;
  st.cfg.writer->submit(
      [ops = std::move(ops), poison = std::move(poison), last, table, seqs, part, channel,
       box](storage::write_txn& txn) -> caf::error {
        for (auto& op : ops) {
          // Poison items were set aside above: what remains fits LMDB.
          DEBROS_ASSERT(!op.key.empty() && op.key.size() <= storage::key_bytes_max);
          if (op.put) {
            if (auto err = txn.put(table, op.key, {}))
              return err;
          } else if (auto gone = txn.del(table, op.key); !gone) {
            return gone.error();
          }
        }
        for (auto& payload : poison)
          if (auto seq = box.append(txn, dead_letter_channel(channel), payload); !seq)
            return seq.error();
        auto removed = box.remove_through(txn, channel, last);
        if (!removed)
          return removed.error();
        // One drain is one write of this partition (its log position).
        return ops.empty() ? caf::none : advance_seq(txn, seqs, part);
      },
      [acks](const caf::error& err) { acks->push(0, err); }, bytes);
}

void on_acks(self_ptr self) {
  for (auto& [token, err] : self->state.acks->drain()) {
    if (err) {
      // Nothing was applied; the work stays in the outbox and the next drain retries it.
      std::fprintf(stderr, "debros: global index drain failed: %s\n", message_of(err).c_str());
      self->state.draining = false;
      fail_waiting(self, err);
      return;
    }
  }
  drain(self);
}

// Where this partition's channel stands now, in one snapshot.
caf::expected<channel_position> position(self_ptr self) {
  auto& st = self->state;
  auto txn = st.cfg.env->read();
  if (!txn)
    return txn.error();
  storage::outbox box{st.outbox};
  auto last = box.last_seq(*txn, st.channel);
  if (!last)
    return last.error();
  auto first = box.read(*txn, st.channel, 0, 1);
  if (!first)
    return first.error();
  channel_position out{*last, std::nullopt};
  if (!first->empty())
    out.first_left = first->front().seq;
  return out;
}

gindex_actor::behavior_type gindex_main(self_ptr self, gindex_config cfg) {
  auto& st = self->state;
  st.entry = cfg.entry;
  auto& env = *cfg.env;
  st.channel = gindex_channel(cfg.entry->id, cfg.partition);
  st.gindex = env.get_table("gindex");
  st.outbox = env.get_table("outbox");
  st.seqs = env.get_table("seqs");
  st.layout.docs = env.get_table("docs");
  st.layout.index = st.gindex;
  st.layout.model_id = cfg.entry->id;
  st.layout.index_base = doc_keys::gindex_prefix(cfg.entry->id, cfg.partition);
  st.layout.global_index = true;
  st.layout.owner_is_shard = cfg.entry->def().scope == model_scope::global;
  st.layout.indexed = cfg.entry->global_indexed;
  st.acks = std::make_shared<ack_channel>(caf::weak_actor_ptr{self->ctrl()});
  st.cfg = std::move(cfg);
  // Recovery: work a crash left in the outbox is applied now.
  self->send(self, drain_atom::value);
  return {
      [self](partition_query& pq) -> caf::result<partition_result> {
        // It needs the work committed before it arrived (a write acknowledged before it was sent
        // is among it), not the work appended while it waits.
        auto& s = self->state;
        auto at = position(self);
        if (!at)
          return std::move(at.error());
        auto through = apply_gate<waiting_query>::target(*at);
        if (!through)
          return answer_in_slices(self, *s.cfg.env, s.layout, s.entry, s.entry->def(),
                                  std::move(pq));
        if (s.waiting.size() >= s.cfg.held_queries_max)
          return make_error(errc::unavailable, "too many queries wait for the global index of " +
                                                   s.entry->def().name + " to catch up (" +
                                                   std::to_string(s.cfg.held_queries_max) +
                                                   "); retry later");
        auto rp = self->make_response_promise<partition_result>();
        s.waiting.hold(*through, waiting_query{std::move(pq), rp});
        if (!s.draining)
          drain(self);
        return rp;
      },
      [self](drain_atom) {
        if (!self->state.draining)
          drain(self);
      },
      [self](acks_atom) { on_acks(self); },
      [self](set_model& m) { self->state.entry = std::move(m.entry); },
      [self](stop_atom) {
        // CAF 0.17 tells no one about an undelivered promise: fail the queries held here.
        fail_waiting(self, make_error(errc::shutting_down, "the runtime is stopping"));
        self->quit();
      },
  };
}

} // namespace

gindex_actor spawn_gindex(caf::actor_system& sys, gindex_config cfg) {
  return sys.spawn(gindex_main, std::move(cfg));
}

} // namespace debros
