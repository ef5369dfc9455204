#include "gateway/gateway_config.h"

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/ip_network.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/ops_server.h"
#include "common/proto_file.h"
#include "common/server_channel.h"
#include "common/status_macros.h"
#include "common/tls_files.h"
#include "gateway/tls_context.h"

namespace clientreg::gateway {
namespace {

// HTTPS on the public port: tls must name a chain and key that load, and without it plain HTTP is refused outside
// loopback unless allow_plain_http says TLS ends in front of the gateway.
absl::Status ValidateListenerTls(const clientreg::config::v1::GatewayConfig& config) {
  if (config.has_tls()) {
    const clientreg::config::v1::HttpsConfig& tls = config.tls();
    if (tls.certificate_chain_file().empty()) {
      return absl::InvalidArgumentError("tls.certificate_chain_file must be set when tls is");
    }
    if (tls.private_key_file().empty())
      return absl::InvalidArgumentError("tls.private_key_file must be set when tls is");
    // Loaded here, so that --check-config (systemd's ExecStartPre) proves the files are readable and match.
    const absl::StatusOr<TlsServerCredentials> loaded =
        LoadTlsServerCredentials(tls.certificate_chain_file(), tls.private_key_file());
    if (!loaded.ok()) return absl::InvalidArgumentError(absl::StrCat("tls: ", loaded.status().message()));
    return absl::OkStatus();
  }
  const absl::StatusOr<common::HostPort> listen = common::SplitHostPort(config.listen_address());
  if (!listen.ok()) return absl::InvalidArgumentError(absl::StrCat("listen_address: ", listen.status().message()));
  if (!common::IsLoopbackHost(listen->host) && !config.allow_plain_http()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen_address \"", config.listen_address(),
        "\" is not a loopback address: set tls for HTTPS, or allow_plain_http: true when TLS ends in a proxy in front "
        "of the gateway"));
  }
  return absl::OkStatus();
}

}  // namespace

clientreg::config::v1::GatewayConfig DefaultGatewayConfig() {
  clientreg::config::v1::GatewayConfig config;
  config.set_listen_address("127.0.0.1:8080");
  config.set_server_address("127.0.0.1:50051");
  *config.mutable_limits() = common::DefaultHttpLimits();
  config.set_threads(2);
  config.set_max_connections(10000);
  config.set_max_inflight_rpcs(48);
  config.set_max_queued_rpcs(10000);
  config.set_rpc_deadline_ms(5000);
  config.set_read_timeout_ms(10000);
  config.set_idle_timeout_ms(30000);
  config.mutable_cors_allowed_origins()->Add(std::string("*"));
  config.set_ops_listen_address("");
  config.set_log_level("info");
  return config;
}

namespace {

// How the gateway reaches the server: server_tls and server_token_file. Files are read here, so that
// --check-config finds a wrong path before a start does.
absl::Status ValidateServerConnection(const clientreg::config::v1::GatewayConfig& config) {
  if (config.has_server_tls()) {
    RETURN_IF_ERROR(common::ValidateClientTls(config.server_tls(), "server_tls."));
  } else if (!common::IsLocalAddress(config.server_address())) {
    // The calls carry client metadata and tokens, and the gateway's own credential.
    return absl::InvalidArgumentError(absl::StrCat("server_address \"", config.server_address(),
                                                   "\" is not a loopback address: set server_tls to reach it"));
  }
  if (!config.server_token_file().empty()) {
    const absl::Status token = common::ReadBearerTokenFile(config.server_token_file()).status();
    if (!token.ok()) return absl::InvalidArgumentError(absl::StrCat("server_token_file: ", token.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<clientreg::config::v1::GatewayConfig> LoadGatewayConfig(const std::string& path) {
  return common::LoadConfig(path, DefaultGatewayConfig(), &ValidateGatewayConfig);
}

absl::Status ValidateGatewayConfig(const clientreg::config::v1::GatewayConfig& config) {
  if (config.listen_address().find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen_address \"", config.listen_address(), "\" must be HOST:PORT"));
  }
  if (config.server_address().empty()) return absl::InvalidArgumentError("server_address must not be empty");
  if (config.threads() == 0 || config.threads() > 256) {
    return absl::InvalidArgumentError("threads must be between 1 and 256");
  }
  if (config.max_connections() == 0) return absl::InvalidArgumentError("max_connections must be positive");
  if (config.max_inflight_rpcs() == 0) return absl::InvalidArgumentError("max_inflight_rpcs must be positive");
  if (config.rpc_deadline_ms() == 0) return absl::InvalidArgumentError("rpc_deadline_ms must be positive");
  if (config.read_timeout_ms() == 0) return absl::InvalidArgumentError("read_timeout_ms must be positive");
  if (config.idle_timeout_ms() == 0) return absl::InvalidArgumentError("idle_timeout_ms must be positive");
  if (!config.ops_listen_address().empty()) {
    if (const absl::Status valid = common::ValidateOpsAddress(config.ops_listen_address()); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ops_listen_address: ", valid.message()));
    }
  }
  if (const auto level = common::ParseLogLevel(config.log_level()); !level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("log_level: ", level.status().message()));
  }
  RETURN_IF_ERROR(ValidateServerConnection(config));
  RETURN_IF_ERROR(ValidateListenerTls(config));
  for (int i = 0; i < config.trusted_proxies_size(); ++i) {
    if (absl::StatusOr<common::IpNetwork> proxies = common::IpNetwork::Parse(config.trusted_proxies(i));
        !proxies.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("trusted_proxies[", i, "]: ", proxies.status().message()));
    }
  }
  return common::ValidateHttpLimits(config.limits());
}

}  // namespace clientreg::gateway
