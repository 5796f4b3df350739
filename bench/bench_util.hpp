// Shared helpers of the benchmark programs: JSON-line output, percentiles, peak RSS, options.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

/// A 64-bit mixer (splitmix64): spreads sequential numbers over the key space.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

} // namespace debros::bench
