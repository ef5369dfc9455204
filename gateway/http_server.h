#ifndef CLIENTREG_GATEWAY_HTTP_SERVER_H_
#define CLIENTREG_GATEWAY_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/ip_network.h"
#include "gateway/http_observer.h"
#include "gateway/http_types.h"

namespace clientreg::gateway {

class TlsContextHolder;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;     // 0: pick a free port (tests)
  unsigned threads = 2;  // io_context threads; 0 is treated as 1
  // Open connections at most. When full, the oldest idle keep-alive connection is closed to make room for a waiting
  // one; when none is idle, new connections wait in the listen backlog (never reset) until one closes.
  unsigned max_connections = 10000;
  uint32_t max_header_bytes = 8192;                // request line + fields; over it: 431
  uint32_t max_body_bytes = 65536;                 // decoded body; over it: 413
  std::chrono::milliseconds read_timeout{10000};   // to read one request (header + body) once its first byte came
  std::chrono::milliseconds idle_timeout{30000};   // idle keep-alive connection, waiting for its next request
  std::chrono::milliseconds write_timeout{10000};  // to write one response
  // HTTPS with the holder's current context (tls_context.h), or plain HTTP when null. A TLS connection begins with
  // its handshake, which must finish within read_timeout; one that fails is closed and refused as kTlsHandshake.
  std::shared_ptr<TlsContextHolder> tls;
  // Reverse proxies whose X-Forwarded-For names the client (client_address.h): HttpRequest::peer and the exchange's
  // peer are then the client's address rather than the proxy's. Empty: the header is ignored.
  std::vector<common::IpNetwork> trusted_proxies;
};

// Handles one request. `done` must be called exactly once, from any thread (the connection posts back to its
// strand). If every copy of `done` is destroyed without a call, the connection answers 500. Responses are written in
// request order: a connection reads its next request only after the current response is written.
using RequestHandler = std::function<void(HttpRequest request, std::function<void(HttpResponse)> done)>;

// An HTTP/1.1 server (RFC 9112) on Boost.Beast: persistent connections, pipelining, chunked request bodies, and the
// framing policy of docs/style.md ("HTTP framing on Beast 1.74"): a request whose framing is ambiguous or over a limit
// gets one JSON error response (`invalid_request`, `Cache-Control: no-store`) and the connection is closed without
// reading another request from it.
//
// Every request gets a request id: its `X-Request-Id` when well-formed (request_id.h), else a new one. It is passed
// to the handler in HttpRequest::request_id and returned as `X-Request-Id` on the response, refusals included (a
// refusal before the header was read gets a new one); a handler's own X-Request-Id field is dropped.
//
// All `threads` run one shared io_context; each connection runs on its own strand, so its state is never touched
// concurrently, while connections are served in parallel.
//
// The public methods are thread-safe, but must not be called from inside `handler` or any other code running on the
// server's threads (Shutdown joins them).
class HttpServer {
 public:
  // `observer`, if not null, is told of every connection, refusal and response, and must outlive the server.
  HttpServer(HttpServerOptions options, RequestHandler handler, HttpObserver* observer = nullptr);
  ~HttpServer();  // Shutdown(0): closes everything still open

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. InvalidArgument for an address that is not an IP literal, Unavailable if
  // the address cannot be bound (for example, it is taken), FailedPrecondition if called twice or after Shutdown.
  [[nodiscard]] absl::Status Start();

  // The bound port (the chosen one when options.port was 0); 0 before a successful Start.
  uint16_t port() const;

  // Stops accepting, closes idle connections, lets requests already being read or handled finish and get their
  // responses (with `Connection: close`) for up to `grace`, then closes whatever is left and joins the threads. A
  // `done` called after this is ignored. Idempotent; never waits much longer than `grace`.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_HTTP_SERVER_H_
