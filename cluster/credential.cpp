#include "cluster/credential.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "messages/errc.hpp"

namespace debros::net {

namespace {

struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct store_free {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// The last OpenSSL error as text (and the queue cleared), or `fallback`.
std::string ssl_error(const char* fallback) {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  return out.empty() ? fallback : out;
}

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

caf::expected<bio_ptr> open_file(const std::string& path, const char* what) {
  bio_ptr b{BIO_new_file(path.c_str(), "r")};
  if (!b) {
    int e = errno;
    ERR_clear_error();
    return bad(std::string{"cannot read the cluster "} + what + " " + path + ": " +
               std::strerror(e));
  }
  return b;
}

// Refuses an encrypted key instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

caf::error check_key_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return bad("cannot read the cluster key " + path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return bad("the cluster key " + path + " is readable or writable by group or others (mode " +
               mode + "); chmod 600 it");
  }
  return caf::none;
}

} // namespace

caf::error check_cluster_credential(const cluster_credential& c) {
  if (auto err = check_key_mode(c.key))
    return err;
  // The certificate, then any intermediates after it.
  auto cert_bio = open_file(c.certificate, "certificate");
  if (!cert_bio)
    return cert_bio.error();
  x509_ptr cert{PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return bad("cannot read a certificate from " + c.certificate + ": " +
               ssl_error("no PEM certificate"));
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain{
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }};
  while (X509* more = PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr))
    sk_X509_push(chain.get(), more);
  ERR_clear_error(); // the end of the file
  auto key_bio = open_file(c.key, "key");
  if (!key_bio)
    return key_bio.error();
  pkey_ptr key{PEM_read_bio_PrivateKey(key_bio->get(), nullptr, no_passphrase, nullptr)};
  if (!key)
    return bad("cannot read an (unencrypted) private key from " + c.key + ": " +
               ssl_error("no PEM private key"));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return bad("the cluster key " + c.key + " does not match the certificate " + c.certificate);
  }
  std::unique_ptr<X509_STORE, store_free> store{X509_STORE_new()};
  if (auto ca_bio = open_file(c.ca, "CA"); !ca_bio)
    return ca_bio.error();
  if (X509_STORE_load_file(store.get(), c.ca.c_str()) != 1)
    return bad("cannot read CA certificates from " + c.ca + ": " + ssl_error("no certificate"));
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), chain.get()) != 1)
    return make_error(errc::internal, "cannot verify " + c.certificate + ": " +
                                          ssl_error("X509_STORE_CTX_init failed"));
  if (X509_verify_cert(ctx.get()) != 1) {
    auto why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return bad("the certificate " + c.certificate + " does not verify against the cluster CA " +
               c.ca + ": " + why);
  }
  return caf::none;
}

namespace {

// An EC P-256 key and a self-signed CA certificate for it (valid for 100 years), as PEM.
caf::expected<std::string> make_cluster_pem() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  x509_ptr x{X509_new()};
  if (!key || !x)
    return make_error(errc::internal, "cannot generate a cluster key: " + ssl_error("?"));
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return make_error(errc::internal, "no randomness for a cluster certificate");
  serial[0] &= 0x7f; // a positive serial number
  std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> bn{BN_bin2bn(serial, sizeof serial, nullptr), BN_free};
  X509_set_version(x.get(), 2);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_time_adj_ex(X509_getm_notAfter(x.get()), 36500, 0, nullptr);
  X509_set_pubkey(x.get(), key.get());
  char cn[64];
  std::snprintf(cn, sizeof cn, "debros cluster %02x%02x%02x%02x", serial[1], serial[2], serial[3],
                serial[4]);
  auto* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char*>(cn), -1, -1,
                             0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  // Its own CA (signs itself), and a leaf used by both ends of a connection.
  for (auto [nid, text] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                           {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                           {NID_ext_key_usage, "serverAuth,clientAuth"},
                           {NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, text);
    if (ext == nullptr)
      return make_error(errc::internal, "cannot build a cluster certificate: " + ssl_error("?"));
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0)
    return make_error(errc::internal, "cannot sign a cluster certificate: " + ssl_error("?"));
  bio_ptr mem{BIO_new(BIO_s_mem())};
  if (PEM_write_bio_PrivateKey(mem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(mem.get(), x.get()) != 1)
    return make_error(errc::internal, "cannot encode a cluster certificate: " + ssl_error("?"));
  char* data = nullptr;
  auto len = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// Writes `text` to `path` (mode 0600) through a temporary file renamed into place, so a crash
// never leaves half a credential.
caf::error write_private_file(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  auto fail = [&](const std::string& what) {
    auto msg = "cannot " + what + " " + tmp + ": " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(errc::io_error, msg);
  };
  if (fd < 0)
    return fail("create");
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0)
    return fail("sync");
  ::close(fd);
  fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("rename");
  return caf::none;
}

} // namespace

caf::expected<cluster_credential> own_cluster_credential(const std::string& data_dir) {
  auto path = (std::filesystem::path{data_dir} / cluster_pem).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
      return make_error(errc::io_error, "cannot create " + data_dir + ": " + ec.message());
    auto pem = make_cluster_pem();
    if (!pem)
      return pem.error();
    if (auto err = write_private_file(path, *pem))
      return err;
  }
  cluster_credential c{path, path, path};
  if (auto err = check_cluster_credential(c))
    return err;
  return c;
}

} // namespace debros::net
