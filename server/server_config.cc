#include "server/server_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/ops_server.h"
#include "common/proto_file.h"
#include "common/status_macros.h"
#include "server/initial_access_tokens.h"
#include "server/rate_limiter.h"
#include "server/registration_policy.h"

namespace clientreg::server {

clientreg::config::v1::ServerConfig DefaultServerConfig() {
  clientreg::config::v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:50051");
  config.set_data_dir("./var");
  config.set_issuer("http://127.0.0.1:8080");
  *config.mutable_limits() = common::DefaultMetadataLimits();
  *config.mutable_registration() = DefaultRegistrationPolicy();
  config.set_max_threads(64);
  config.set_shutdown_grace_seconds(10);
  config.set_revoke_misused_registration_tokens(true);
  config.set_rotate_registration_access_token_on_update(false);
  config.set_secret_rotation_overlap_seconds(0);
  config.set_last_used_flush_seconds(10);
  config.set_max_list_page_size(1000);
  config.set_ops_listen_address("");
  config.set_log_level("info");
  // RFC 7592 brute force: 20 wrong registration access tokens from one address, then one every 3 seconds.
  auto& failed_checks = *config.mutable_rate_limits()->mutable_failed_token_checks_per_client_ip();
  failed_checks.set_burst(20);
  failed_checks.set_refill_per_minute(20);
  config.mutable_rate_limits()->set_max_tracked_keys(100000);
  config.set_max_dynamic_clients(0);
  config.mutable_initial_access_tokens()->set_mode("open");
  // Unset discovery endpoints derive from the issuer (AuthorizationEndpoint() and the others below).
  clientreg::config::v1::DiscoveryConfig& discovery = *config.mutable_discovery();
  discovery.mutable_subject_types_supported()->Add(std::string("public"));
  discovery.mutable_id_token_signing_alg_values_supported()->Add(std::string("RS256"));
  for (const char* alg : {"RS256", "ES256", "PS256", "EdDSA"}) {
    discovery.mutable_token_endpoint_auth_signing_alg_values_supported()->Add(std::string(alg));
  }
  return config;
}

absl::StatusOr<clientreg::config::v1::ServerConfig> LoadServerConfig(const std::string& path) {
  return common::LoadConfig(path, DefaultServerConfig(), &ValidateServerConfig);
}

std::string AuthorizationEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_authorization_endpoint() ? config.discovery().authorization_endpoint()
                                                         : config.issuer() + "/authorize";
}

std::string TokenEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_token_endpoint() ? config.discovery().token_endpoint() : config.issuer() + "/token";
}

std::string JwksUri(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_jwks_uri() ? config.discovery().jwks_uri() : config.issuer() + "/jwks";
}

std::string RegistrationEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.issuer() + "/oauth/register";
}

clientreg::config::v1::ServerConfig RedactedServerConfig(const clientreg::config::v1::ServerConfig& config) {
  clientreg::config::v1::ServerConfig redacted = config;
  for (auto& token : *redacted.mutable_initial_access_tokens()->mutable_static_tokens()) token.set_token("<redacted>");
  return redacted;
}

absl::Status ValidateServerConfig(const clientreg::config::v1::ServerConfig& config) {
  if (config.listen_address().empty()) return absl::InvalidArgumentError("listen_address must not be empty");
  if (config.data_dir().empty()) return absl::InvalidArgumentError("data_dir must not be empty");
  // RFC 8414 §2: the issuer is a URL with no query and no fragment; http only for a local deployment.
  const std::string& issuer = config.issuer();
  if (!(absl::StartsWith(issuer, "https://") || absl::StartsWith(issuer, "http://")) ||
      absl::StrContains(issuer, "?") || absl::StrContains(issuer, "#") || absl::EndsWith(issuer, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("issuer \"", issuer, "\" must be an http(s) URL without query, fragment or trailing slash"));
  }
  if (config.max_threads() < 4) return absl::InvalidArgumentError("max_threads must be at least 4");
  if (config.secret_rotation_overlap_seconds() < 0) {
    return absl::InvalidArgumentError("secret_rotation_overlap_seconds must not be negative");
  }
  if (config.last_used_flush_seconds() == 0)
    return absl::InvalidArgumentError("last_used_flush_seconds must be positive");
  if (config.max_list_page_size() == 0) return absl::InvalidArgumentError("max_list_page_size must be positive");
  if (!config.ops_listen_address().empty()) {
    if (const absl::Status valid = common::ValidateOpsAddress(config.ops_listen_address()); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ops_listen_address: ", valid.message()));
    }
  }
  if (const auto level = common::ParseLogLevel(config.log_level()); !level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("log_level: ", level.status().message()));
  }
  RETURN_IF_ERROR(common::ValidateMetadataLimits(config.limits()));
  RETURN_IF_ERROR(ValidateRateLimits(config.rate_limits()));
  RETURN_IF_ERROR(ValidateInitialAccessTokensConfig(config.initial_access_tokens()));
  return ValidateRegistrationPolicy(config.registration());
}

}  // namespace clientreg::server
