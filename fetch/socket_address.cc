#include "fetch/socket_address.h"

#include <netinet/in.h>

#include <cstring>

namespace clientreg::fetch {

std::optional<common::IpAddress> IpAddressOf(const sockaddr* address, std::size_t length) {
  if (address == nullptr) return std::nullopt;
  common::IpAddress ip;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    // IpAddress holds IPv4 in its IPv4-mapped form.
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, 4);
    return ip;
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

}  // namespace clientreg::fetch
