#ifndef CLIENTREG_GATEWAY_TLS_CONTEXT_H_
#define CLIENTREG_GATEWAY_TLS_CONTEXT_H_

// The gateway's HTTPS server side: a certificate chain and key loaded into an OpenSSL context (through Boost.Asio's
// ssl::context), and the holder that swaps in a new pair on reload. Asio stays out of this header.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace clientreg::gateway {

// A loaded pair, and what the logs say about its leaf certificate (nothing about the key).
struct TlsServerCredentials {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::string subject;    // RFC 2253, e.g. "CN=auth.example.com"
  std::string issuer;     // RFC 2253
  std::string serial;     // hex
  std::string not_after;  // RFC 3339 UTC, e.g. "2027-01-31T12:00:00Z"
};

// Reads the PEM certificate chain (leaf first) and the PEM private key of the leaf, and builds a server context:
// TLS 1.2 and 1.3 only; TLS 1.2 limited to ECDHE key exchange with AEAD ciphers (Mozilla's "intermediate"); no
// renegotiation, no compression; ALPN answers "http/1.1" when the client offers it, and nothing otherwise.
// InvalidArgument naming the file for a file that cannot be read, holds no usable PEM (an encrypted key included),
// or a key that does not match the leaf certificate.
[[nodiscard]] absl::StatusOr<TlsServerCredentials> LoadTlsServerCredentials(const std::string& certificate_chain_file,
                                                                            const std::string& private_key_file);

// The context that new HTTPS connections are made with. A connection keeps the context it started with, so Reload
// never touches open connections. Thread-safe.
class TlsContextHolder {
 public:
  // Loads the pair (LoadTlsServerCredentials) and logs tls_certificate_loaded; the error names the file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TlsContextHolder>> Create(std::string certificate_chain_file,
                                                                                std::string private_key_file);

  TlsContextHolder(const TlsContextHolder&) = delete;
  TlsContextHolder& operator=(const TlsContextHolder&) = delete;

  // Never null.
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  // Reads both files again. On success the new pair serves every connection accepted from now on, and
  // tls_certificate_reloaded is logged; on failure the old pair stays, tls_reload_failed is logged at error level,
  // and the load error is returned.
  [[nodiscard]] absl::Status Reload();

 private:
  TlsContextHolder(std::string certificate_chain_file, std::string private_key_file,
                   std::shared_ptr<boost::asio::ssl::context> context);

  const std::string certificate_chain_file_;
  const std::string private_key_file_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_TLS_CONTEXT_H_
