// Error codes of Debros: one enum for every layer, carried in caf::error values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"
#include "caf/meta/type_name.hpp"

namespace debros {

/// Every error Debros reports. Values are numbered for good: they travel between nodes inside
/// caf::error (code + category atom "debros"), so a number is never reused or renumbered.
/// The HTTP gateway maps each value to one status and to the code name of `to_string`.
enum class errc : uint8_t {
  /// Bad input: malformed JSON or msgpack, unknown operator, bad parameter. (HTTP 400)
  invalid_argument = 1,
  /// A model, document, user, topic, migration or key does not exist. (HTTP 404)
  not_found = 2,
  /// The write contradicts existing state: unique violation, incompatible redefinition,
  /// operation already running. (HTTP 409)
  conflict = 3,
  /// A document breaks its model's rules; details name each field and rule. (HTTP 422)
  validation_failed = 4,
  /// The input exceeds a configured limit (body size, nesting, record size). (HTTP 413)
  too_large = 5,
  /// No credentials, or credentials that are not valid. (HTTP 401)
  unauthenticated = 6,
  /// Valid credentials that do not allow the operation. (HTTP 403)
  forbidden = 7,
  /// No replica of the needed partition is reachable, or the node is overloaded. (HTTP 503)
  unavailable = 8,
  /// The operation did not complete in time; it may or may not have taken effect. (HTTP 504)
  timeout = 9,
  /// Stored bytes failed verification on read. The data directory needs attention. (HTTP 500)
  corruption = 10,
  /// The disk is full: the store cannot grow. Free space and retry. (HTTP 507)
  storage_full = 11,
  /// The operating system reported an I/O failure (EIO, permissions, ...). (HTTP 500)
  io_error = 12,
  /// A bug: an invariant did not hold. Please report it with the message. (HTTP 500)
  internal = 13,
  /// The capability exists in the API but is not built in this version. (HTTP 501)
  unimplemented = 14,
  /// The node is stopping and accepts no new work. Retry against another node. (HTTP 503)
  shutting_down = 15,
};

/// The largest value of errc; values above are not Debros errors.
constexpr uint8_t errc_max = 15;

/// The stable snake_case name of `code` ("invalid_argument"), used as the HTTP error code.
std::string_view to_string(errc code) noexcept;

/// A sentence that tells a user what the code means and what to do.
std::string_view default_message(errc code) noexcept;

/// One failing field of a validation error: which field and which rule it broke.
struct error_detail {
  std::string field;
  std::string message;
  friend bool operator==(const error_detail&, const error_detail&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_detail& x) {
  return f(caf::meta::type_name("debros::error_detail"), x.field, x.message);
}

/// Makes an error with the default message. Found by ADL, so `caf::error e = errc::conflict;`.
caf::error make_error(errc code);

/// Makes an error with a message that says what went wrong with what input.
caf::error make_error(errc code, std::string message);

/// Makes a validation error listing every failing field.
caf::error make_error(errc code, std::string message, std::vector<error_detail> details);

/// The Debros code of `err`. CAF's own errors are mapped (request_timeout -> timeout, remote
/// down -> unavailable, ...); anything unknown is `internal`. Precondition: `err` is an error.
errc code_of(const caf::error& err) noexcept;

/// The message of `err`: its context message when set, the code's default message otherwise.
std::string message_of(const caf::error& err);

/// The field details of a validation error (empty for other errors).
std::vector<error_detail> details_of(const caf::error& err);

/// True if `err` is the Debros error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace debros
