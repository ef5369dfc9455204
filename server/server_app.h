#ifndef CLIENTREG_SERVER_SERVER_APP_H_
#define CLIENTREG_SERVER_SERVER_APP_H_

#include <chrono>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/ops_server.h"
#include "grpcpp/server.h"
#include "server/authentication_service.h"
#include "server/caller_authorizer.h"
#include "server/cimd_resolver.h"
#include "server/client_admin.h"
#include "server/client_admin_service.h"
#include "server/client_authenticator.h"
#include "server/client_directory.h"
#include "server/client_directory_service.h"
#include "server/client_reaper.h"
#include "server/health_monitor.h"
#include "server/initial_access_tokens.h"
#include "server/last_use_recorder.h"
#include "server/registrar.h"
#include "server/registration_manager.h"
#include "server/registration_service.h"
#include "server/rpc_metrics.h"
#include "storage/client_store.h"
#include "storage/store_metrics.h"

namespace clientreg::server {

// The whole server process minus flag parsing and signals: what main.cc runs and what tests start in-process, so
// tests exercise exactly the code that ships.
class ServerApp {
 public:
  // What tests may inject; unset members get the real thing.
  struct Dependencies {
    // Must outlive the app. Default: the system clock.
    const common::Clock* clock = nullptr;
    // Default: the RocksDB store under `<data_dir>/clients`.
    std::unique_ptr<storage::ClientStore> store;
    // Default: CimdFetcherOptions(config.cimd()). Tests inject a resolver and address policy here.
    std::optional<fetch::FetcherOptions> cimd_fetcher_options;
  };

  // Creates the data dir if needed, loads or creates the server key, opens the store, and starts serving gRPC.
  // It answers only once the store is open. `config` must be valid.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServerApp>> Start(
      const clientreg::config::v1::ServerConfig& config, Dependencies dependencies);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServerApp>> Start(
      const clientreg::config::v1::ServerConfig& config);

  ~ServerApp();

  // The bound gRPC port (useful with a ":0" listen address).
  int port() const { return port_; }
  // The bound ops HTTP port, 0 without an ops_listen_address.
  uint16_t ops_port() const { return ops_ != nullptr ? ops_->port() : 0; }
  // The process's metrics, as /metrics shows them.
  common::MetricsRegistry& metrics() { return metrics_; }
  // The readiness /readyz and gRPC health report.
  const HealthMonitor& health() const { return *health_; }

  // Drains: readiness goes false at once (NOT_SERVING, /readyz 503), the server stops taking calls, waits up to
  // `grace` for those in flight, cancels the rest, and closes the store. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  ServerApp() = default;

  common::SystemClock system_clock_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<ServerMetrics> server_metrics_;
  // Before store_, which uses it until it is destroyed.
  std::unique_ptr<storage::StoreMetrics> store_metrics_;
  std::unique_ptr<storage::ClientStore> store_;
  std::unique_ptr<CallerAuthorizer> callers_;
  std::unique_ptr<HealthMonitor> health_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<InitialAccessTokens> initial_access_tokens_;
  std::unique_ptr<RegistrationManager> registration_manager_;
  std::unique_ptr<RateLimiter> rate_limiter_;
  std::unique_ptr<ClientCap> client_cap_;
  std::unique_ptr<RegistrationService> registration_service_;
  // Shared by the authenticator and the directory, so that each sees the other's pending uses.
  std::unique_ptr<LastUseRecorder> last_use_;
  std::unique_ptr<ClientAuthenticator> authenticator_;
  std::unique_ptr<AuthenticationService> authentication_service_;
  std::unique_ptr<CimdResolver::Metrics> cimd_metrics_;
  std::unique_ptr<MetadataValidator> cimd_validator_;
  std::unique_ptr<ClientDirectory> directory_;
  // After directory_, so destroyed before it: its last answers count in the directory's metrics.
  std::unique_ptr<CimdResolver> cimd_resolver_;
  std::unique_ptr<ClientDirectoryService> directory_service_;
  std::unique_ptr<ClientAdmin> client_admin_;
  std::unique_ptr<ClientReaper> reaper_;
  std::unique_ptr<ClientAdminService> client_admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<common::OpsServer> ops_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_SERVER_APP_H_
