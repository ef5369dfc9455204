#include "server/cimd_host_policy.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

constexpr std::string_view kAllowedField = "cimd.allowed_hosts";
constexpr std::string_view kDeniedField = "cimd.denied_hosts";

absl::string_view ToAbsl(std::string_view text) { return absl::string_view(text.data(), text.size()); }

// The address of an IP literal host: "192.0.2.1" or "[2001:db8::1]", and (for patterns) "2001:db8::1".
std::optional<common::IpAddress> IpLiteral(std::string_view host, bool brackets_optional) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    const std::string_view inner = host.substr(1, host.size() - 2);
    absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(inner);
    // "[192.0.2.1]" is not an IP-literal (RFC 3986 §3.2.2 brackets IPv6 only).
    if (!address.ok() || inner.find(':') == std::string_view::npos) return std::nullopt;
    return *address;
  }
  absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(host);
  if (!address.ok()) return std::nullopt;
  // Unbracketed, only IPv4 is a URL host; a pattern may leave an IPv6 address bare.
  if (!brackets_optional && host.find(':') != std::string_view::npos) return std::nullopt;
  return *address;
}

}  // namespace

absl::StatusOr<CimdHostPolicy> CimdHostPolicy::Create(const google::protobuf::RepeatedPtrField<std::string>& allowed,
                                                      const google::protobuf::RepeatedPtrField<std::string>& denied) {
  CimdHostPolicy policy;
  if (absl::Status status = AddPatterns(kAllowedField, allowed, policy.allowed_); !status.ok()) return status;
  if (absl::Status status = AddPatterns(kDeniedField, denied, policy.denied_); !status.ok()) return status;
  return policy;
}

absl::Status CimdHostPolicy::AddPatterns(std::string_view field,
                                         const google::protobuf::RepeatedPtrField<std::string>& patterns,
                                         Patterns& into) {
  for (int i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns.Get(i);
    const auto invalid = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(field), "[", i, "] \"", absl::CHexEscape(pattern), "\" is not a host pattern: ", why));
    };
    if (pattern.empty()) return invalid("it is empty");
    if (std::optional<common::IpAddress> address = IpLiteral(pattern, /*brackets_optional=*/true)) {
      into.addresses.push_back(*address);
      continue;
    }
    const bool wildcard = absl::StartsWith(pattern, "*.");
    const std::string_view name = std::string_view(pattern).substr(wildcard ? 2 : 0);
    if (name.find('*') != std::string_view::npos) {
      return invalid("\"*\" may only start it, as \"*.\" followed by a host name");
    }
    if (!IsDnsHostName(name)) {
      return invalid(wildcard ? "\"*.\" must be followed by a DNS host name"
                              : "it is neither a DNS host name, nor \"*.\" followed by one, nor an IP address");
    }
    std::string lower = absl::AsciiStrToLower(ToAbsl(name));
    (wildcard ? into.suffixes : into.names).insert(std::move(lower));
  }
  return absl::OkStatus();
}

bool CimdHostPolicy::Matches(const Patterns& patterns, std::string_view name,
                             const std::optional<common::IpAddress>& address) {
  if (address.has_value()) {
    for (const common::IpAddress& pattern : patterns.addresses) {
      if (pattern == *address) return true;
    }
    return false;
  }
  if (patterns.names.contains(ToAbsl(name))) return true;
  // "*.example.com" matches a.example.com and a.b.example.com: try every suffix that follows a dot.
  for (std::size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
    if (patterns.suffixes.contains(ToAbsl(name.substr(dot + 1)))) return true;
  }
  return false;
}

std::optional<std::string> CimdHostPolicy::Refusal(std::string_view host) const {
  const std::optional<common::IpAddress> address = IpLiteral(host, /*brackets_optional=*/false);
  std::string name;
  if (!address.has_value()) {
    // A resolver reads "example.com." as example.com: without this, the trailing dot would slip past a deny list.
    if (absl::EndsWith(ToAbsl(host), ".")) host.remove_suffix(1);
    if (!IsDnsHostName(host)) return "host is not a DNS name or IP literal";
    name = absl::AsciiStrToLower(ToAbsl(host));
  }
  if (Matches(denied_, name, address)) return absl::StrCat("host is denied by ", ToAbsl(kDeniedField));
  if (!allowed_.empty() && !Matches(allowed_, name, address)) {
    return absl::StrCat("host is not in ", ToAbsl(kAllowedField));
  }
  return std::nullopt;
}

}  // namespace clientreg::server
