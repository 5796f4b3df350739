// Request metrics of the gateway, rendered with the node's own figures in the Prometheus text
// format for GET /v1/metrics. Counters are lock-free: observe() runs on every request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace debros::net {

/// Every route the gateway serves, for per-route counters.
enum class route : uint8_t {
  health,
  status,
  peers,
  metrics,
  models_put,
  models_list,
  models_get,
  docs_create,
  docs_batch,
  docs_get,
  docs_patch,
  docs_put,
  docs_delete,
  docs_increment,
  query,
  users_create,
  users_get,
  auth_tokens,
  kv_put,
  kv_get,
  kv_delete,
  kv_list,
  topics,
  migrations,
  other,
};

constexpr size_t route_count = static_cast<size_t>(route::other) + 1;

std::string_view to_string(route r) noexcept;

class metrics {
public:
  /// Upper bounds of the latency histogram, in seconds (the last bucket is +Inf).
  static constexpr std::array<double, 13> bucket_bounds{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

  /// Records one answered request.
  void observe(route r, int status, double seconds) noexcept;

  /// Prometheus text of the request metrics; `extra` appends the node's own lines.
  std::string render(const std::function<void(std::string&)>& extra) const;

private:
  struct per_route {
    // By status class 1xx..5xx (index 1..5).
    std::array<std::atomic<uint64_t>, 6> by_class{};
    std::array<std::atomic<uint64_t>, bucket_bounds.size() + 1> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };
  std::array<per_route, route_count> routes_{};
};

} // namespace debros::net
