// Shared helpers of the benchmark programs: JSON-line output, percentiles, peak RSS, options,
// and repeated runs (a warm-up, then N measured runs; every figure reported is the median).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "messages/json.hpp"

namespace debros::bench {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

/// Latency samples in microseconds.
struct samples {
  std::vector<double> us;

  void add(clock::duration d) {
    us.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  /// The p-th percentile (0..100), nearest rank. 0 when empty.
  double percentile(double p) {
    if (us.empty())
      return 0;
    std::sort(us.begin(), us.end());
    auto rank = static_cast<size_t>(p / 100.0 * static_cast<double>(us.size() - 1) + 0.5);
    return us[std::min(rank, us.size() - 1)];
  }
};

/// Peak resident set size of this process in MiB (VmHWM).
inline double peak_rss_mb() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return 0;
}

/// One JSON object on one line, fields in insertion order. Keys and string values are escaped.
class json_line {
public:
  json_line& str(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(body_, v);
    return *this;
  }
  /// Integral values below 1e15 print as integers, other finite values with three decimals (or
  /// in exponent form when that would not fit), NaN and infinities as null (JSON has no such
  /// numbers).
  json_line& num(std::string_view k, double v) {
    key(k);
    if (!std::isfinite(v)) {
      body_ += "null";
      return *this;
    }
    // Range first: converting a double outside int64 to an integer is undefined.
    char buf[64];
    bool small = v < 1e15 && v > -1e15;
    if (small && v == std::trunc(v))
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else if (small)
      std::snprintf(buf, sizeof buf, "%.3f", v);
    else
      std::snprintf(buf, sizeof buf, "%.17g", v);
    body_ += buf;
    return *this;
  }
  /// An array of numbers, each printed as num() prints one.
  json_line& nums(std::string_view k, const std::vector<double>& vs) {
    key(k);
    body_ += '[';
    for (size_t i = 0; i < vs.size(); ++i) {
      if (i > 0)
        body_ += ',';
      json_line one;
      one.num("", vs[i]);
      body_ += one.body_.substr(3); // drop the key: "":
    }
    body_ += ']';
    return *this;
  }
  json_line& boolean(std::string_view k, bool v) {
    key(k);
    body_ += v ? "true" : "false";
    return *this;
  }
  json_line& null(std::string_view k) {
    key(k);
    body_ += "null";
    return *this;
  }
  void print() {
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

private:
  void key(std::string_view k) {
    if (!body_.empty())
      body_ += ',';
    append_json_string(body_, k);
    body_ += ':';
  }
  std::string body_;
};

/// Command-line flags shared by the benchmarks: --quick (CI size), --dir DIR (data directory;
/// a fresh temporary one by default, removed at exit), --only SECTION (run one section of a
/// benchmark that has several, e.g. `--only users`; for profiling).
struct options {
  bool quick = false;
  std::string dir;
  std::string only;
  bool own_dir = false;

  /// `sections`: the names --only accepts (none: the benchmark has one section).
  options(int argc, char** argv, std::initializer_list<std::string_view> sections = {}) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a{argv[i]};
      if (a == "--quick") {
        quick = true;
      } else if (a == "--dir" && i + 1 < argc) {
        dir = argv[++i];
      } else if (a == "--only" && i + 1 < argc) {
        only = argv[++i];
      } else if (a == "--help" || a == "-h") {
        std::printf("usage: %s [--quick] [--dir DIR] [--only SECTION]\n", argv[0]);
        std::exit(0);
      } else {
        std::fprintf(stderr, "unknown option: %s\n", argv[i]);
        std::exit(2);
      }
    }
    if (!only.empty() && std::find(sections.begin(), sections.end(), only) == sections.end()) {
      std::fprintf(stderr, "unknown section for --only: %s\n", only.c_str());
      std::exit(2);
    }
    if (dir.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "debros-bench-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) {
        std::perror("mkdtemp");
        std::exit(1);
      }
      dir = tmpl;
      own_dir = true;
    }
  }
  ~options() {
    if (own_dir) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  /// Whether section `name` runs (all do without --only).
  bool runs(std::string_view name) const { return only.empty() || only == name; }

  /// A fresh sub-directory for one measurement.
  std::string fresh(const std::string& name) const {
    auto p = std::filesystem::path{dir} / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p.string();
  }
};

