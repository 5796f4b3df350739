// Long-running commands: `import` (batched creates) and migrations, both with progress.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "apps/cli/commands.hpp"
#include "apps/cli/commands_detail.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::cli {

using namespace detail;

namespace {

// The non-blank lines of `path`: the progress total of an import.
uint64_t count_documents(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  uint64_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (!trim(line).empty())
      ++n;
  return n;
}

// Sends `docs` as one all-or-nothing batch and empties it. Returns how many were created.
caf::expected<uint64_t> send_batch(context& c, const std::string& target, array& docs) {
  value body{object{{"docs", value{std::move(docs)}}}};
  docs.clear();
  auto reply = call(c, "POST", target, &body);
  if (!reply)
    return reply.error();
  auto ids = reply->find("ids");
  return ids != nullptr && ids->is_array() ? ids->as_array().size() : 0;
}

int import_failed(context& c, progress_line& progress, const caf::error& e, uint64_t created) {
  progress.finish();
  print_error(c.err, e);
  c.err << "debros: " << created << " documents were created before the error\n";
  return exit_failure;
}

int64_t int_member(const value& x, std::string_view key) {
  auto m = x.find(key);
  return m != nullptr && m->is_int() ? m->as_int() : 0;
}

std::string migration_path(const std::string& id) {
  return "/v1/migrations/" + url_encode(id);
}

} // namespace

int import_docs(context& c, const std::string& model, const std::string& file,
                uint32_t batch_size) {
  std::ifstream file_in;
  std::istream* in = &std::cin;
  if (file != "-") {
    file_in.open(file, std::ios::binary);
    if (!file_in)
      return fail(c,
                  make_error(errc::io_error, "cannot read " + file + ": " + std::strerror(errno)));
    in = &file_in;
  }
  // stdin cannot be read twice: its total stays unknown.
  uint64_t total = file == "-" ? 0 : count_documents(file);
  progress_line progress{"import " + model, stderr_is_terminal()};
  auto target = model_path(model) + "/docs:batch";
  array batch;
  uint64_t line_no = 0;
  uint64_t sent = 0;
  uint64_t created = 0;
  auto flush = [&]() -> caf::error {
    auto n = batch.size();
    auto r = send_batch(c, target, batch);
    if (!r)
      return r.error();
    created += *r;
    sent += n;
    progress.update(sent, total);
    return {};
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (trim(line).empty())
      continue;
    auto doc = parse_json(line);
    if (!doc) {
      auto where = (file == "-" ? std::string{"stdin"} : file) + " line " + std::to_string(line_no);
      return import_failed(
          c, progress, make_error(errc::invalid_argument, where + ": " + message_of(doc.error())),
          created);
    }
    batch.push_back(std::move(*doc));
    if (batch.size() >= batch_size)
      if (auto err = flush())
        return import_failed(c, progress, err, created);
  }
  if (in->bad())
    return import_failed(c, progress, make_error(errc::io_error, "cannot read " + file), created);
  if (!batch.empty())
    if (auto err = flush())
      return import_failed(c, progress, err, created);
  progress.finish();
  value result{object{{"created", created}}};
  if (c.format == output_format::json)
    print_reply(c.out, c.format, result, layout::fields);
  else
    c.out << "created " << created << '\n';
  return exit_ok;
}

int migrate_add(context& c, const std::string& file) {
  auto migration = read_json_file(file);
  if (!migration)
    return fail(c, migration.error());
  return call_and_print(c, "POST", "/v1/migrations", &*migration, layout::fields);
}

int migrate_run(context& c, const std::string& id, bool dry_run) {
  value body{object{{"dryRun", dry_run}}};
  auto started = call(c, "POST", migration_path(id) + "/run", &body);
  if (!started)
    return fail(c, started.error());
  progress_line progress{"migrate " + id, stderr_is_terminal()};
  value state;
  bool seen_running = false;
  for (int registered_polls = 0;;) {
    auto polled = call(c, "GET", migration_path(id));
    if (!polled) {
      progress.finish();
      return fail(c, polled.error());
    }
    state = std::move(*polled);
    auto st = state.find("status");
    std::string status = st != nullptr && st->is_string() ? st->as_string() : "";
    progress.update(static_cast<uint64_t>(int_member(state, "processed")),
                    static_cast<uint64_t>(int_member(state, "total")));
    // A dry run may end back in "registered"; a real run that never leaves "registered" (it
    // did not start) is given up on after about ten seconds rather than polled forever.
    if (status == "running")
      seen_running = true;
    else if (status != "registered" || dry_run || seen_running || ++registered_polls > 50)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  progress.finish();
  print_reply(c.out, c.format, state, layout::fields);
  auto st = state.find("status");
  if (st == nullptr || !st->is_string() || st->as_string() != "failed")
    return exit_ok;
  c.err << "debros: migration " << id << " failed\n";
  if (auto errors = state.find("errors"); errors != nullptr && errors->is_array())
    for (auto& e : errors->as_array())
      c.err << "  " << (e.is_string() ? e.as_string() : to_json(e)) << '\n';
  return exit_failure;
}

int migrate_status(context& c, const std::string& id) {
  return call_and_print(c, "GET", migration_path(id), nullptr, layout::fields);
}

int migrate_rollback(context& c, const std::string& id) {
  return call_and_print(c, "POST", migration_path(id) + "/rollback", nullptr, layout::fields);
}

} // namespace debros::cli
