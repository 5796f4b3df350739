// What the debros CLI writes: replies in the chosen format, errors, usage lines and progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "caf/error.hpp"

#include "messages/value.hpp"

namespace debros::cli {

/// Exit statuses: 0 success; 1 the operation failed (server error, network, file); 2 the
/// command line is wrong (unknown command, missing or malformed argument).
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

enum class output_format { table, json };

/// How a reply body is shown in the table format.
enum class layout {
  /// A key/value listing of the body (one document, health, status).
  fields,
  /// A column table of the array in the body's member named by `member` (see print_reply).
  table,
  /// Nothing (delete).
  none,
};

/// Prints a successful reply `body` to `out`: pretty JSON in the json format (nothing for an
/// empty body), otherwise per `how`; for layout::table, `member` names the body's array
/// ("docs", "models", ...). A body without that array is shown as fields.
void print_reply(std::ostream& out, output_format format, const value& body, layout how,
                 std::string_view member = {});

/// Writes "debros: CODE: message" and then each detail of a validation error on its own line
/// ("  field: message").
void print_error(std::ostream& err, const caf::error& e);

/// Writes "debros: message" and the usage line; returns exit_usage.
int usage_error(std::ostream& err, std::string_view message);

/// The one-line usage of the CLI.
std::string_view usage_line() noexcept;

/// A progress line on stderr ("label 1200/5000 (24%)") rewritten in place with '\r', shown only
/// when stderr is a terminal, at most ten times a second. Not thread-safe.
class progress_line {
public:
  /// `enabled` false makes every call a no-op (see stderr_is_terminal).
  progress_line(std::string label, bool enabled);
  ~progress_line();

  /// Shows `done` out of `total` (`total` 0: unknown, only `done` is shown).
  void update(uint64_t done, uint64_t total);

  /// Shows the last state and ends the line. Called by the destructor if needed.
  void finish();

private:
  void draw(uint64_t done, uint64_t total);

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// True when stderr is a terminal (progress is shown only then).
bool stderr_is_terminal() noexcept;

} // namespace debros::cli
