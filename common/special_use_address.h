#ifndef CLIENTREG_COMMON_SPECIAL_USE_ADDRESS_H_
#define CLIENTREG_COMMON_SPECIAL_USE_ADDRESS_H_

#include <optional>
#include <string_view>

#include "common/ip_network.h"

namespace clientreg::common {

// Why `address` is no place for the server to fetch from on a client's say-so (SSRF), or nullopt for a global
// unicast address. Refused: every block of the IANA special-purpose registries (RFC 6890 and its updates: this
// network, private, shared/CGNAT, loopback, link-local, IETF protocol assignments, documentation, benchmarking, 6to4
// relay, multicast, reserved and broadcast; ::, ::1, discard-only, unique local, site-local, ORCHID and Teredo
// within 2001::/23, documentation, multicast), the deprecated IPv4-compatible form, local-use NAT64 (RFC 8215),
// every IPv6 address outside global unicast 2000::/3, and any IPv4-mapped, well-known-prefix NAT64 (RFC 6052) or 6to4
// (RFC 3056) address whose embedded IPv4 address is refused. The answer names the block, never more.
std::optional<std::string_view> SpecialUseReason(const IpAddress& address);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_SPECIAL_USE_ADDRESS_H_
