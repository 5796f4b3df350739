// A runtime on a temporary data directory, for engine tests.
#pragma once

#include <memory>

#include <catch2/catch.hpp>

#include "actors/engine.hpp"
#include "actors/runtime.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"
#include "tests/support/temp_dir.hpp"

namespace debros::test {

inline runtime_options test_options(const std::string& dir) {
  runtime_options o;
  o.data_dir = dir;
  o.sync = storage::durability::process; // these tests check logic, not the disk
  o.scheduler_threads = 2;
  o.initial_map_bytes = size_t{64} << 20;
  o.call_timeout = std::chrono::milliseconds{20000};
  return o;
}

struct runtime_fixture {
  temp_dir dir;
  std::unique_ptr<runtime> rt;

  runtime_fixture() { start(); }

  void start() {
    auto r = runtime::start(test_options(dir.path()));
    REQUIRE(r);
    rt = std::move(*r);
  }

  void restart() {
    rt.reset();
    start();
  }

  model_def define(std::string_view name, std::string_view json) {
    auto def = rt->define_json(name, json);
    INFO(json);
    if (!def)
      FAIL(message_of(def.error()));
    return *def;
  }

  value doc(std::string_view json) {
    auto v = parse_json(json);
    REQUIRE(v);
    return *v;
  }
};

/// The values of `field` in `docs`, in order.
inline std::vector<value> column(const std::vector<value>& docs, std::string_view field) {
  std::vector<value> out;
  for (auto& d : docs) {
    auto* v = d.find(field);
    out.push_back(v != nullptr ? *v : value{});
  }
  return out;
}

inline std::vector<int64_t> ints(const std::vector<value>& docs, std::string_view field) {
  std::vector<int64_t> out;
  for (auto& v : column(docs, field))
    out.push_back(v.is_int() ? v.as_int() : -999999);
  return out;
}

} // namespace debros::test
