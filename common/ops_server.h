#ifndef CLIENTREG_COMMON_OPS_SERVER_H_
#define CLIENTREG_COMMON_OPS_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace clientreg::common {

// What a handler answers to GET (and, without the body, to HEAD).
struct OpsResponse {
  int status = 200;  // outside 200..599 the client gets a 500 instead
  std::string content_type = "application/json";
  std::string body;
};

// OK if `address` is what OpsServer::Start accepts: "IPV4:PORT" or "[IPV6]:PORT", literals only, port 0-65535.
// Otherwise InvalidArgument naming it. Lets config validation (--check-config) refuse what Start would.
[[nodiscard]] absl::Status ValidateOpsAddress(const std::string& address);

// Serves GET and HEAD of a fixed set of paths, each answered by a handler, on its own Asio thread: the HTTP/1.1
// server of the ops port (`/healthz`, `/readyz`, `/metrics`) in both processes.
//
// A request's path must equal a route's key exactly; the query string is ignored. Every response carries
// `Cache-Control: no-store`. The server answers
//   - an unknown path: 404 `{"error":"not_found"}`;
//   - a method other than GET or HEAD on a known path: 405 with `Allow: GET, HEAD`;
//   - HEAD: the handler's status and headers, with the Content-Length of its body, and no body;
//   - a request announcing a body (Content-Length above 0, or any Transfer-Encoding): 413, then closes;
//   - a header block over 8 KiB: 431, then closes;
//   - bytes that are not an HTTP/1.x request: 400, then closes.
// Connections persist (HTTP/1.1 keep-alive) until the client closes them, 30 s pass without a request, or a request
// takes longer than 10 s to arrive once its first byte has come. At most 64 connections are open; a connection
// beyond that is closed as soon as it is accepted.
//
// Handlers run one at a time on the server's thread, so they must be quick (read atomics, format text) and must not
// call Stop. A handler that throws gets its client a 500.
//
// Thread-safe: port and Stop may be called from any thread except the server's own.
class OpsServer {
 public:
  using Handler = std::function<OpsResponse()>;

  // Binds `address` ("host:port", where host is an IPv4 literal or a bracketed IPv6 literal such as "[::1]"; port 0
  // picks a free port) and starts serving `routes`, keyed by path ("/metrics"). InvalidArgument for a malformed
  // address (a host name included), Unavailable if it cannot be bound (for example, it is taken) or the thread
  // cannot start.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OpsServer>> Start(const std::string& address,
                                                                        std::map<std::string, Handler> routes);

  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;
  ~OpsServer();  // Stop()

  // The bound port: the chosen one when `address` asked for port 0.
  uint16_t port() const;

  // Closes the listener and every connection, without waiting for responses being written, and joins the thread.
  // Idempotent.
  void Stop();

 private:
  class Impl;
  explicit OpsServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_OPS_SERVER_H_
