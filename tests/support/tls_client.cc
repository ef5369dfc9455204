#include "tests/support/tls_client.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>

namespace clientreg::testing {
namespace {

int OpenSslVersion(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      break;
  }
  return TLS1_3_VERSION;
}

std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error queued";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

struct TlsConnection::State {
  ~State() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
};

TlsConnection::TlsConnection(uint16_t port, const TlsClientOptions& options)
    : RawConnection(port, options.timeout_seconds), state_(std::make_unique<State>()) {
  handshake_error_ = connected() ? Handshake(options) : "cannot connect";
  if (!handshake_error_.empty()) CloseSocket();
}

std::string TlsConnection::Handshake(const TlsClientOptions& options) {
  state_->ctx = SSL_CTX_new(TLS_client_method());
  if (state_->ctx == nullptr) return "SSL_CTX_new: " + TakeOpenSslError();
  SSL_CTX_set_min_proto_version(state_->ctx, OpenSslVersion(options.min_version));
  SSL_CTX_set_max_proto_version(state_->ctx, OpenSslVersion(options.max_version));
  // OpenSSL 3 offers TLS 1.0 and 1.1 only at security level 0, so that a test can check the server refuses them.
  if (options.min_version < TlsVersion::kTls12) SSL_CTX_set_cipher_list(state_->ctx, "DEFAULT:@SECLEVEL=0");
  // A server that closes without close_notify reads as end of stream, as over plain TCP.
  SSL_CTX_set_options(state_->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(state_->ctx, options.ca_file.c_str(), nullptr) != 1) {
      return "load " + options.ca_file + ": " + TakeOpenSslError();
    }
    SSL_CTX_set_verify(state_->ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    // Returns 0 on success, unlike the rest of OpenSSL.
    if (SSL_CTX_set_alpn_protos(state_->ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      return "set ALPN: " + TakeOpenSslError();
    }
  }
  state_->ssl = SSL_new(state_->ctx);
  if (state_->ssl == nullptr || SSL_set_fd(state_->ssl, fd()) != 1) return "SSL_new: " + TakeOpenSslError();
  if (!options.server_name.empty()) {
    SSL_set_tlsext_host_name(state_->ssl, options.server_name.c_str());
    if (!options.ca_file.empty()) SSL_set1_host(state_->ssl, options.server_name.c_str());
  }
  if (SSL_connect(state_->ssl) != 1) {
    const long verify = SSL_get_verify_result(state_->ssl);
    if (verify != X509_V_OK) {
      ERR_clear_error();
      return std::string("verify: ") + X509_verify_cert_error_string(verify);
    }
    return "handshake: " + TakeOpenSslError();
  }
  return "";
}

TlsConnection::~TlsConnection() = default;

ssize_t TlsConnection::SendSome(const char* data, std::size_t size) {
  if (state_->ssl == nullptr) return -1;
  std::size_t written = 0;
  if (SSL_write_ex(state_->ssl, data, size, &written) == 1) return static_cast<ssize_t>(written);
  ERR_clear_error();
  return -1;
}

ssize_t TlsConnection::ReceiveSome(char* data, std::size_t size) {
  if (state_->ssl == nullptr) return 0;
  errno = 0;
  std::size_t read = 0;
  const int result = SSL_read_ex(state_->ssl, data, size, &read);
  const int saved_errno = errno;
  if (result == 1) return static_cast<ssize_t>(read);
  const int error = SSL_get_error(state_->ssl, result);
  ERR_clear_error();
  if (error == SSL_ERROR_ZERO_RETURN) return 0;
  // SSL_ERROR_SYSCALL keeps recv's errno (EAGAIN after the timeout, ECONNRESET); anything else is a TLS failure.
  errno = error == SSL_ERROR_SYSCALL && saved_errno != 0 ? saved_errno : EPROTO;
  return -1;
}

std::string TlsConnection::version() const {
  return state_->ssl != nullptr && connected() ? SSL_get_version(state_->ssl) : "";
}

std::string TlsConnection::alpn() const {
  if (state_->ssl == nullptr) return "";
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(state_->ssl, &protocol, &length);
  return protocol != nullptr ? std::string(reinterpret_cast<const char*>(protocol), length) : "";
}

std::string TlsConnection::peer_serial() const {
  if (state_->ssl == nullptr) return "";
  X509* leaf = SSL_get1_peer_certificate(state_->ssl);
  if (leaf == nullptr) return "";
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
  char* hex = serial != nullptr ? BN_bn2hex(serial) : nullptr;
  std::string text = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(serial);
  X509_free(leaf);
  return text;
}

std::string TlsConnection::peer_common_name() const {
  if (state_->ssl == nullptr) return "";
  X509* leaf = SSL_get1_peer_certificate(state_->ssl);
  if (leaf == nullptr) return "";
  char name[256] = {};
  const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, name, sizeof(name));
  X509_free(leaf);
  return length > 0 ? std::string(name, static_cast<std::size_t>(length)) : "";
}

bool TlsConnection::received_close_notify() const {
  return state_->ssl != nullptr && (SSL_get_shutdown(state_->ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

std::optional<RawResponse> TlsRoundTrip(uint16_t port, const TlsClientOptions& options, std::string_view request) {
  TlsConnection connection(port, options);
  if (!connection.connected() || !connection.Send(request)) return std::nullopt;
  return connection.Read();
}

}  // namespace clientreg::testing
