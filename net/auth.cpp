#include "net/auth.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <optional>
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
#include "messages/names.hpp"
#include "storage/writer.hpp"

namespace debros::net {

namespace {

constexpr std::string_view token_prefix = "dbr1.";
constexpr size_t key_bytes = auth::key_bytes;

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

// The mode bits of `path` (-1 with errno set when it cannot be stat'ed).
int mode_of(const std::string& path) {
  struct ::stat st;
  if (::stat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::string octal(int mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

// Reads a whole small file; std::nullopt when it does not exist.
caf::expected<std::optional<std::string>> read_small_file(const std::string& path, size_t bytes_max,
                                                          const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::optional<std::string>{};
    return io_error(std::string{"cannot open "} + what, path);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return io_error(std::string{"cannot read "} + what, path);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > bytes_max) {
      ::close(fd);
      return make_error(errc::invalid_argument, std::string{what} + " " + path +
                                                    " is longer than " + std::to_string(bytes_max) +
                                                    " bytes");
    }
  }
  ::close(fd);
  return std::optional<std::string>{std::move(out)};
}

// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a
// part: a temporary file (mode 0600) is written and fsync'd, renamed over `path`, and the
// directory is fsync'd so that the rename itself is durable.
caf::error write_file_atomically(const std::string& path, std::string_view bytes,
                                 const char* what) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_error(std::string{"cannot create "} + what, tmp);
  // The umask may only remove bits, but an existing temporary file keeps its old mode.
  bool ok = ::fchmod(fd, 0600) == 0;
  ok = ok && ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = io_error(std::string{"cannot write "} + what, path);
    ::unlink(tmp.c_str());
    return err;
  }
  auto slash = path.rfind('/');
  auto dir = slash == std::string::npos ? std::string{"."} : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return io_error("cannot open the directory of", path);
  ok = ::fsync(dfd) == 0;
  ::close(dfd);
  if (!ok)
    return io_error("cannot sync the directory of", path);
  return caf::none;
}

// Reads the admin token, or creates it (mode 0600, strong) on first start.
caf::expected<std::string> admin_token(const std::string& path) {
  if (auto err = auth::check_private_file(path, "the admin token"))
    return err;
  auto text = read_small_file(path, auth::admin_token_bytes_max, "the admin token");
  if (!text)
    return text.error();
  if (*text) {
    auto token = std::move(**text);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    auto first =
        std::find_if(token.begin(), token.end(), [](unsigned char c) { return !std::isspace(c); });
    token.erase(token.begin(), first);
    if (auto err = auth::check_admin_token(token, path))
      return err;
    return token;
  }
  auto token = hex(random_bytes(32));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_error("cannot create the admin token", path);
  auto line = token + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;
  ok = ok && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok)
    return io_error("cannot write the admin token", path);
  return token;
}

// Removes a signing key left in the store by an older version (meta / auth.key).
caf::error drop_stored_key(runtime& rt) {
  auto meta = rt.env().get_table("meta");
  {
    auto txn = rt.env().read();
    if (!txn)
      return txn.error();
    auto v = txn->get(meta, auth::legacy_key_name);
    if (!v)
      return v.error();
    if (!*v)
      return caf::none;
  }
  return rt.writer().write([&](storage::write_txn& txn) -> caf::error {
    auto removed = txn.del(meta, auth::legacy_key_name);
    return removed ? caf::error{} : removed.error();
  });
}

} // namespace

caf::error auth::check_private_file(const std::string& path, std::string_view what) {
  int mode = mode_of(path);
  if (mode < 0)
    return errno == ENOENT ? caf::error{} : io_error("cannot stat " + std::string{what}, path);
  if ((mode & 077) != 0)
    return make_error(errc::invalid_argument,
                      std::string{what} + " " + path + " is readable or writable by group or " +
                          "others (mode " + octal(mode) + "): run chmod 600 " + path);
  return caf::none;
}

