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

/// Why the gateway refused a request with 503 before handing it to the engine (docs/node.md
/// section 3).
enum class shed_reason : uint8_t {
  /// Its connection had --max-inflight-per-connection operations still in the engine.
  connection_operations,
  /// The engine held --max-inflight-engine-bytes of requests already.
  engine_bytes,
  /// Its body did not fit in --max-inflight-body-bytes (the connection closes).
  body_bytes,
};

constexpr size_t shed_reason_count = static_cast<size_t>(shed_reason::body_bytes) + 1;

std::string_view to_string(shed_reason r) noexcept;

class metrics {
public:
  /// Upper bounds of the latency histogram, in seconds (the last bucket is +Inf).
  static constexpr std::array<double, 13> bucket_bounds{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

  /// Records one answered request.
  void observe(route r, int status, double seconds) noexcept;

  /// Records one request refused with 503 before it reached the engine.
  void shed(shed_reason r) noexcept;

  /// A request of `bytes` (as the gateway's engine budget counts it) entered the engine, or was
  /// answered by it: the gauges debros_http_engine_requests and debros_http_engine_bytes.
  void engine_enter(size_t bytes) noexcept;
  void engine_leave(size_t bytes) noexcept;

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
  std::array<std::atomic<uint64_t>, shed_reason_count> shed_{};
  std::atomic<uint64_t> engine_requests_{0};
  std::atomic<uint64_t> engine_bytes_{0};
};

} // namespace debros::net
