#include "apps/cli/output.hpp"

#include <cstdio>
#include <unistd.h>

#include "apps/cli/table.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::cli {

void print_reply(std::ostream& out, output_format format, const value& body, layout how,
                 std::string_view member) {
  if (how == layout::none && body.is_null())
    return;
  if (format == output_format::json) {
    if (!body.is_null())
      out << to_json_pretty(body) << '\n';
    return;
  }
  if (how == layout::table) {
    if (auto rows = body.find(member); rows != nullptr && rows->is_array()) {
      out << format_table(rows->as_array());
      // A query's page: how many match in all, and the cursor of the next page.
      if (auto* total = body.find("total"); total != nullptr && total->is_int())
        out << "total " << total->as_int() << '\n';
      if (auto* next = body.find("nextCursor"); next != nullptr && next->is_string())
        out << "next  " << next->as_string() << "  (--after to continue)\n";
      // A query asked to explain itself: one row per partition.
      if (auto* plan = body.find("plan"); plan != nullptr && plan->is_array())
        out << "plan\n" << format_table(plan->as_array());
      return;
    }
  }
  if (how != layout::none)
    out << format_fields(body);
}

void print_error(std::ostream& err, const caf::error& e) {
  err << "debros: " << to_string(code_of(e)) << ": " << message_of(e) << '\n';
  for (auto& d : details_of(e)) {
    err << "  ";
    if (!d.field.empty())
      err << d.field << ": ";
    err << d.message << '\n';
  }
}

std::string_view usage_line() noexcept {
  return "usage: debros [--node URL] [--token TOKEN] [--format table|json] COMMAND ... "
         "(debros --help lists the commands)";
}

int usage_error(std::ostream& err, std::string_view message) {
  err << "debros: " << message << '\n' << usage_line() << '\n';
  return exit_usage;
}

bool stderr_is_terminal() noexcept {
  return isatty(STDERR_FILENO) == 1;
}

progress_line::progress_line(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled) {}

progress_line::~progress_line() {
  finish();
}

void progress_line::update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  if (!enabled_)
    return;
  // A terminal redrawn thousands of times a second slows the work it reports on.
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds{100})
    return;
  last_draw_ = now;
  draw(done, total);
}

void progress_line::finish() {
  if (!enabled_ || !drawn_)
    return;
  draw(done_, total_);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  drawn_ = false;
  enabled_ = false;
}

void progress_line::draw(uint64_t done, uint64_t total) {
  // "\x1b[K" clears what a longer earlier line left on the right.
  if (total > 0)
    std::fprintf(stderr, "\r%s %llu/%llu (%llu%%)\x1b[K", label_.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(done * 100 / total));
  else
    std::fprintf(stderr, "\r%s %llu\x1b[K", label_.c_str(), static_cast<unsigned long long>(done));
  std::fflush(stderr);
  drawn_ = true;
}

} // namespace debros::cli
