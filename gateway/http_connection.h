#ifndef CLIENTREG_GATEWAY_HTTP_CONNECTION_H_
#define CLIENTREG_GATEWAY_HTTP_CONNECTION_H_

// Internal to the gateway's HTTP server: shared by http_server.cc and http_connection.cc only. Asio and Beast stay
// out of this header (the socket passes as a native handle), so it costs nothing to include.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/connection_tracker.h"
#include "gateway/http_server.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace clientreg::gateway::internal {

// What every connection of one server shares.
struct ConnectionContext {
  ConnectionContext(const HttpServerOptions& options, RequestHandler handler, HttpObserver* observer)
      : options(options), handler(std::move(handler)), observer(observer), tracker(options.max_connections) {}

  const HttpServerOptions options;
  const RequestHandler handler;
  HttpObserver* const observer;  // may be null
  ConnectionTracker tracker;
};

// Serves HTTP/1.1 on the accepted TCP socket `native_socket` (ownership passes; `ipv6` gives its protocol) on a new
// strand of `io_context`, until the connection closes: over TLS with the current context of context->options.tls
// when it is set, which the connection keeps to its end. Registers the connection with context->tracker; if the socket
// cannot be adopted it is closed and nothing is registered. Call it from the acceptor only.
void ServeConnection(boost::asio::io_context& io_context, int native_socket, bool ipv6,
                     std::shared_ptr<ConnectionContext> context);

}  // namespace clientreg::gateway::internal

#endif  // CLIENTREG_GATEWAY_HTTP_CONNECTION_H_
