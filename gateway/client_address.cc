#include "gateway/client_address.h"

#include <algorithm>

namespace clientreg::gateway {
namespace {

bool IsTrusted(const common::IpAddress& address, const std::vector<common::IpNetwork>& trusted_proxies) {
  return std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                     [&](const common::IpNetwork& network) { return network.Contains(address); });
}

std::string_view Trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const std::vector<common::IpNetwork>& trusted_proxies) {
  if (trusted_proxies.empty() || forwarded_for.empty()) return std::string(peer);
  absl::StatusOr<common::IpAddress> current = common::ParsePeerAddress(peer);
  if (!current.ok() || !IsTrusted(*current, trusted_proxies)) return std::string(peer);
  std::string client(peer);
  // Right to left: the last field's last hop was added by the proxy that connected to us.
  for (auto field = forwarded_for.rbegin(); field != forwarded_for.rend(); ++field) {
    std::string_view list = *field;
    while (!list.empty()) {
      const std::size_t comma = list.rfind(',');
      const std::string_view hop = Trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (hop.empty()) continue;  // RFC 9110 §5.6.1: empty list elements do not count
      absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(hop);
      if (!address.ok()) return client;
      client = address->ToString();
      if (!IsTrusted(*address, trusted_proxies)) return client;
    }
  }
  // Every hop was a trusted proxy: the leftmost is as near to the client as anyone can tell.
  return client;
}

}  // namespace clientreg::gateway
