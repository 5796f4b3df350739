#include "net/auth.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "actors/ids.hpp"
#include "actors/runtime.hpp"
#include "messages/base64.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::net {

namespace {

constexpr std::string_view token_prefix = "dbr1.";
constexpr size_t key_bytes = 32;

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

caf::error io_error(const std::string& what, const std::string& path) {
  return make_error(errc::io_error, what + " " + path + ": " + std::strerror(errno));
}

// Reads the admin token, or creates it (mode 0600) on first start.
caf::expected<std::string> admin_token(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    char buf[256];
    auto n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n <= 0)
      return make_error(errc::io_error, "cannot read the admin token " + path);
    std::string token{buf, static_cast<size_t>(n)};
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (token.size() < 32)
      return make_error(errc::io_error, "the admin token " + path + " is too short");
    return token;
  }
  if (errno != ENOENT)
    return io_error("cannot open the admin token", path);
  auto token = hex(random_bytes(32));
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return io_error("cannot create the admin token", path);
  auto line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok)
    return io_error("cannot write the admin token", path);
  return token;
}

// The signing key kept in the store, created on first start.
caf::expected<std::string> signing_key(runtime& rt) {
  auto meta = rt.env().get_table("meta");
  {
    auto txn = rt.env().read();
    if (!txn)
      return txn.error();
    auto v = txn->get(meta, "auth.key");
    if (!v)
      return v.error();
    if (*v && (*v)->size() == key_bytes)
      return std::string{**v};
  }
  auto key = random_bytes(key_bytes);
  if (auto err = rt.writer().write(
          [&](storage::write_txn& txn) { return txn.put(meta, "auth.key", key); }))
    return err;
  return key;
}

} // namespace

caf::expected<std::unique_ptr<auth>> auth::open(runtime& rt, const std::string& data_dir,
                                                bool enabled) {
  std::unique_ptr<auth> out{new auth};
  out->enabled_ = enabled;
  if (!enabled)
    return out;
  out->admin_path_ = data_dir + "/admin.token";
  auto token = admin_token(out->admin_path_);
  if (!token)
    return token.error();
  out->admin_token_ = std::move(*token);
  auto key = signing_key(rt);
  if (!key)
    return key.error();
  out->key_ = std::move(*key);
  return out;
}

std::string auth::sign(std::string_view data) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string{reinterpret_cast<const char*>(mac), len};
}

std::string auth::issue(std::string_view user, int64_t ttl_s) const {
  auto claims =
      to_json(value{object{{"sub", std::string{user}}, {"exp", now_ms() + ttl_s * 1000}}});
  auto body = std::string{token_prefix} + base64url_encode(claims);
  return body + "." + base64url_encode(sign(body));
}

caf::expected<principal> auth::authenticate(std::string_view authorization) const {
  if (!enabled_)
    return principal{principal::kind::admin, {}};
  auto fail = [](const char* why) { return make_error(errc::unauthenticated, why); };
  // The scheme name is case-insensitive (RFC 9110 11.1); one or more spaces follow it.
  constexpr std::string_view bearer = "bearer";
  auto scheme = authorization.substr(0, bearer.size());
  bool is_bearer = scheme.size() == bearer.size() &&
                   std::equal(scheme.begin(), scheme.end(), bearer.begin(), [](char a, char b) {
                     return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
                   });
  auto rest = authorization.substr(scheme.size());
  if (!is_bearer || rest.empty() || rest.front() != ' ')
    return fail("missing bearer token (send Authorization: Bearer TOKEN)");
  auto first = rest.find_first_not_of(' ');
  auto token = first == std::string_view::npos ? std::string_view{} : rest.substr(first);
  if (equal_constant_time(token, admin_token_))
    return principal{principal::kind::admin, {}};
  if (token.substr(0, token_prefix.size()) != token_prefix)
    return fail("invalid token");
  auto dot = token.rfind('.');
  if (dot == std::string_view::npos || dot < token_prefix.size())
    return fail("invalid token");
  auto body = token.substr(0, dot);
  std::string mac;
  if (!base64url_decode(token.substr(dot + 1), mac) || !equal_constant_time(mac, sign(body)))
    return fail("invalid token");
  std::string claims_text;
  if (!base64url_decode(body.substr(token_prefix.size()), claims_text))
    return fail("invalid token");
  auto claims = parse_json(claims_text);
  if (!claims || !claims->find("sub") || !claims->find("sub")->is_string() ||
      !claims->find("exp") || !claims->find("exp")->is_int())
    return fail("invalid token");
  if (claims->find("exp")->as_int() <= now_ms())
    return fail("token expired");
  return principal{principal::kind::user, claims->find("sub")->as_string()};
}

} // namespace debros::net
