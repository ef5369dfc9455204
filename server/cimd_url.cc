#include "server/cimd_url.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

bool IsDotSegment(std::string_view segment) {
  const std::string lower = absl::AsciiStrToLower(std::string(segment));
  return lower == "." || lower == ".." || lower == "%2e" || lower == "%2e%2e" || lower == ".%2e" || lower == "%2e.";
}

absl::Status CheckPort(const std::optional<std::string>& port, bool required) {
  if (!port.has_value()) {
    return required ? absl::InvalidArgumentError("client_id URL on loopback http must have a port") : absl::OkStatus();
  }
  uint32_t number = 0;
  if (port->empty() || !absl::SimpleAtoi(*port, &number) || number == 0 || number > 65535) {
    return absl::InvalidArgumentError("client_id URL has an invalid port");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsCimdClientId(std::string_view client_id, const CimdUrlRules& rules) {
  const absl::string_view id(client_id.data(), client_id.size());
  return absl::StartsWithIgnoreCase(id, "https://") ||
         (rules.allow_loopback_http && absl::StartsWithIgnoreCase(id, "http://"));
}

absl::StatusOr<std::string> CheckCimdUrl(std::string_view url, const CimdUrlRules& rules) {
  absl::StatusOr<Uri> uri = ParseUri(url);
  if (!uri.ok())
    return absl::InvalidArgumentError(absl::StrCat("client_id is not a valid URL: ", uri.status().message()));
  const bool loopback_http = rules.allow_loopback_http && uri->scheme == "http";
  if (uri->scheme != "https" && !loopback_http) {
    return absl::InvalidArgumentError("client_id URL must use the https scheme, written in lower case");
  }
  if (uri->userinfo.has_value()) return absl::InvalidArgumentError("client_id URL must not have userinfo");
  if (uri->fragment.has_value()) return absl::InvalidArgumentError("client_id URL must not have a fragment");
  if (uri->query.has_value() && !rules.allow_query) {
    return absl::InvalidArgumentError("client_id URL must not have a query (cimd.allow_query is off)");
  }
  switch (uri->host_kind) {
    case HostKind::kRegName:
      if (!IsDnsHostName(uri->host)) return absl::InvalidArgumentError("client_id URL host is not a valid DNS name");
      break;
    case HostKind::kIpv4:
    case HostKind::kIpv6:
      break;
    default:
      return absl::InvalidArgumentError("client_id URL must have a DNS name or IP address host");
  }
  if (loopback_http && uri->host != "127.0.0.1" && uri->host != "localhost") {
    return absl::InvalidArgumentError(
        "client_id URL must use https (http is allowed only on 127.0.0.1 and localhost, for testing)");
  }
  if (absl::Status port = CheckPort(uri->port, loopback_http); !port.ok()) return port;
  if (uri->path.empty() || uri->path.front() != '/')
    return absl::InvalidArgumentError("client_id URL must have a path");
  for (absl::string_view segment : absl::StrSplit(absl::string_view(uri->path).substr(1), '/')) {
    if (IsDotSegment(std::string_view(segment.data(), segment.size())))
      return absl::InvalidArgumentError("client_id URL must not have dot segments");
  }
  return absl::AsciiStrToLower(uri->host);
}

}  // namespace clientreg::server
