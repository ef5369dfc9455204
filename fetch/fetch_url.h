#ifndef CLIENTREG_FETCH_FETCH_URL_H_
#define CLIENTREG_FETCH_FETCH_URL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/ip_network.h"

namespace clientreg::fetch {

// A URL the fetcher will try, taken apart once so that the checks and the transfer see the same host.
struct FetchUrl {
  std::string url;   // as normalized by libcurl's URL parser; what the transfer requests
  std::string host;  // without the brackets of an IPv6 literal
  uint16_t port = 0;
  // Set when the host is an IP literal: it is used as is, never resolved.
  std::optional<common::IpAddress> literal;
  // An http URL admitted by allow_loopback_http: only loopback addresses may serve it.
  bool loopback_http = false;
};

// Checks `url` before anything touches the network: absolute, https (or, with `allow_loopback_http`, http to exactly
// 127.0.0.1 or localhost with an explicit port), a host, no userinfo, no IPv6 zone. InvalidArgument says why.
[[nodiscard]] absl::StatusOr<FetchUrl> ParseFetchUrl(std::string_view url, bool allow_loopback_http);

}  // namespace clientreg::fetch

#endif  // CLIENTREG_FETCH_FETCH_URL_H_
