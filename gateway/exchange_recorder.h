#ifndef CLIENTREG_GATEWAY_EXCHANGE_RECORDER_H_
#define CLIENTREG_GATEWAY_EXCHANGE_RECORDER_H_

#include <functional>
#include <string_view>

#include "gateway/gateway_metrics.h"
#include "gateway/http_observer.h"
#include "gateway/route.h"

namespace clientreg::gateway {

// What each exchange of the public port leaves behind: its metrics, and one access log line (common::Log, level
// info, event "http_request") with request_id, route, method (as labelled in the metrics), status, error (the OAuth
// error code of an error response), latency_ms, client_ip (the peer address without its port) and client_id (the
// configuration endpoint's path id or the client a response describes); error and client_id are "" when there is
// none. Never a header, a token, a secret or a body. Thread-safe.
class ExchangeRecorder final : public HttpObserver {
 public:
  // `metrics` must outlive the recorder; `classify` maps a request-target to its route and must be thread-safe.
  ExchangeRecorder(GatewayMetrics* metrics, std::function<Route(std::string_view target)> classify);

  void ConnectionOpened() override;
  void ConnectionClosed() override;
  void Refused(HttpRefusal reason) override;
  void Exchange(const HttpExchange& exchange) override;

 private:
  GatewayMetrics* const metrics_;
  const std::function<Route(std::string_view)> classify_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_EXCHANGE_RECORDER_H_
