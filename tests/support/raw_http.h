#ifndef CLIENTREG_TESTS_SUPPORT_RAW_HTTP_H_
#define CLIENTREG_TESTS_SUPPORT_RAW_HTTP_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace clientreg::testing {

// A parsed HTTP/1.1 response. Field names are lowercased; a repeated field keeps its last value.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string Header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool HasHeader(const std::string& lowercase_name) const { return headers.count(lowercase_name) > 0; }
};

// One client TCP connection to 127.0.0.1:`port`, speaking raw bytes, with a receive timeout so no test hangs.
// TlsConnection (tls_client.h) speaks the same bytes over TLS.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port, int timeout_seconds = 10);
  virtual ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes`; false if the peer is gone.
  bool Send(std::string_view bytes);
  // Reads one response (Content-Length or chunked framing, or up to EOF); nullopt on timeout, EOF or bad framing.
  // The response to a HEAD request ends with its header whatever its framing fields announce (RFC 9110 §9.3.2).
  std::optional<RawResponse> Read(bool response_to_head = false);
  // True when the peer has closed the connection (reads EOF within the timeout).
  bool PeerClosed();

  // How the last read from the socket that got no bytes ended.
  enum class ReadEnd { kNone, kClosed, kReset, kTimeout, kError };
  ReadEnd last_read_end() const { return last_read_end_; }
  // Every byte received on this connection so far: compared before and after a failed Read, it tells a response
  // that never began from one cut short.
  uint64_t bytes_received() const { return bytes_received_; }

 protected:
  // The byte stream under the HTTP: the socket itself here. Each returns what send(2) or recv(2) would, with errno
  // set when it returns -1 (EAGAIN: the timeout passed; ECONNRESET: a reset).
  virtual ssize_t SendSome(const char* data, std::size_t size);
  virtual ssize_t ReceiveSome(char* data, std::size_t size);

  int fd() const { return fd_; }
  // Closes the socket; connected() is false from then on.
  void CloseSocket();

 private:
  bool Fill();
  int fd_ = -1;
  std::string buffer_;
  ReadEnd last_read_end_ = ReadEnd::kNone;
  uint64_t bytes_received_ = 0;
};

// Sends one request on a fresh connection and reads the response.
std::optional<RawResponse> RoundTrip(uint16_t port, std::string_view request);

// A POST of `body` to `path` with the given Content-Type, as raw HTTP/1.1 bytes.
std::string PostRequest(std::string_view path, std::string_view body,
                        std::string_view content_type = "application/json", std::string_view extra_headers = "");

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_RAW_HTTP_H_
