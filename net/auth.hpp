// Authentication of HTTP requests (API.md "The node" and "Users"): an admin token written to
// DATA_DIR/admin.token on first start (mode 0600), and user tokens signed with HMAC-SHA256 and
// carrying an expiry.
//
// User token: "dbr1." + base64url(JSON {"sub": USER, "exp": MS}) + "." + base64url(HMAC-SHA256
// over the first two parts). The key is 32 random bytes kept in the store (table "meta"), so
// tokens survive restarts and never leave the node.
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
  /// With `enabled`, loads or creates the admin token file and the signing key. Disabled, every
  /// request is admin. Errors: io_error when the token file cannot be written or read.
  static caf::expected<std::unique_ptr<auth>> open(runtime& rt, const std::string& data_dir,
                                                   bool enabled);

  bool enabled() const noexcept { return enabled_; }
  const std::string& admin_token_path() const noexcept { return admin_path_; }

  /// The principal of an Authorization header value ("Bearer TOKEN"). Errors: unauthenticated
  /// with "missing bearer token", "invalid token" or "token expired".
  caf::expected<principal> authenticate(std::string_view authorization) const;

  /// A user token for `user`, valid for `ttl_s` seconds from now.
  std::string issue(std::string_view user, int64_t ttl_s) const;

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
