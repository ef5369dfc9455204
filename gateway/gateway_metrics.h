#ifndef CLIENTREG_GATEWAY_GATEWAY_METRICS_H_
#define CLIENTREG_GATEWAY_GATEWAY_METRICS_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "common/metrics.h"
#include "gateway/http_observer.h"
#include "gateway/route.h"

namespace clientreg::gateway {

// The gateway's own series in a MetricsRegistry (issue 10):
//   clientreg_http_requests_total{route,method,code}
//   clientreg_http_request_duration_seconds{route}  (histogram, LatencyBuckets)
//   clientreg_http_connections                       (gauge: open connections)
//   clientreg_http_rejected_total{reason}            (HttpRefusal: framing, length_required, body_too_large,
//                                                     header_too_large, timeout, connection_cap, tls_handshake)
//   clientreg_upstream_inflight                      (gauge: RPCs in flight to the server, read at scrape time)
// Thread-safe. Recording allocates nothing and takes no exclusive lock.
class GatewayMetrics {
 public:
  // Registers the series in `registry`, which must outlive this object. `upstream_inflight` is called at scrape
  // time and must stay callable as long as `registry` can be encoded.
  GatewayMetrics(common::MetricsRegistry& registry, std::function<std::size_t()> upstream_inflight);

  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // One answered request. `method` as sent: labelled as itself when it is a standard method (RFC 9110 §9, PATCH),
  // else "other".
  void RecordRequest(Route route, std::string_view method, unsigned status,
                     std::chrono::steady_clock::duration latency);
  void RecordRefusal(HttpRefusal reason);
  void ConnectionOpened();
  void ConnectionClosed();

 private:
  common::CounterFamily& requests_;
  std::array<common::Histogram*, kRouteCount> durations_{};
  std::array<common::Counter*, kHttpRefusalCount> refusals_{};
  common::Gauge& connections_;
};

// The method label: `method` itself for GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE and PATCH (case
// matters, RFC 9110 §9.1), else "other", so a client cannot mint series.
std::string_view MethodLabel(std::string_view method);

// The reason label of a refusal: "framing", "length_required", "body_too_large", "header_too_large", "timeout",
// "connection_cap", "tls_handshake".
std::string_view RefusalLabel(HttpRefusal reason);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_GATEWAY_METRICS_H_
