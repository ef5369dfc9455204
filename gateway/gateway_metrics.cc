#include "gateway/gateway_metrics.h"

#include <charconv>
#include <utility>
#include <vector>

namespace clientreg::gateway {
namespace {

constexpr std::string_view kStandardMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                 "CONNECT", "OPTIONS", "TRACE", "PATCH"};

}  // namespace

std::string_view MethodLabel(std::string_view method) {
  for (const std::string_view standard : kStandardMethods) {
    if (method == standard) return standard;
  }
  return "other";
}

std::string_view RefusalLabel(HttpRefusal reason) {
  switch (reason) {
    case HttpRefusal::kFraming:
      return "framing";
    case HttpRefusal::kLengthRequired:
      return "length_required";
    case HttpRefusal::kBodyTooLarge:
      return "body_too_large";
    case HttpRefusal::kHeaderTooLarge:
      return "header_too_large";
    case HttpRefusal::kTimeout:
      return "timeout";
    case HttpRefusal::kConnectionCap:
      return "connection_cap";
    case HttpRefusal::kTlsHandshake:
      break;
  }
  return "tls_handshake";
}

GatewayMetrics::GatewayMetrics(common::MetricsRegistry& registry, std::function<std::size_t()> upstream_inflight)
    : requests_(registry.AddCounter("clientreg_http_requests_total",
                                    "HTTP requests answered on the public port, by route, method and status code.",
                                    {"route", "method", "code"})),
      connections_(registry.AddGauge("clientreg_http_connections", "Open HTTP connections on the public port.").Get()) {
  common::HistogramFamily& durations = registry.AddHistogram(
      "clientreg_http_request_duration_seconds",
      "Time from the first byte of a request's header to its response being handed to the socket, by route.",
      common::LatencyBuckets(), {"route"});
  for (std::size_t i = 0; i < kRouteCount; ++i) {
    durations_[i] = &durations.WithLabels({RouteLabel(static_cast<Route>(i))});
  }
  common::CounterFamily& refusals =
      registry.AddCounter("clientreg_http_rejected_total",
                          "Requests and connections the HTTP layer refused itself (framing, limits, timeouts, the "
                          "connection cap, failed TLS handshakes), by reason.",
                          {"reason"});
  for (std::size_t i = 0; i < kHttpRefusalCount; ++i) {
    refusals_[i] = &refusals.WithLabels({RefusalLabel(static_cast<HttpRefusal>(i))});
  }
  registry.AddCallbackGauge("clientreg_upstream_inflight", "RPCs in flight from the gateway to the server.", {},
                            [upstream_inflight = std::move(upstream_inflight)] {
                              return std::vector<common::Sample>{{{}, static_cast<double>(upstream_inflight())}};
                            });
}

void GatewayMetrics::RecordRequest(Route route, std::string_view method, unsigned status,
                                   std::chrono::steady_clock::duration latency) {
  // The code is formatted on the stack; finding an existing child takes a shared lock and allocates nothing.
  char code[8];
  const auto [end, error] = std::to_chars(code, code + sizeof(code), status);
  const std::string_view code_label(code, error == std::errc() ? static_cast<std::size_t>(end - code) : 0);
  requests_.WithLabels({RouteLabel(route), MethodLabel(method), code_label}).Increment();
  durations_[static_cast<std::size_t>(route)]->Observe(std::chrono::duration<double>(latency).count());
}

void GatewayMetrics::RecordRefusal(HttpRefusal reason) { refusals_[static_cast<std::size_t>(reason)]->Increment(); }

void GatewayMetrics::ConnectionOpened() { connections_.Add(1); }

void GatewayMetrics::ConnectionClosed() { connections_.Add(-1); }

}  // namespace clientreg::gateway