/// The median of `xs` (the mean of the middle two for an even count); 0 when empty.
inline double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto mid = xs.size() / 2;
  return xs.size() % 2 == 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/// The figures of one measured run; p50_us and p99_us are 0 when a run has no latency samples.
struct run_figures {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

/// The figures of `n` operations in `secs`, with their latencies.
inline run_figures figures_of(uint64_t n, double secs, samples lat) {
  return {static_cast<double>(n) / secs, lat.percentile(50), lat.percentile(99)};
}

/// The latencies of several callers as one sample.
inline samples merged(const std::vector<samples>& per_caller) {
  samples all;
  for (auto& s : per_caller)
    all.us.insert(all.us.end(), s.us.begin(), s.us.end());
  return all;
}

/// The measured runs of one measurement. Every figure a line reports is the median over the
/// runs (each run's own p50 and p99, then their medians), so one lucky or unlucky run moves
/// nothing, and a goal is judged on the medians only.
struct run_series {
  std::vector<run_figures> runs;

  std::vector<double> ops() const { return pick(&run_figures::ops_per_s); }
  std::vector<double> p50s() const { return pick(&run_figures::p50_us); }
  std::vector<double> p99s() const { return pick(&run_figures::p99_us); }
  double ops_median() const { return median(ops()); }
  double p50_median() const { return median(p50s()); }
  double p99_median() const { return median(p99s()); }

private:
  std::vector<double> pick(double run_figures::*f) const {
    std::vector<double> out;
    for (auto& r : runs)
      out.push_back(r.*f);
    return out;
  }
};

/// Measured runs per measurement: 5 at full size (`make bench`), 3 with --quick (CI smoke runs;
/// lines say how many in "runs").
inline int measured_runs(bool quick) {
  return quick ? 3 : 5;
}

/// Runs several measurements in rounds: one warm-up round (every measurement runs once, the
/// figures are dropped), then `runs` rounds in which each runs once. The order reverses every
/// round (as given in even rounds) so that a slow phase of this shared machine hits every
/// measurement alike, baselines included. Each function does one complete run (with its own
/// fresh store where it writes). Returns the series in the order of `measurements`.
inline std::vector<run_series>
rounds(int runs, const std::vector<std::function<run_figures()>>& measurements) {
  std::vector<run_series> out(measurements.size());
  for (auto& m : measurements)
    m();
  for (int i = 0; i < runs; ++i)
    for (size_t k = 0; k < measurements.size(); ++k) {
      auto at = i % 2 == 0 ? k : measurements.size() - 1 - k;
      out[at].runs.push_back(measurements[at]());
    }
  return out;
}

/// rounds() of a measurement and its baseline: {measurement, baseline}.
inline std::pair<run_series, run_series> interleaved(int runs,
                                                     const std::function<run_figures()>& measure,
                                                     const std::function<run_figures()>& baseline) {
  auto r = rounds(runs, {measure, baseline});
  return {std::move(r[0]), std::move(r[1])};
}

/// Adds a measurement and its same-run baseline to `out`: the medians (ops_per_s, p50_us,
/// p99_us; baseline_ops_per_s, baseline_p50_us, baseline_p99_us), every run's throughput
/// (ops_per_s_runs, baseline_ops_per_s_runs), the number of runs and `ratio`, the median
/// throughput over the baseline's median throughput.
inline json_line& add_runs(json_line& out, const run_series& m, std::string_view baseline,
                           const run_series& b) {
  double base = b.ops_median();
  return out.num("runs", static_cast<double>(m.runs.size()))
      .num("ops_per_s", m.ops_median())
      .num("p50_us", m.p50_median())
      .num("p99_us", m.p99_median())
      .nums("ops_per_s_runs", m.ops())
      .str("baseline", baseline)
      .num("baseline_ops_per_s", base)
      .num("baseline_p50_us", b.p50_median())
      .num("baseline_p99_us", b.p99_median())
      .nums("baseline_ops_per_s_runs", b.ops())
      .num("ratio", base > 0 ? m.ops_median() / base : 0);
}

/// A 64-bit mixer (splitmix64): spreads sequential numbers over the key space.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

} // namespace debros::bench
