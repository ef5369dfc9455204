#ifndef CLIENTREG_GATEWAY_GATEWAY_APP_H_
#define CLIENTREG_GATEWAY_GATEWAY_APP_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "gateway/http_server.h"
#include "gateway/registration_client.h"
#include "gateway/router.h"

namespace clientreg::gateway {

// The whole gateway process minus flag parsing and signals: what main.cc runs and what tests start in-process.
class GatewayApp {
 public:
  // Connects to the server first, waiting up to `server_wait`, and only then listens: the port accepts
  // connections only once a registration would succeed. `config` must be valid.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(
      const clientreg::config::v1::GatewayConfig& config, std::chrono::milliseconds server_wait);

  ~GatewayApp();

  // The bound HTTP port (useful with a ":0" listen address).
  uint16_t port() const { return http_->port(); }

  // Stops accepting, lets in-flight requests finish within `grace`, and closes every connection. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  GatewayApp() = default;

  // Destroyed bottom-up: the HTTP server first, then the client (which waits for its in-flight callbacks), then
  // the router those callbacks use.
  std::unique_ptr<Router> router_;
  std::unique_ptr<RegistrationClient> registration_;
  std::unique_ptr<HttpServer> http_;
  bool shut_down_ = false;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_GATEWAY_APP_H_
