#include "actors/partition_io.hpp"

#include <utility>

#include "actors/catalog.hpp"
#include "actors/doc_writes.hpp"
#include "actors/engine.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

namespace debros {

namespace {

using doc_keys::partition_kind;

// One key range of a partition.
struct range {
  storage::table table;
  std::string prefix;
};

struct partition_ranges {
  std::vector<range> ranges;
  std::string model; // empty for the users directory
};

std::shared_ptr<const model_entry> entry_by_id(const engine& eng, uint32_t id) {
  for (auto& [name, entry] : eng.snapshot()->models)
    if (entry->id == id)
      return entry;
  return nullptr;
}

caf::expected<partition_ranges> ranges_of(const engine& eng, const doc_keys::partition_id& p) {
  auto& env = eng.env();
  auto& t = eng.tables();
  auto out_of_range = [&](uint32_t count) {
    return make_error(errc::invalid_argument, doc_keys::to_string(p) + " does not exist (" +
                                                  std::to_string(count) + " of this kind)");
  };
  partition_ranges out;
  if (p.kind == partition_kind::users) {
    if (p.model != 0)
      return make_error(errc::invalid_argument, "the users directory is model 0");
    if (p.number >= doc_keys::user_ranges)
      return out_of_range(doc_keys::user_ranges);
    std::string prefix;
    storage::append_u16(prefix, static_cast<uint16_t>(p.number));
    out.ranges.push_back(range{t.users, std::move(prefix)});
    return out;
  }
  auto entry = entry_by_id(eng, p.model);
  if (!entry)
    return make_error(errc::not_found, "no model has id " + std::to_string(p.model));
  out.model = entry->def().name;
  auto base = doc_keys::shard_prefix(p.model, p.number);
  bool user_scoped = entry->def().scope == model_scope::user;
  switch (p.kind) {
  case partition_kind::shard:
    if (user_scoped)
      return make_error(errc::invalid_argument,
                        out.model + " is user-scoped: its partitions are user ranges");
    if (p.number >= entry->def().sharding.count)
      return out_of_range(entry->def().sharding.count);
    out.ranges = {{t.docs, base}, {t.index, base}, {t.counts, base}};
    break;
  case partition_kind::user_range:
    if (!user_scoped)
      return make_error(errc::invalid_argument,
                        out.model + " is not user-scoped: its partitions are shards");
    if (p.number >= doc_keys::user_ranges)
      return out_of_range(doc_keys::user_ranges);
    out.ranges = {{t.docs, base}, {t.counts, base}};
    break;
  case partition_kind::gindex: {
    if (p.number >= doc_keys::gindex_partitions)
      return out_of_range(doc_keys::gindex_partitions);
    std::string channel;
    storage::append_key_string(channel, gindex_channel(p.model, p.number));
    out.ranges = {{env.get_table("gindex"), base}, {t.outbox, std::move(channel)}};
    break;
  }
  case partition_kind::claims:
    if (p.number >= doc_keys::claim_partitions)
      return out_of_range(doc_keys::claim_partitions);
    out.ranges = {{t.unique, base}};
    break;
  case partition_kind::directory:
    if (p.number >= doc_keys::directory_partitions)
      return out_of_range(doc_keys::directory_partitions);
    out.ranges = {{t.owners, base}, {t.tombstones, base}};
    break;
  default:
    return make_error(errc::invalid_argument,
                      "unknown partition kind " + std::to_string(static_cast<int>(p.kind)));
  }
  return out;
}

bool has_prefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

} // namespace

caf::expected<partition_chunk> export_chunk(const engine& eng, const doc_keys::partition_id& part,
                                            const std::string& resume, size_t bytes_max) {
  auto rs = ranges_of(eng, part);
  if (!rs)
    return rs.error();
  size_t table = 0;
  std::string from;
  if (!resume.empty()) {
    table = static_cast<uint8_t>(resume[0]);
    from = resume.substr(1);
    if (table >= rs->ranges.size() || !has_prefix(from, rs->ranges[table].prefix))
      return make_error(errc::invalid_argument,
                        "malformed resume position for " + doc_keys::to_string(part));
  }
  auto txn = eng.env().read();
  if (!txn)
    return txn.error();
  partition_chunk out;
  out.part = part;
  out.model = rs->model;
  auto seq = read_seq(*txn, eng.tables().seqs, part);
  if (!seq)
    return seq.error();
  out.seq = *seq;
  size_t bytes = 0;
  for (; table < rs->ranges.size(); ++table, from.clear()) {
    auto& r = rs->ranges[table];
    auto c = txn->open_cursor(r.table);
    if (!c)
      return c.error();
    for (bool ok = c->seek(from.empty() ? r.prefix : from); ok && has_prefix(c->key(), r.prefix);
         ok = c->next()) {
      if (!out.entries.empty() && bytes >= bytes_max) {
        out.next = static_cast<char>(table);
        out.next += c->key();
        return out;
      }
      out.entries.push_back(partition_entry{static_cast<uint8_t>(table), std::string{c->key()},
                                            std::string{c->val()}});
      bytes += c->key().size() + c->val().size();
    }
    if (c->error())
      return c->error();
  }
  out.last = true;
  return out;
}

caf::expected<bool> export_all(const engine& eng, const doc_keys::partition_id& part,
                               const std::function<caf::error(partition_chunk&)>& sink,
                               size_t bytes_max) {
  std::string resume;
  uint64_t first_seq = 0;
  bool consistent = true;
  for (bool first = true;; first = false) {
    auto chunk = export_chunk(eng, part, resume, bytes_max);
    if (!chunk)
      return chunk.error();
    if (first)
      first_seq = chunk->seq;
    consistent = consistent && chunk->seq == first_seq;
    bool last = chunk->last;
    resume = chunk->next;
    if (auto err = sink(*chunk))
      return err;
    if (last)
      return consistent;
  }
}

caf::error import_chunk(engine& eng, const partition_chunk& chunk, bool first) {
  if (chunk.part.kind != partition_kind::users) {
    auto here = entry_by_id(eng, chunk.part.model);
    if (!here || here->def().name != chunk.model)
      return make_error(errc::invalid_argument,
                        "the chunk is of model " + chunk.model + " (id " +
                            std::to_string(chunk.part.model) + "), which is " +
                            (here ? here->def().name : std::string{"no model"}) +
                            " here: define the models in the same order on both");
  }
  auto rs = ranges_of(eng, chunk.part);
  if (!rs)
    return rs.error();
  for (auto& e : chunk.entries)
    if (e.table >= rs->ranges.size() || !has_prefix(e.key, rs->ranges[e.table].prefix) ||
        e.key.size() > storage::key_bytes_max)
      return make_error(errc::invalid_argument,
                        "a chunk entry lies outside " + doc_keys::to_string(chunk.part));
  auto seqs = eng.tables().seqs;
  auto err = eng.writer().write([&](storage::write_txn& txn) -> caf::error {
    if (first) {
      for (auto& r : rs->ranges) {
        auto c = txn.open_cursor(r.table);
        if (!c)
          return c.error();
        if (c->seek(r.prefix) && has_prefix(c->key(), r.prefix))
          return make_error(errc::conflict, doc_keys::to_string(chunk.part) +
                                                " is not empty here: drop it before importing");
        if (c->error())
          return c->error();
      }
    }
    for (auto& e : chunk.entries)
      if (auto err = txn.put(rs->ranges[e.table].table, e.key, e.val))
        return err;
    if (chunk.last) {
      std::string n;
      storage::append_u64(n, chunk.seq);
      if (auto err = txn.put(seqs, doc_keys::seq_key(chunk.part), n))
        return err;
    }
    return caf::none;
  });
  if (!err && !rs->model.empty())
    eng.model_generations().bump(rs->model);
  return err;
}

caf::expected<uint64_t> drop_partition(engine& eng, const doc_keys::partition_id& part,
                                       size_t batch) {
  auto rs = ranges_of(eng, part);
  if (!rs)
    return rs.error();
  uint64_t removed = 0;
  auto seqs = eng.tables().seqs;
  for (;;) {
    size_t n = 0;
    auto err = eng.writer().write([&](storage::write_txn& txn) -> caf::error {
      n = 0;
      for (auto& r : rs->ranges) {
        auto c = txn.open_cursor(r.table);
        if (!c)
          return c.error();
        for (bool ok = c->seek(r.prefix); ok && n < batch && has_prefix(c->key(), r.prefix);) {
          if (auto err = c->del_current())
            return err;
          ++n;
          ok = c->valid();
        }
        if (c->error())
          return c->error();
      }
      if (n == 0) {
        auto gone = txn.del(seqs, doc_keys::seq_key(part));
        return gone ? caf::none : gone.error();
      }
      return caf::none;
    });
    if (err)
      return err;
    removed += n;
    if (n == 0)
      break;
  }
  if (!rs->model.empty())
    eng.model_generations().bump(rs->model);
  return removed;
}

} // namespace debros
