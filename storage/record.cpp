#include "storage/record.hpp"

#include "messages/errc.hpp"

namespace debros::storage {

namespace {

// The decode limits for stored bytes: generous, since they were checked on the way in.
decode_limits stored_limits() {
  decode_limits lim;
  lim.max_bytes = record_bytes_max;
  lim.max_depth = 256;
  lim.check_utf8 = false; // checked when the value entered the system
  return lim;
}

bool well_formed(std::string_view body) {
  mp_reader r{body};
  return r.skip() && r.at_end();
}

} // namespace

caf::error append_record(std::string& out, const value& x) {
  auto start = out.size();
  out += static_cast<char>(record_version);
  append_msgpack(out, x);
  auto size = out.size() - start;
  // Assert before write: what goes to disk must read back.
  if (size > record_bytes_max) {
    out.resize(start);
    return make_error(errc::too_large, "record of " + std::to_string(size) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(record_bytes_max));
  }
  if (!well_formed(std::string_view{out}.substr(start + 1))) {
    out.resize(start);
    return make_error(errc::internal, "record encoder produced malformed msgpack");
  }
  return caf::none;
}

caf::expected<std::string> encode_record(const value& x) {
  std::string out;
  if (auto err = append_record(out, x))
    return err;
  return out;
}

namespace {

// The body after a known version byte.
caf::expected<std::string_view> versioned_body(std::string_view bytes, std::string_view what) {
  if (bytes.empty())
    return make_error(errc::corruption, std::string{what} + ": empty record");
  auto version = static_cast<uint8_t>(bytes[0]);
  if (version != record_version)
    return make_error(errc::corruption,
                      std::string{what} + ": unknown record version " + std::to_string(version));
  return bytes.substr(1);
}

} // namespace

caf::expected<std::string_view> record_body(std::string_view bytes, std::string_view what) {
  // Assert after read: version known and the body is exactly one msgpack item.
  auto checked = versioned_body(bytes, what);
  if (!checked)
    return checked.error();
  auto body = *checked;
  if (!well_formed(body))
    return make_error(errc::corruption, std::string{what} + ": malformed record body");
  return body;
}

caf::expected<value> decode_body(std::string_view body, std::string_view what) {
  auto decoded = from_msgpack(body, stored_limits());
  if (!decoded)
    return make_error(errc::corruption, std::string{what} + ": " + message_of(decoded.error()));
  return decoded;
}

caf::expected<value> decode_record(std::string_view bytes, std::string_view what) {
  auto body = versioned_body(bytes, what);
  if (!body)
    return body.error();
  return decode_body(*body, what);
}

} // namespace debros::storage
