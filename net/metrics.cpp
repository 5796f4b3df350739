#include "net/metrics.hpp"

#include <cstdio>

namespace debros::net {

std::string_view to_string(route r) noexcept {
  static constexpr std::string_view names[] = {
      "health",       "status",     "peers",       "metrics",        "models_put",
      "models_list",  "models_get", "docs_create", "docs_batch",     "docs_get",
      "docs_patch",   "docs_put",   "docs_delete", "docs_increment", "query",
      "users_create", "users_get",  "auth_tokens", "kv_put",         "kv_get",
      "kv_delete",    "kv_list",    "topics",      "migrations",     "other"};
  static_assert(sizeof(names) / sizeof(names[0]) == route_count);
  return names[static_cast<size_t>(r)];
}

std::string_view to_string(shed_reason r) noexcept {
  static constexpr std::string_view names[] = {"connection_operations", "engine_bytes",
                                               "body_bytes"};
  static_assert(sizeof(names) / sizeof(names[0]) == shed_reason_count);
  return names[static_cast<size_t>(r)];
}

void metrics::shed(shed_reason r) noexcept {
  shed_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

void metrics::engine_enter(size_t bytes) noexcept {
  engine_requests_.fetch_add(1, std::memory_order_relaxed);
  engine_bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

void metrics::engine_leave(size_t bytes) noexcept {
  engine_requests_.fetch_sub(1, std::memory_order_relaxed);
  engine_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void metrics::observe(route r, int status, double seconds) noexcept {
  auto& m = routes_[static_cast<size_t>(r)];
  auto cls = static_cast<size_t>(status / 100);
  m.by_class[cls < 6 ? cls : 5].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < bucket_bounds.size() && seconds > bucket_bounds[b])
    ++b;
  m.buckets[b].fetch_add(1, std::memory_order_relaxed);
  m.sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string metrics::render(const std::function<void(std::string&)>& extra) const {
  std::string out;
  char buf[256];
  out += "# HELP debros_http_requests_total HTTP requests answered, by route and status class.\n";
  out += "# TYPE debros_http_requests_total counter\n";
  for (size_t i = 0; i < route_count; ++i)
    for (size_t c = 1; c < 6; ++c) {
      auto n = routes_[i].by_class[c].load(std::memory_order_relaxed);
      if (n == 0)
        continue;
      std::snprintf(buf, sizeof buf,
                    "debros_http_requests_total{route=\"%s\",status=\"%zuxx\"} %llu\n",
                    to_string(static_cast<route>(i)).data(), c, static_cast<unsigned long long>(n));
      out += buf;
    }
  out += "# HELP debros_http_request_duration_seconds Time from a complete request to its "
         "response.\n";
  out += "# TYPE debros_http_request_duration_seconds histogram\n";
  for (size_t i = 0; i < route_count; ++i) {
    auto& m = routes_[i];
    uint64_t cumulative = 0;
    uint64_t total = 0;
    for (auto& b : m.buckets)
      total += b.load(std::memory_order_relaxed);
    if (total == 0)
      continue;
    auto name = to_string(static_cast<route>(i));
    for (size_t b = 0; b <= bucket_bounds.size(); ++b) {
      cumulative += m.buckets[b].load(std::memory_order_relaxed);
      if (b < bucket_bounds.size())
        std::snprintf(buf, sizeof buf,
                      "debros_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                      name.data(), bucket_bounds[b], static_cast<unsigned long long>(cumulative));
      else
        std::snprintf(
            buf, sizeof buf,
            "debros_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
            name.data(), static_cast<unsigned long long>(cumulative));
      out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "debros_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                  "debros_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  name.data(), static_cast<double>(m.sum_us.load()) / 1e6, name.data(),
                  static_cast<unsigned long long>(total));
    out += buf;
  }
  out += "# HELP debros_http_shed_total Requests refused with 503 before they reached the "
         "engine, by reason.\n";
  out += "# TYPE debros_http_shed_total counter\n";
  for (size_t i = 0; i < shed_reason_count; ++i) {
    auto n = shed_[i].load(std::memory_order_relaxed);
    if (n == 0)
      continue;
    std::snprintf(buf, sizeof buf, "debros_http_shed_total{reason=\"%s\"} %llu\n",
                  to_string(static_cast<shed_reason>(i)).data(),
                  static_cast<unsigned long long>(n));
    out += buf;
  }
  out += "# HELP debros_http_engine_requests Requests handed to the engine and not yet answered "
         "by it (504s whose operation still runs included).\n"
         "# TYPE debros_http_engine_requests gauge\n"
         "debros_http_engine_requests " +
         std::to_string(engine_requests_.load()) + "\n";
  out += "# HELP debros_http_engine_bytes Bytes those requests count against "
         "--max-inflight-engine-bytes.\n"
         "# TYPE debros_http_engine_bytes gauge\n"
         "debros_http_engine_bytes " +
         std::to_string(engine_bytes_.load()) + "\n";
  if (extra)
    extra(out);
  return out;
}

} // namespace debros::net
