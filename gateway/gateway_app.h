#ifndef CLIENTREG_GATEWAY_GATEWAY_APP_H_
#define CLIENTREG_GATEWAY_GATEWAY_APP_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "common/metrics.h"
#include "common/ops_server.h"
#include "gateway/exchange_recorder.h"
#include "gateway/gateway_metrics.h"
#include "gateway/http_server.h"
#include "gateway/registration_client.h"
#include "gateway/router.h"
#include "gateway/tls_context.h"
#include "gateway/upstream_health.h"

namespace clientreg::gateway {

// The whole gateway process minus flag parsing and signals: what main.cc runs and what tests start in-process.
class GatewayApp {
 public:
  // Connects to the server first, waiting up to `server_wait`, and only then listens: the port accepts
  // connections only once a registration would succeed. Then serves the ops port when `ops_listen_address` is set
  // (/healthz, /readyz, /metrics). Readiness (/readyz on both ports) is the server answering SERVING over
  // grpc.health.v1, asked about every second, while the gateway is not draining. `config` must be valid.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(
      const clientreg::config::v1::GatewayConfig& config, std::chrono::milliseconds server_wait);

  ~GatewayApp();

  // The bound HTTP port (useful with a ":0" listen address).
  uint16_t port() const { return http_->port(); }
  // The bound ops port, 0 without an ops_listen_address.
  uint16_t ops_port() const { return ops_ != nullptr ? ops_->port() : 0; }
  // The process's metrics, as /metrics shows them.
  common::MetricsRegistry& metrics() { return metrics_; }

  // Re-reads the tls certificate chain and key files (SIGHUP; the config file is not re-read). Connections accepted
  // from now on get the new pair and open ones keep theirs; a pair that fails to load is logged and returned, and
  // the old one stays. Without tls there is nothing to reload: logged, and OK. Thread-safe.
  [[nodiscard]] absl::Status ReloadTls();

  // Drains: readiness goes false at once (/readyz 503 on both ports), then the public port stops accepting, lets
  // in-flight requests finish within `grace`, and closes every connection; the ops port closes last. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  GatewayApp() = default;

  // Destroyed bottom-up: the ops port first (it reads the health, the registry and the client), the HTTP server,
  // its recorder, then the client (which waits for its in-flight callbacks), then the router those callbacks use,
  // and the metrics last.
  common::MetricsRegistry metrics_;
  std::unique_ptr<GatewayMetrics> gateway_metrics_;
  std::unique_ptr<UpstreamHealth> health_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<RegistrationClient> registration_;
  std::unique_ptr<ExchangeRecorder> recorder_;
  std::shared_ptr<TlsContextHolder> tls_;  // null without tls; the HTTP server holds it too
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<common::OpsServer> ops_;
  bool shut_down_ = false;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_GATEWAY_APP_H_
