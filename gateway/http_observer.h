#ifndef CLIENTREG_GATEWAY_HTTP_OBSERVER_H_
#define CLIENTREG_GATEWAY_HTTP_OBSERVER_H_

#include <chrono>
#include <cstddef>
#include <string_view>

namespace clientreg::gateway {

// Why the HTTP layer refused a request or a connection itself, without handing it to the handler.
enum class HttpRefusal {
  kFraming,         // malformed or ambiguous framing (400), or an unsupported transfer coding (501)
  kLengthRequired,  // POST or PUT without a length (411)
  kBodyTooLarge,    // 413
  kHeaderTooLarge,  // 431
  kTimeout,         // a request that did not arrive within the read timeout once its first byte had come
  kConnectionCap,   // a new connection found the server at its connection cap and had to wait
  // A TLS handshake that failed or did not finish within the read timeout: an old protocol version, no common
  // cipher, bytes that are not TLS, or a client that closed or went quiet first.
  kTlsHandshake,
};

inline constexpr std::size_t kHttpRefusalCount = 7;
static_assert(static_cast<std::size_t>(HttpRefusal::kTlsHandshake) + 1 == kHttpRefusalCount,
              "kHttpRefusalCount counts every HttpRefusal");

// One answered request as its connection saw it, at the moment the response was handed to the socket; or, with
// status 499 and error "client_closed_request", a request whose client hung up before its answer, which is then
// never sent. The views are valid during the call only.
struct HttpExchange {
  std::string_view method;      // as sent; empty if the request line was never parsed
  std::string_view target;      // as sent; empty likewise
  std::string_view request_id;  // as returned in X-Request-Id
  std::string_view peer;        // "ip:port" or "[ipv6]:port"; empty if unknown
  unsigned status = 0;
  std::string_view error;      // HttpResponse::error
  std::string_view client_id;  // HttpResponse::client_id
  // From the first byte of the request's header to the response being handed to the socket.
  std::chrono::steady_clock::duration latency{};
};

// What the gateway's HTTP server reports, for metrics and the access log. Its methods run on the server's threads,
// concurrently: they must be quick, must not block, and must not throw. It must outlive the server.
class HttpObserver {
 public:
  virtual ~HttpObserver() = default;

  virtual void ConnectionOpened() = 0;
  virtual void ConnectionClosed() = 0;
  // Once per refused request or connection; a refused request that gets an answer is also an Exchange.
  virtual void Refused(HttpRefusal reason) = 0;
  // Once per response handed to the socket, refusals included, and once per request abandoned by its client (499).
  virtual void Exchange(const HttpExchange& exchange) = 0;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_HTTP_OBSERVER_H_
