#include "server/server_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/proto_file.h"
#include "common/status_macros.h"
#include "server/registration_policy.h"

namespace clientreg::server {

clientreg::config::v1::ServerConfig DefaultServerConfig() {
  clientreg::config::v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:50051");
  config.set_data_dir("./var");
  config.set_issuer("http://127.0.0.1:8080");
  *config.mutable_limits() = common::DefaultLimits();
  *config.mutable_registration() = DefaultRegistrationPolicy();
  config.set_max_threads(64);
  config.set_shutdown_grace_seconds(10);
  return config;
}

absl::StatusOr<clientreg::config::v1::ServerConfig> LoadServerConfig(const std::string& path) {
  return common::LoadConfig(path, DefaultServerConfig(), &ValidateServerConfig);
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
  RETURN_IF_ERROR(common::ValidateLimits(config.limits()));
  return ValidateRegistrationPolicy(config.registration());
}

}  // namespace clientreg::server
