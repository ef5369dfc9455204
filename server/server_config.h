#ifndef CLIENTREG_SERVER_SERVER_CONFIG_H_
#define CLIENTREG_SERVER_SERVER_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"

namespace clientreg::server {

// A ServerConfig with every field at its documented default (proto/clientreg/config/v1/config.proto).
clientreg::config::v1::ServerConfig DefaultServerConfig();

// The defaults overlaid with the fields `path` sets (textproto, or JSON for *.json), then validated. An empty path
// gives the validated defaults.
[[nodiscard]] absl::StatusOr<clientreg::config::v1::ServerConfig> LoadServerConfig(const std::string& path);

// URLs derived from the issuer unless configured (the issuer alone sets them, never a request's Host).
std::string RegistrationEndpoint(const clientreg::config::v1::ServerConfig& config);
std::string AuthorizationEndpoint(const clientreg::config::v1::ServerConfig& config);
std::string TokenEndpoint(const clientreg::config::v1::ServerConfig& config);
std::string JwksUri(const clientreg::config::v1::ServerConfig& config);

// `config` with every static initial access token replaced by "<redacted>" and every caller's bearer digest cut to
// eight hex digits: what may be logged.
clientreg::config::v1::ServerConfig RedactedServerConfig(const clientreg::config::v1::ServerConfig& config);

// Rejects any value the server cannot honour; the message names the field.
[[nodiscard]] absl::Status ValidateServerConfig(const clientreg::config::v1::ServerConfig& config);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_SERVER_CONFIG_H_
