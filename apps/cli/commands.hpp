// The commands of the debros CLI (API.md "CLI"). Each sends its HTTP requests, prints the reply
// in the chosen format and returns the process's exit status (see output.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "apps/cli/args.hpp"
#include "apps/cli/output.hpp"
#include "net/http_client.hpp"

namespace debros::cli {

/// What every command works with. The streams are stdout and stderr in the binary.
struct context {
  net::http_client& client;
  output_format format;
  /// The bearer token (empty: none); the client sends it already, subscribe needs it again.
  std::string token;
  std::ostream& out;
  std::ostream& err;
};

// -- node ---------------------------------------------------------------------------------------

int health(context& c);
int status(context& c);
int peers(context& c);

// -- models and documents -----------------------------------------------------------------------

/// PUT /v1/models/{name} with the JSON of `file` (name: see model_name_for). Prints
/// "created Model" (201) or "unchanged Model" (200) in the table format.
int model_apply(context& c, const std::string& file, const std::string& name_option);
int model_list(context& c);
int model_show(context& c, const std::string& model);

/// `json` is the document as JSON text on the command line.
int create(context& c, const std::string& model, const std::string& json);
/// `with` embeds relations (?with=a,b); `user` is the owner hint of a user-scoped document.
int get(context& c, const std::string& model, const std::string& id,
        const std::vector<std::string>& with, const std::string& user);
int update(context& c, const std::string& model, const std::string& id, const std::string& json);
int remove(context& c, const std::string& model, const std::string& id);
int query(context& c, const std::string& model, const query_args& args);

/// Extension: sends the JSON documents of `file` (one per line, blank lines skipped; "-" is
/// stdin) with POST /v1/models/{Model}/docs:batch, `batch_size` at a time, showing progress on
/// a terminal; prints the number created. Each batch is all or nothing; on a failure the
/// number created by the earlier batches is reported with the error.
int import_docs(context& c, const std::string& model, const std::string& file, uint32_t batch_size);

// -- key-value ----------------------------------------------------------------------------------

/// `value_arg` is the raw value, "@FILE" for a file's bytes or "-" for stdin's.
int kv_put(context& c, const std::string& ns, const std::string& key, const std::string& value_arg);
/// Writes the stored bytes to `c.out` unchanged, in either format.
int kv_get(context& c, const std::string& ns, const std::string& key);
int kv_del(context& c, const std::string& ns, const std::string& key);
int kv_list(context& c, const std::string& ns, const std::string& prefix,
            std::optional<int64_t> limit);

// -- pub/sub ------------------------------------------------------------------------------------

int publish(context& c, const std::string& topic, const std::string& json);
/// Prints one JSON line per message of `topic` until `duration` has passed (none: until the
/// server closes the connection). `since`: first replay the retained messages after it.
int subscribe(context& c, const std::string& topic,
              std::optional<std::chrono::milliseconds> duration, std::optional<int64_t> since);
int topics(context& c);

// -- migrations ---------------------------------------------------------------------------------

int migrate_add(context& c, const std::string& file);
/// Starts the migration, then polls it (progress on a terminal) until it is no longer running
/// and prints its final state; exit 1 when it failed.
int migrate_run(context& c, const std::string& id, bool dry_run);
int migrate_status(context& c, const std::string& id);
int migrate_rollback(context& c, const std::string& id);

} // namespace debros::cli
