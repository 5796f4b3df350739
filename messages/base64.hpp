// base64url (RFC 4648 section 5) without padding: cursors and tokens travel in URLs and headers.
#pragma once

#include <string>
#include <string_view>

namespace debros {

/// The unpadded base64url form of `in`.
std::string base64url_encode(std::string_view in);

/// Decodes the canonical unpadded form (so every input has exactly one spelling). Returns false
/// on any other character or length.
bool base64url_decode(std::string_view in, std::string& out);

} // namespace debros