caf::error auth::check_admin_token(std::string_view token, const std::string& path) {
  auto weak = [&](std::string why) {
    return make_error(errc::invalid_argument, "the admin token " + path + " is weak: " + why +
                                                  " (write at least 32 random visible ASCII "
                                                  "characters, e.g. openssl rand -hex 32)");
  };
  if (token.size() < admin_token_chars_min)
    return weak("it has " + std::to_string(token.size()) + " characters, fewer than " +
                std::to_string(admin_token_chars_min));
  if (token.size() > admin_token_chars_max)
    return weak("it has more than " + std::to_string(admin_token_chars_max) + " characters");
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
    return weak("it holds a space, a control character or a non-ASCII byte");
  bool seen[128] = {};
  size_t distinct = 0;
  for (char c : token)
    if (!seen[static_cast<unsigned char>(c)]) {
      seen[static_cast<unsigned char>(c)] = true;
      ++distinct;
    }
  if (distinct < admin_token_distinct_min)
    return weak("it uses only " + std::to_string(distinct) + " different characters, fewer than " +
                std::to_string(admin_token_distinct_min));
  return caf::none;
}

caf::error auth::check_secret_files(const std::string& data_dir, const std::string& tls_key,
                                    bool enabled) {
  if (!tls_key.empty())
    if (auto err = check_private_file(tls_key, "the TLS key"))
      return err;
  if (!enabled)
    return caf::none;
  auto token_path = data_dir + "/admin.token";
  if (auto err = check_private_file(token_path, "the admin token"))
    return err;
  if (auto err =
          check_private_file(data_dir + "/" + std::string{key_file_name}, "the token-signing key"))
    return err;
  auto text = read_small_file(token_path, admin_token_bytes_max, "the admin token");
  if (!text)
    return text.error();
  if (!*text)
    return caf::none;
  std::string_view token = **text;
  auto first = token.find_first_not_of(" \t\r\n\f\v");
  token = first == std::string_view::npos ? std::string_view{} : token.substr(first);
  token = token.substr(0, token.find_last_not_of(" \t\r\n\f\v") + 1);
  return check_admin_token(token, token_path);
}

caf::expected<std::string> auth::signing_key(runtime& rt, const std::string& data_dir,
                                             bool rotate) {
  auto path = data_dir + "/" + std::string{key_file_name};
  if (auto err = check_private_file(path, "the token-signing key"))
    return err;
  if (!rotate) {
    auto file = read_small_file(path, key_bytes, "the token-signing key");
    if (!file)
      return file.error();
    if (*file) {
      if ((*file)->size() != key_bytes)
        return make_error(errc::corruption, "the token-signing key " + path + " holds " +
                                                std::to_string((*file)->size()) +
                                                " bytes instead of 32; delete it (every user " +
                                                "token stops working) or restore it");
      // A crash after the migration wrote the file may have left the old copy in the store.
      if (auto err = drop_stored_key(rt))
        return err;
      return std::move(**file);
    }
  }
  std::string key;
  if (!rotate) {
    // Migration from a store that kept the key in meta / auth.key: the same key, so user tokens
    // issued before keep working.
    auto meta = rt.env().get_table("meta");
    auto txn = rt.env().read();
    if (!txn)
      return txn.error();
    auto v = txn->get(meta, legacy_key_name);
    if (!v)
      return v.error();
    if (*v && (*v)->size() == key_bytes)
      key = std::string{**v};
  }
  if (key.empty())
    key = random_bytes(key_bytes);
  // The file first, then the store's copy goes: a crash in between keeps the key in both.
  if (auto err = write_file_atomically(path, key, "the token-signing key"))
    return err;
  if (auto err = drop_stored_key(rt))
    return err;
  return key;
}

caf::expected<std::unique_ptr<auth>> auth::open(runtime& rt, const std::string& data_dir,
                                                bool enabled, bool rotate_key) {
  std::unique_ptr<auth> out{new auth};
  out->enabled_ = enabled;
  if (!enabled)
    return out;
  out->admin_path_ = data_dir + "/admin.token";
  auto token = admin_token(out->admin_path_);
  if (!token)
    return token.error();
  out->admin_token_ = std::move(*token);
  auto key = signing_key(rt, data_dir, rotate_key);
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
  // Only the admin issues tokens, for valid user ids; a signed one that is not is refused all
  // the same (a key shared with an older version, a bug).
  if (!valid_name(name_kind::user_id, claims->find("sub")->as_string()))
    return fail("invalid token");
  return principal{principal::kind::user, claims->find("sub")->as_string()};
}

} // namespace debros::net
