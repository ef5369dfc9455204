#include "server/client_ip.h"

#include <string>

namespace clientreg::server {

std::optional<common::IpAddress> IpOfGrpcPeer(std::string_view peer) {
  for (const std::string_view prefix : {std::string_view("ipv4:"), std::string_view("ipv6:")}) {
    if (peer.substr(0, prefix.size()) == prefix) {
      absl::StatusOr<common::IpAddress> ip = common::ParsePeerAddress(peer.substr(prefix.size()));
      if (ip.ok()) return *ip;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<common::IpAddress> ClientIpOf(const grpc::ServerContextBase& context, bool trust_gateway_metadata) {
  if (trust_gateway_metadata) {
    const auto& metadata = context.client_metadata();
    // One value only: a repeated key leaves it unclear which hop it names.
    if (metadata.count(kClientPeerMetadata) == 1) {
      const grpc::string_ref value = metadata.find(kClientPeerMetadata)->second;
      absl::StatusOr<common::IpAddress> ip = common::ParsePeerAddress(std::string_view(value.data(), value.size()));
      if (ip.ok()) return *ip;
    }
  }
  return IpOfGrpcPeer(context.peer());
}

}  // namespace clientreg::server
