#include "gateway/exchange_recorder.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/logging.h"

namespace clientreg::gateway {

std::string_view PeerAddress(std::string_view peer) {
  const std::size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return peer;
  std::string_view address = peer.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  return address;
}

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
  common::Log(common::LogLevel::kInfo, "http_request",
              {{"request_id", exchange.request_id},
               {"route", RouteLabel(route)},
               {"method", MethodLabel(exchange.method)},
               {"status", status},
               {"error", exchange.error},
               {"latency_ms", latency_ms},
               {"client_ip", PeerAddress(exchange.peer)},
               {"client_id", exchange.client_id}});
}

}  // namespace clientreg::gateway
