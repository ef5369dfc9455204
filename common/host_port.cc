#include "common/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "absl/strings/str_cat.h"

namespace clientreg::common {

absl::StatusOr<HostPort> SplitHostPort(std::string_view address) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("address \"", absl::string_view(address.data(), address.size()),
                                                   "\" must be HOST:PORT or [IPV6]:PORT"));
  };
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid();
  std::string_view host = address.substr(0, colon);
  const bool bracketed = host.front() == '[';
  if (bracketed) {
    if (host.size() < 3 || host.back() != ']') return invalid();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos || host.find(']') != std::string_view::npos) {
    return invalid();
  }
  const std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return invalid();
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port), bracketed};
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

bool IsLocalAddress(std::string_view address) {
  if (address.substr(0, 5) == "unix:" || address.substr(0, 14) == "unix-abstract:") return true;
  const absl::StatusOr<HostPort> split = SplitHostPort(address);
  return split.ok() && IsLoopbackHost(split->host);
}

}  // namespace clientreg::common
