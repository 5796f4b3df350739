// Records on disk: one version byte, a checksum, then msgpack. Separate from wire types, so the
// disk format can evolve on its own: a reader accepts every version it knows and reports anything
// else.
//
//   version 2 (written today): 0x02 | CRC-32C of the body, 4 bytes little-endian | msgpack body
//   version 1 (read only):     0x01 | msgpack body (checked by walking the msgpack)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "messages/msgpack_codec.hpp"
#include "messages/value.hpp"

namespace debros::storage {

/// The record format written today.
constexpr uint8_t record_version = 2;

/// Bytes before the msgpack body in a record of record_version.
constexpr size_t record_header_bytes = 1 + 4;

/// Largest record the store accepts (LMDB's own limit is far higher; this one keeps a single
/// document from monopolizing a commit).
constexpr size_t record_bytes_max = size_t{16} << 20;

/// Appends the record of `x` to `out`. Before returning, checks the bytes it produced (one
/// well-formed msgpack item, size) and then seals them with their checksum: errors are `internal`
/// (a bug, never bad input) or `too_large` above record_bytes_max. Nothing is appended on error.
caf::error append_record(std::string& out, const value& x);

/// The record of `x` (see append_record).
caf::expected<std::string> encode_record(const value& x);

/// Checks a stored record and returns its msgpack body (a view into `bytes`) without decoding
/// it: version known and, for version 2, the checksum matches (every changed byte is found);
/// for version 1, exactly one well-formed msgpack item. Errors: corruption, naming `what`.
caf::expected<std::string_view> record_body(std::string_view bytes,
                                            std::string_view what = "record");

/// Decodes the msgpack body of a stored record (what record_body returns, so already verified).
/// Failures are `corruption` naming `what`.
caf::expected<value> decode_body(std::string_view body, std::string_view what = "record");

/// Verifies (record_body) and decodes a stored record. Every failure is `corruption` (stored bytes
/// are never user input), with a message that names `what` ("document Post/abc").
caf::expected<value> decode_record(std::string_view bytes, std::string_view what = "record");

} // namespace debros::storage
