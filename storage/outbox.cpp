#include "storage/outbox.hpp"

#include "messages/assert.hpp"
#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

namespace debros::storage {

namespace {

std::string channel_prefix(std::string_view channel) {
  std::string out;
  append_key_string(out, channel);
  return out;
}

std::string entry_key(std::string_view prefix, uint64_t seq) {
  std::string out{prefix};
  append_u64(out, seq);
  return out;
}

// The sequence number of an entry key under `prefix`.
bool entry_seq(std::string_view key, std::string_view prefix, uint64_t& seq) {
  if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix)
    return false;
  seq = read_u64(key.substr(prefix.size()));
  return true;
}

} // namespace

caf::expected<uint64_t> outbox::append(write_txn& txn, std::string_view channel,
                                       std::string_view payload) const {
  // The channel's marker (its bare prefix, sorting before its entries) holds the last sequence
  // number ever used, so numbers are never reused even after the channel drains.
  auto prefix = channel_prefix(channel);
  auto marker = txn.get(table_, prefix);
  if (!marker)
    return marker.error();
  uint64_t last = 0;
  if (*marker) {
    if ((*marker)->size() != 8)
      return make_error(errc::corruption, "malformed outbox marker");
    last = read_u64(**marker);
  }
  auto seq = last + 1;
  std::string seq_bytes;
  append_u64(seq_bytes, seq);
  if (auto err = txn.put(table_, prefix, seq_bytes))
    return err;
  // Before the write: the entry's key reads back as this channel's entry `seq`.
  auto key = entry_key(prefix, seq);
  uint64_t written = 0;
  DEBROS_ASSERT(entry_seq(key, prefix, written) && written == seq);
  if (auto err = txn.put(table_, key, payload))
    return err;
  return seq;
}

caf::expected<uint64_t> outbox::last_seq(const read_txn& txn, std::string_view channel) const {
  auto marker = txn.get(table_, channel_prefix(channel));
  if (!marker)
    return marker.error();
  if (!*marker)
    return uint64_t{0};
  if ((*marker)->size() != 8)
    return make_error(errc::corruption, "malformed outbox marker");
  return read_u64(**marker);
}

caf::expected<std::vector<outbox_entry>> outbox::read(const read_txn& txn, std::string_view channel,
                                                      uint64_t after, size_t max) const {
  auto prefix = channel_prefix(channel);
  std::vector<outbox_entry> out;
  auto c = txn.open_cursor(table_);
  if (!c)
    return c.error();
  for (bool ok = c->seek(entry_key(prefix, after + 1)); ok && out.size() < max; ok = c->next()) {
    uint64_t seq;
    if (!entry_seq(c->key(), prefix, seq))
      break;
    // After the read: entries come in increasing order, after the one asked for (big-endian
    // sequence numbers sort as numbers).
    DEBROS_ASSERT(seq > after && (out.empty() || seq > out.back().seq));
    out.push_back(outbox_entry{seq, std::string{c->val()}});
  }
  if (c->error())
    return c->error();
  return out;
}

caf::expected<size_t> outbox::remove_through(write_txn& txn, std::string_view channel,
                                             uint64_t through) const {
  auto prefix = channel_prefix(channel);
  auto c = txn.open_cursor(table_);
  if (!c)
    return c.error();
  size_t removed = 0;
  bool ok = c->seek(entry_key(prefix, 0));
  while (ok) {
    uint64_t seq;
    if (!entry_seq(c->key(), prefix, seq) || seq > through)
      break;
    if (auto err = c->del_current())
      return err;
    ++removed;
    ok = c->valid();
  }
  if (c->error())
    return c->error();
  return removed;
}

namespace {

// Visits each channel of the table once, at its first key (`at_marker`: that key is the
// channel's marker), then jumps past the channel's entries. `fn` may move the cursor within the
// channel; an error from it stops the walk.
template <class F>
caf::error for_each_channel(const read_txn& txn, table t, F fn) {
  auto c = txn.open_cursor(t);
  if (!c)
    return c.error();
  bool ok = c->first();
  while (ok) {
    std::string_view key = c->key();
    auto name = read_key(key);
    if (!name || !name->is_string())
      return make_error(errc::corruption, "malformed outbox key");
    auto prefix = channel_prefix(name->as_string());
    if (auto err = fn(name->as_string(), prefix, key.empty(), *c))
      return err;
    // Jump past every entry of this channel.
    ok = c->seek(prefix_end(prefix));
  }
  return c->error();
}

} // namespace

caf::expected<std::vector<std::string>> outbox::channels(const read_txn& txn) const {
  std::vector<std::string> out;
  auto err = for_each_channel(
      txn, table_,
      [&](const std::string& channel, const std::string& prefix, bool, cursor& c) -> caf::error {
        // A channel with only its marker left has nothing pending.
        uint64_t seq;
        if (c.seek(entry_key(prefix, 0)) && entry_seq(c.key(), prefix, seq))
          out.push_back(channel);
        return caf::none;
      });
  if (err)
    return err;
  return out;
}

caf::expected<size_t> outbox::depth(const read_txn& txn, std::string_view channel) const {
  auto prefix = channel_prefix(channel);
  auto c = txn.open_cursor(table_);
  if (!c)
    return c.error();
  size_t n = 0;
  uint64_t seq;
  for (bool ok = c->seek(entry_key(prefix, 0)); ok && entry_seq(c->key(), prefix, seq);
       ok = c->next())
    ++n;
  if (c->error())
    return c->error();
  return n;
}

caf::expected<outbox::counts> outbox::count(const read_txn& txn,
                                            std::string_view dead_prefix) const {
  auto all = txn.count(table_);
  if (!all)
    return all.error();
  counts out;
  size_t markers = 0;
  auto err = for_each_channel(
      txn, table_,
      [&](const std::string& channel, const std::string&, bool at_marker, cursor&) -> caf::error {
        if (!at_marker)
          return make_error(errc::corruption, "outbox channel " + channel + " has no marker");
        ++markers;
        if (channel.compare(0, dead_prefix.size(), dead_prefix) != 0)
          return caf::none;
        auto n = depth(txn, channel);
        if (!n)
          return n.error();
        out.dead += *n;
        return caf::none;
      });
  if (err)
    return err;
  if (markers > *all)
    return make_error(errc::corruption, "outbox holds more markers than entries");
  out.pending = *all - markers;
  return out;
}

} // namespace debros::storage
