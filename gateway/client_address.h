#ifndef CLIENTREG_GATEWAY_CLIENT_ADDRESS_H_
#define CLIENTREG_GATEWAY_CLIENT_ADDRESS_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/ip_network.h"

namespace clientreg::gateway {

// The address of the HTTP client that rate limits and logs count: the connection's `peer` ("IP:PORT"), unless it is
// one of `trusted_proxies`, in which case the X-Forwarded-For hops (`forwarded_for`: the field values in the order
// they came, each a comma-separated list) are read from the right, skipping trusted proxies, and the first other
// address is the client (returned as a bare IP). A hop that is not an IP literal ends the walk at the proxy that
// added it: nothing to the left of it can be trusted. A header from any other peer is ignored, so a client cannot
// forge its address.
std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const std::vector<common::IpNetwork>& trusted_proxies);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_CLIENT_ADDRESS_H_
