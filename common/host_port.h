#ifndef CLIENTREG_COMMON_HOST_PORT_H_
#define CLIENTREG_COMMON_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clientreg::common {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  uint16_t port = 0;
  bool bracketed = false;  // the host was written in brackets
};

// Splits "HOST:PORT" or "[IPV6]:PORT". The host is not resolved or checked here; an unbracketed host with a colon
// (a bare IPv6 literal) is refused, so that its last group is never read as the port.
[[nodiscard]] absl::StatusOr<HostPort> SplitHostPort(std::string_view address);

// "localhost", an IPv4 literal in 127.0.0.0/8, "::1", or an IPv4-mapped form of 127.0.0.0/8.
bool IsLoopbackHost(std::string_view host);

// An address only processes on this machine can reach: "HOST:PORT" with a loopback host, or a gRPC Unix domain
// socket target ("unix:PATH", "unix-abstract:NAME"). Plain text and open access are allowed only on these.
bool IsLocalAddress(std::string_view address);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_HOST_PORT_H_
