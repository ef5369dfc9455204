#ifndef CLIENTREG_GATEWAY_GATEWAY_CONFIG_H_
#define CLIENTREG_GATEWAY_GATEWAY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"

namespace clientreg::gateway {

// A GatewayConfig with every field at its documented default (proto/clientreg/config/v1/config.proto).
clientreg::config::v1::GatewayConfig DefaultGatewayConfig();

// The defaults overlaid with the fields `path` sets (textproto, or JSON for *.json), then validated. An empty path
// gives the validated defaults.
[[nodiscard]] absl::StatusOr<clientreg::config::v1::GatewayConfig> LoadGatewayConfig(const std::string& path);

// Rejects any value the gateway cannot honour; the message names the field.
[[nodiscard]] absl::Status ValidateGatewayConfig(const clientreg::config::v1::GatewayConfig& config);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_GATEWAY_CONFIG_H_
