// Reading a runtime's store table by table in tests: what a layout, an export or a crash left.
#pragma once

#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "actors/runtime.hpp"

namespace debros::test {

/// The entries of `table` whose keys start with `prefix` (every entry when it is empty), read in
/// one snapshot.
inline std::map<std::string, std::string> table_entries(runtime& rt, const std::string& table,
                                                        const std::string& prefix = {}) {
  std::map<std::string, std::string> out;
  auto txn = rt.env().read();
  REQUIRE(txn);
  auto c = txn->open_cursor(rt.env().get_table(table));
  REQUIRE(c);
  // (LMDB does not seek to an empty key: the first entry then.)
  for (bool ok = prefix.empty() ? c->first() : c->seek(prefix);
       ok && c->key().substr(0, prefix.size()) == prefix; ok = c->next())
    out.emplace(std::string{c->key()}, std::string{c->val()});
  return out;
}

} // namespace debros::test
