#include "gateway/exchange_recorder.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/ip_network.h"
#include "common/logging.h"

namespace clientreg::gateway {

ExchangeRecorder::ExchangeRecorder(GatewayMetrics* metrics, std::function<Route(std::string_view target)> classify)
    : metrics_(metrics), classify_(std::move(classify)) {}

void ExchangeRecorder::ConnectionOpened() { metrics_->ConnectionOpened(); }

void ExchangeRecorder::ConnectionClosed() { metrics_->ConnectionClosed(); }

void ExchangeRecorder::Refused(HttpRefusal reason) { metrics_->RecordRefusal(reason); }

void ExchangeRecorder::Exchange(const HttpExchange& exchange) {
  const Route route = exchange.target.empty() ? Route::kOther : classify_(exchange.target);
  metrics_->RecordRequest(route, exchange.method, exchange.status, exchange.latency);
  const std::string status = std::to_string(exchange.status);
  const std::string latency_ms =
      absl::StrFormat("%.3f", std::chrono::duration<double, std::milli>(exchange.latency).count());
  // Every line has every field, empty when unknown: a fixed shape is what log queries and parsers rely on. The
  // method is logged as labelled, so a client-chosen token never reaches the log.
  // "IP:PORT" of the connection, or the bare IP a trusted proxy named (client_address.h).
  const absl::StatusOr<common::IpAddress> client_ip = common::ParsePeerAddress(exchange.peer);
  common::Log(common::LogLevel::kInfo, "http_request",
              {{"request_id", exchange.request_id},
               {"route", RouteLabel(route)},
               {"method", MethodLabel(exchange.method)},
               {"status", status},
               {"error", exchange.error},
               {"latency_ms", latency_ms},
               {"client_ip", client_ip.ok() ? client_ip->ToString() : std::string()},
               {"client_id", exchange.client_id}});
}

}  // namespace clientreg::gateway
