// Authentication of HTTP requests (API.md "The node" and "Users"): an admin token written to
// DATA_DIR/admin.token on first start (mode 0600), and user tokens signed with HMAC-SHA256 and
// carrying an expiry.
//
// User token: "dbr1." + base64url(JSON {"sub": USER, "exp": MS}) + "." + base64url(HMAC-SHA256
// over the first two parts). The key is 32 random bytes in DATA_DIR/token.key (mode 0600, apart
// from data.mdb so that a copy of the store carries no secret), so tokens survive restarts and
// never leave the node. Replacing the key (--rotate-token-key) invalidates every user token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace debros {
class runtime;
} // namespace debros

namespace debros::net {

/// Who sent a request.
struct principal {
  enum class kind : uint8_t { anonymous, admin, user };
  kind who = kind::anonymous;
  /// The user id of a user token.
  std::string user;

  bool is_admin() const noexcept { return who == kind::admin; }
  bool is_user() const noexcept { return who == kind::user; }
};

class auth {
public:
  /// With `enabled`, loads or creates the admin token file and the signing key (a new key with
  /// `rotate_key`; a key an older version kept in the store is moved to its file). Disabled,
  /// every request is admin. Errors: invalid_argument for a secret file readable by group or
  /// others or a weak admin token, corruption for a key file of the wrong size, io_error when a
  /// file cannot be written or read, and the store's errors.
  static caf::expected<std::unique_ptr<auth>> open(runtime& rt, const std::string& data_dir,
                                                   bool enabled, bool rotate_key = false);

  /// Checks, before anything is opened, the files that hold secrets: the TLS key (when given)
  /// and, with `enabled`, DATA_DIR/admin.token and DATA_DIR/token.key (when they exist) must
  /// have no group or other permission bits, and the admin token must pass check_admin_token.
  /// Errors: invalid_argument naming the file and the fix; io_error when a file cannot be read.
  static caf::error check_secret_files(const std::string& data_dir, const std::string& tls_key,
                                       bool enabled);

  /// invalid_argument naming `path` when `path` exists with any group or other permission bit.
  static caf::error check_private_file(const std::string& path, std::string_view what);

  /// invalid_argument when `token` (read from `path`) is weak: fewer than 32 or more than 1024
  /// characters, a character outside visible ASCII (0x21 to 0x7E), or fewer than 10 different
  /// characters.
  static caf::error check_admin_token(std::string_view token, const std::string& path);

  /// The signing key from DATA_DIR/token.key; created (or, with `rotate`, replaced) atomically,
  /// with the key of the store's meta / auth.key when an older version left one there, which is
  /// then deleted. Errors: as for open.
  static caf::expected<std::string> signing_key(runtime& rt, const std::string& data_dir,
                                                bool rotate);

  bool enabled() const noexcept { return enabled_; }
  const std::string& admin_token_path() const noexcept { return admin_path_; }

  /// The principal of an Authorization header value ("Bearer TOKEN"). Errors: unauthenticated
  /// with "missing bearer token", "invalid token" or "token expired".
  caf::expected<principal> authenticate(std::string_view authorization) const;

  /// A user token for `user`, valid for `ttl_s` seconds from now.
  std::string issue(std::string_view user, int64_t ttl_s) const;

  /// The file of the signing key in the data directory, and its size.
  static constexpr std::string_view key_file_name = "token.key";
  static constexpr size_t key_bytes = 32;
  /// Where versions before token.key kept the key: table "meta", this key.
  static constexpr std::string_view legacy_key_name = "auth.key";
  /// Admin token rules (check_admin_token) and the most bytes read from its file.
  static constexpr size_t admin_token_chars_min = 32;
  static constexpr size_t admin_token_chars_max = 1024;
  static constexpr size_t admin_token_distinct_min = 10;
  static constexpr size_t admin_token_bytes_max = 4096;

  /// Longest accepted token lifetime (365 days).
  static constexpr int64_t ttl_s_max = 365LL * 24 * 3600;

private:
  auth() = default;
  std::string sign(std::string_view data) const;

  bool enabled_ = false;
  std::string admin_path_;
  std::string admin_token_;
  std::string key_;
};

} // namespace debros::net
