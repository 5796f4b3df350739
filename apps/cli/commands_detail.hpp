// Helpers shared by the command files of the debros CLI (not used elsewhere).
#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"

#include "apps/cli/commands.hpp"

namespace debros::cli::detail {

/// Sends `method target` with `body` as JSON (no body when nullptr). Returns the reply's body
/// for a 2xx status (null when empty) and stores the status in `*status` when given; any other
/// status is returned as the error the reply carries.
caf::expected<value> call(context& c, std::string_view method, const std::string& target,
                          const value* body = nullptr, int* status = nullptr);

/// `call`, then print_reply on success or print_error on failure. Returns the exit status.
int call_and_print(context& c, std::string_view method, const std::string& target,
                   const value* body, layout how, std::string_view member = {});

/// Prints `e` and returns exit_failure.
int fail(context& c, const caf::error& e);

/// The whole content of `path` ("-": stdin). Errors: io_error naming the file and the cause.
caf::expected<std::string> read_input(const std::string& path);

/// The JSON of file `path`. Errors: io_error, or invalid_argument naming the file.
caf::expected<value> read_json_file(const std::string& path);

/// "/v1/models/{model}" with the name URL-encoded.
std::string model_path(const std::string& model);

} // namespace debros::cli::detail
