#include "actors/kv_store.hpp"

#include "messages/names.hpp"

#include <cctype>
#include <memory>

#include "messages/errc.hpp"
#include "storage/key_codec.hpp"

namespace debros::kv {

namespace {

constexpr char value_version = 1;

std::string ns_prefix(std::string_view ns) {
  std::string out;
  storage::append_key_string(out, ns);
  return out;
}

std::string full_key(std::string_view ns, std::string_view key) {
  auto out = ns_prefix(ns);
  out.append(key);
  return out;
}

} // namespace

caf::error check_namespace(std::string_view ns) {
  return check_name(name_kind::kv_namespace, ns);
}

caf::error check_key(std::string_view key) {
  return check_name(name_kind::kv_key, key);
}

void put(storage::writer& w, storage::table t, std::string ns, std::string key, std::string bytes,
         reply_fn<size_t> done) {
  if (auto err = check_namespace(ns); err || (err = check_key(key)))
    return done(caf::expected<size_t>{std::move(err)});
  if (bytes.size() > value_bytes_max)
    return done(caf::expected<size_t>{make_error(
        errc::too_large, "a value holds at most " + std::to_string(value_bytes_max) + " bytes")});
  auto size = bytes.size();
  auto k = full_key(ns, key);
  std::string record;
  record.reserve(bytes.size() + 1);
  record += value_version;
  record += bytes;
  auto held = k.size() + record.size();
  w.submit([t, k = std::move(k),
            record = std::move(record)](storage::write_txn& txn) { return txn.put(t, k, record); },
           [size, done = std::move(done)](const caf::error& err) {
             done(err ? caf::expected<size_t>{err} : caf::expected<size_t>{size});
           },
           held);
}

void remove(storage::writer& w, storage::table t, std::string ns, std::string key,
            reply_fn<bool> done) {
  if (auto err = check_namespace(ns); err || (err = check_key(key)))
    return done(caf::expected<bool>{std::move(err)});
  auto existed = std::make_shared<bool>(false);
  w.submit(
      [t, k = full_key(ns, key), existed](storage::write_txn& txn) -> caf::error {
        auto gone = txn.del(t, k);
        if (!gone)
          return gone.error();
        *existed = *gone;
        return caf::none;
      },
      [existed, done = std::move(done)](const caf::error& err) {
        done(err ? caf::expected<bool>{err} : caf::expected<bool>{*existed});
      });
}

caf::expected<std::optional<std::string>> get(storage::environment& env, storage::table t,
                                              std::string_view ns, std::string_view key) {
  if (auto err = check_namespace(ns); err || (err = check_key(key)))
    return err;
  auto txn = env.read();
  if (!txn)
    return txn.error();
  auto v = txn->get(t, full_key(ns, key));
  if (!v)
    return v.error();
  if (!*v)
    return std::optional<std::string>{};
  if ((*v)->empty() || (**v)[0] != value_version)
    return make_error(errc::corruption, "key-value record with an unknown version");
  return std::optional<std::string>{std::string{(*v)->substr(1)}};
}

caf::expected<std::vector<std::string>> list(storage::environment& env, storage::table t,
                                             std::string_view ns, std::string_view prefix,
                                             size_t limit) {
  if (auto err = check_namespace(ns))
    return err;
  limit = std::min(limit, list_max);
  auto base = ns_prefix(ns);
  auto start = base + std::string{prefix};
  auto txn = env.read();
  if (!txn)
    return txn.error();
  auto c = txn->open_cursor(t);
  if (!c)
    return c.error();
  std::vector<std::string> out;
  for (bool ok = c->seek(start); ok && out.size() < limit; ok = c->next()) {
    auto k = c->key();
    if (k.substr(0, start.size()) != start)
      break;
    out.emplace_back(k.substr(base.size()));
  }
  if (c->error())
    return c->error();
  return out;
}

} // namespace debros::kv
