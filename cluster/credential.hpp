// The credential of the cluster port (docs/node.md "## 8. TLS and the cluster"): a node
// certificate, its private key and the cluster CA that every peer's certificate must verify
// against. Either three files given on the command line, or DATA_DIR/cluster.pem, which the
// node writes on first start (an EC P-256 key and a self-signed certificate that is its own
// CA): nodes holding a copy of the same cluster.pem form one cluster.
//
// caf_openssl reads these files again for every connection (it builds one SSL context per
// connection), so they are checked here, once, before the node starts: a file that caf_openssl
// could not load later would abort the node.
#pragma once

#include <string>

#include "caf/error.hpp"
#include "caf/expected.hpp"

namespace debros::net {

struct cluster_credential {
  /// PEM file with this node's certificate (first) and any intermediate certificates.
  std::string certificate;
  /// PEM file with the certificate's private key (unencrypted).
  std::string key;
  /// PEM file with the cluster CA certificate(s) every peer certificate must verify against.
  std::string ca;
};

/// The name of the generated credential inside the data directory.
inline constexpr const char* cluster_pem = "cluster.pem";

/// Checks that the files can be read and parsed, that the key matches the certificate, that
/// the certificate verifies against the CA, and that the key file grants no access to group or
/// others. Errors: invalid_argument, with a message naming the file.
caf::error check_cluster_credential(const cluster_credential& c);

/// DATA_DIR/cluster.pem as the credential (certificate, key and CA in one file), written with
/// mode 0600 when it does not exist yet (creating DATA_DIR), then checked as above. Errors:
/// invalid_argument (a bad existing file) or io_error (cannot write), naming the file.
caf::expected<cluster_credential> own_cluster_credential(const std::string& data_dir);

} // namespace debros::net
