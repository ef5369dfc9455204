#ifndef CLIENTREG_SERVER_CLIENT_IP_H_
#define CLIENTREG_SERVER_CLIENT_IP_H_

#include <optional>
#include <string_view>

#include "common/ip_network.h"
#include "grpcpp/server_context.h"

namespace clientreg::server {

// The gRPC metadata in which the gateway passes the address of the HTTP client it serves ("IP:PORT").
inline constexpr char kClientPeerMetadata[] = "x-clientreg-peer";

// The IP address a request counts against in the rate limits. With `trust_gateway_metadata` (the caller is a gateway
// the server trusts), the gateway's x-clientreg-peer when it holds an IP address; otherwise, or when it is absent,
// the address of the gRPC peer itself. nullopt when neither is an IP address (a Unix domain socket peer).
std::optional<common::IpAddress> ClientIpOf(const grpc::ServerContextBase& context, bool trust_gateway_metadata);

// The IP of a gRPC peer string ("ipv4:192.0.2.1:5000", "ipv6:[2001:db8::1]:5000"); nullopt for anything else.
std::optional<common::IpAddress> IpOfGrpcPeer(std::string_view peer);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_IP_H_
