#include "messages/errc.hpp"

#include "caf/atom.hpp"
#include "caf/make_message.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"

namespace debros {

namespace {

constexpr caf::atom_value category = caf::atom("debros");

struct errc_info {
  std::string_view name;
  std::string_view message;
};

// Indexed by the numeric value of errc; index 0 is unused (0 means "no error" in CAF).
constexpr errc_info infos[] = {
    {"ok", "no error"},
    {"invalid_argument", "the request is malformed or a parameter is invalid"},
    {"not_found", "the requested item does not exist"},
    {"conflict", "the request conflicts with existing data"},
    {"validation_failed", "the document does not satisfy its model"},
    {"too_large", "the input exceeds a configured size limit"},
    {"unauthenticated", "missing or invalid credentials"},
    {"forbidden", "the credentials do not allow this operation"},
    {"unavailable", "no replica of the needed data is reachable; retry later"},
    {"timeout", "the operation did not complete in time; it may or may not have taken effect"},
    {"corruption", "stored data failed verification; check the data directory"},
    {"storage_full", "the disk is full; free space and retry"},
    {"io_error", "the operating system reported an I/O error"},
    {"internal", "internal error; please report it"},
    {"unimplemented", "this capability is not implemented in this version"},
    {"shutting_down", "the node is shutting down; retry against another node"},
};
static_assert(sizeof(infos) / sizeof(infos[0]) == errc_max + 1);

errc from_sec(caf::sec x) noexcept {
  switch (x) {
  case caf::sec::request_timeout:
    return errc::timeout;
  case caf::sec::request_receiver_down:
  case caf::sec::no_route_to_receiving_node:
  case caf::sec::cannot_connect_to_node:
  case caf::sec::disconnect_during_handshake:
  case caf::sec::remote_linking_failed:
  case caf::sec::remote_lookup_failed:
  case caf::sec::connection_timeout:
    return errc::unavailable;
  default:
    return errc::internal;
  }
}

} // namespace

std::string_view to_string(errc code) noexcept {
  auto i = static_cast<uint8_t>(code);
  return i >= 1 && i <= errc_max ? infos[i].name : std::string_view{"internal"};
}

std::string_view default_message(errc code) noexcept {
  auto i = static_cast<uint8_t>(code);
  return i >= 1 && i <= errc_max ? infos[i].message : infos[13].message;
}

caf::error make_error(errc code) {
  return caf::error{static_cast<uint8_t>(code), category};
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(message))};
}

caf::error make_error(errc code, std::string message, std::vector<error_detail> details) {
  return caf::error{static_cast<uint8_t>(code), category,
                    caf::make_message(std::move(message), std::move(details))};
}

errc code_of(const caf::error& err) noexcept {
  if (!err)
    return errc::internal;
  if (err.category() == category) {
    auto c = err.code();
    return c >= 1 && c <= errc_max ? static_cast<errc>(c) : errc::internal;
  }
  if (err.category() == caf::atom("system"))
    return from_sec(static_cast<caf::sec>(err.code()));
  return errc::internal;
}

std::string message_of(const caf::error& err) {
  if (!err)
    return "no error";
  const auto& ctx = err.context();
  if (err.category() == category) {
    if (!ctx.empty() && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return std::string{default_message(code_of(err))};
  }
  if (err.category() == caf::atom("system")) {
    std::string out = caf::to_string(static_cast<caf::sec>(err.code()));
    if (!ctx.empty())
      out += ": " + caf::to_string(ctx);
    return out;
  }
  return caf::to_string(err);
}

std::vector<error_detail> details_of(const caf::error& err) {
  if (!err || err.category() != category)
    return {};
  const auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<std::vector<error_detail>>(1))
    return ctx.get_as<std::vector<error_detail>>(1);
  return {};
}

bool is(const caf::error& err, errc code) noexcept {
  return err && err.category() == category && err.code() == static_cast<uint8_t>(code);
}

} // namespace debros
