#include "storage/record.hpp"

#include "messages/errc.hpp"
#include "storage/checksum.hpp"

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
  out.append(4, '\0'); // the checksum, once the body is known good
  append_msgpack(out, x);
  auto size = out.size() - start;
  // Assert before write: what goes to disk must read back.
  if (size > record_bytes_max) {
    out.resize(start);
    return make_error(errc::too_large, "record of " + std::to_string(size) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(record_bytes_max));
  }
  auto body = std::string_view{out}.substr(start + record_header_bytes);
  if (!well_formed(body)) {
    out.resize(start);
    return make_error(errc::internal, "record encoder produced malformed msgpack");
  }
  auto crc = crc32c(body);
  for (size_t i = 0; i < 4; ++i)
    out[start + 1 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  return caf::none;
}

caf::expected<std::string> encode_record(const value& x) {
  std::string out;
  if (auto err = append_record(out, x))
    return err;
  return out;
}

namespace {

uint32_t stored_crc(std::string_view header) {
  uint32_t crc = 0;
  for (size_t i = 0; i < 4; ++i)
    crc |= uint32_t{static_cast<uint8_t>(header[1 + i])} << (8 * i);
  return crc;
}

} // namespace

caf::expected<std::string_view> record_body(std::string_view bytes, std::string_view what) {
  // Assert after read: the version is known and the body is what was written.
  if (bytes.empty())
    return make_error(errc::corruption, std::string{what} + ": empty record");
  auto version = static_cast<uint8_t>(bytes[0]);
  if (version == record_version) {
    if (bytes.size() < record_header_bytes + 1)
      return make_error(errc::corruption, std::string{what} + ": truncated record");
    auto body = bytes.substr(record_header_bytes);
    if (crc32c(body) != stored_crc(bytes))
      return make_error(errc::corruption,
                        std::string{what} + ": checksum mismatch (the stored bytes changed)");
    return body;
  }
  if (version == 1) { // written before checksums: the msgpack walk is the only check there is
    auto body = bytes.substr(1);
    if (!well_formed(body))
      return make_error(errc::corruption, std::string{what} + ": malformed record body");
    return body;
  }
  return make_error(errc::corruption,
                    std::string{what} + ": unknown record version " + std::to_string(version));
}

caf::expected<value> decode_body(std::string_view body, std::string_view what) {
  auto decoded = from_msgpack(body, stored_limits());
  if (!decoded)
    return make_error(errc::corruption, std::string{what} + ": " + message_of(decoded.error()));
  return decoded;
}

caf::expected<value> decode_record(std::string_view bytes, std::string_view what) {
  auto body = record_body(bytes, what);
  if (!body)
    return body.error();
  return decode_body(*body, what);
}

} // namespace debros::storage
