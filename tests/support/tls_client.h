#ifndef CLIENTREG_TESTS_SUPPORT_TLS_CLIENT_H_
#define CLIENTREG_TESTS_SUPPORT_TLS_CLIENT_H_

// Raw HTTP/1.1 over a TLS client connection (OpenSSL), for tests of an HTTPS server: the same Send and Read as
// RawConnection, plus what the handshake negotiated and which certificate the server presented.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/raw_http.h"

namespace clientreg::testing {

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

struct TlsClientOptions {
  // PEM trust anchors the server's chain must lead to. Empty: the server's certificate is not verified.
  std::string ca_file;
  // Sent as SNI, and the name the server's certificate must carry when ca_file is set. Empty: neither.
  std::string server_name = "localhost";
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // Protocols offered by ALPN, in order of preference. Empty: no ALPN extension.
  std::vector<std::string> alpn;
  int timeout_seconds = 10;
};

// A TLS connection to 127.0.0.1:`port`, handshaken in the constructor. After a failed handshake connected() is false
// and handshake_error() says why.
class TlsConnection : public RawConnection {
 public:
  TlsConnection(uint16_t port, const TlsClientOptions& options);
  ~TlsConnection() override;

  const std::string& handshake_error() const { return handshake_error_; }
  // Of an established connection: "TLSv1.2" or "TLSv1.3"; the protocol ALPN chose ("" if none); the leaf
  // certificate the server presented, its serial in hex and its subject's common name.
  std::string version() const;
  std::string alpn() const;
  std::string peer_serial() const;
  std::string peer_common_name() const;
  // Whether the server has sent close_notify (RFC 8446 §6.1), rather than only closing the socket.
  bool received_close_notify() const;

 protected:
  ssize_t SendSome(const char* data, std::size_t size) override;
  ssize_t ReceiveSome(char* data, std::size_t size) override;

 private:
  struct State;
  // Returns why the handshake failed, or "" if it succeeded.
  std::string Handshake(const TlsClientOptions& options);

  std::unique_ptr<State> state_;
  std::string handshake_error_;
};

// Sends one request on a fresh TLS connection and reads the response; nullopt if the handshake or exchange fails.
std::optional<RawResponse> TlsRoundTrip(uint16_t port, const TlsClientOptions& options, std::string_view request);

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_TLS_CLIENT_H_
