#ifndef CLIENTREG_FETCH_SOCKET_ADDRESS_H_
#define CLIENTREG_FETCH_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <cstddef>
#include <optional>

#include "common/ip_network.h"

namespace clientreg::fetch {

// The IP address of an AF_INET or AF_INET6 socket address of `length` bytes; nullopt for any other family or a
// truncated one.
std::optional<common::IpAddress> IpAddressOf(const sockaddr* address, std::size_t length);

}  // namespace clientreg::fetch

#endif  // CLIENTREG_FETCH_SOCKET_ADDRESS_H_
