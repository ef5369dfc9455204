#include "server/redirect_match.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::CheckRedirectUriResponse;

constexpr std::string_view kNative = "native";
constexpr uint64_t kMaxPort = 65535;

CheckRedirectUriResponse Answer(CheckRedirectUriResponse::Reason reason, std::string explanation,
                                std::string matched = "") {
  CheckRedirectUriResponse response;
  response.set_allowed(reason == CheckRedirectUriResponse::REASON_EXACT_MATCH ||
                       reason == CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH);
  response.set_reason(reason);
  response.set_matched_redirect_uri(std::move(matched));
  response.set_explanation(std::move(explanation));
  return response;
}

// RFC 8252 §7.3: http on a loopback host is the one kind of registered URI whose port may vary.
bool IsLoopbackHttp(const Uri& uri) {
  return absl::EqualsIgnoreCase(uri.scheme, "http") && IsLoopbackHost(uri.host) && !uri.userinfo.has_value();
}

// Everything but the port, compared as strings: the scheme and host exactly as written (so `HTTP` or `LocalHost`
// in one and not the other is a difference), userinfo, path and query present in both or neither, and equal.
bool SameButPort(const Uri& registered, const Uri& candidate) {
  return registered.scheme == candidate.scheme && registered.userinfo == candidate.userinfo &&
         registered.host_kind == candidate.host_kind && registered.host == candidate.host &&
         registered.path == candidate.path && registered.query == candidate.query &&
         registered.fragment == candidate.fragment;
}

// RFC 3986 §3.2.3 allows any run of digits (leading zeros and an empty port included); the AS can only redirect to
// one that names a TCP port.
bool PortInRange(const std::optional<std::string>& port) {
  if (!port.has_value() || port->empty()) return true;
  uint64_t number = 0;
  return absl::SimpleAtoi(*port, &number) && number <= kMaxPort;
}

}  // namespace

CheckRedirectUriResponse MatchRedirectUri(const google::protobuf::RepeatedPtrField<std::string>& registered,
                                          std::string_view application_type, std::string_view candidate) {
  // The common case first, and the cheapest: what the client registered, sent back unchanged. Registered URIs were
  // validated when they were stored, so an identical candidate is a valid URI too.
  for (const std::string& uri : registered) {
    if (uri == candidate) {
      return Answer(CheckRedirectUriResponse::REASON_EXACT_MATCH, "the redirect URI is registered for this client",
                    uri);
    }
  }

  absl::StatusOr<Uri> parsed = ParseUri(candidate);
  if (!parsed.ok()) {
    return Answer(CheckRedirectUriResponse::REASON_INVALID_URI,
                  absl::StrCat("the redirect URI ", parsed.status().message()));
  }
  if (parsed->fragment.has_value()) {
    return Answer(CheckRedirectUriResponse::REASON_INVALID_URI,
                  "the redirect URI has a fragment, which RFC 6749 Section 3.1.2 forbids");
  }
  if (!PortInRange(parsed->port)) {
    return Answer(CheckRedirectUriResponse::REASON_INVALID_URI, "the redirect URI has a port above 65535");
  }

  const bool native = application_type == kNative;
  bool port_differs_for_web = false;
  for (const std::string& uri : registered) {
    const absl::StatusOr<Uri> known = ParseUri(uri);
    if (!known.ok() || !IsLoopbackHttp(*known) || !SameButPort(*known, *parsed)) continue;
    if (native) {
      return Answer(CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH,
                    "the redirect URI differs from a registered loopback URI of this native client only in its port, "
                    "which may vary (RFC 8252 Section 7.3)",
                    uri);
    }
    port_differs_for_web = true;
  }
  return Answer(CheckRedirectUriResponse::REASON_NOT_REGISTERED,
                port_differs_for_web
                    ? "the redirect URI differs from a registered loopback URI only in its port, but only a native "
                      "client's loopback port may vary (RFC 8252 Section 7.3) and this client is a web client"
                    : "the redirect URI is not registered for this client (compared as exact strings, RFC 3986 "
                      "Section 6.2.1)");
}

CheckRedirectUriResponse MatchClientRedirectUri(const clientreg::v1::StoredClient& client, std::string_view candidate) {
  if (client.state() != clientreg::v1::StoredClient::STATE_ACTIVE) {
    return Answer(CheckRedirectUriResponse::REASON_CLIENT_DISABLED, "the client is disabled");
  }
  return MatchRedirectUri(client.metadata().redirect_uris().values(), client.metadata().application_type(), candidate);
}

void SetRedirectFacts(const google::protobuf::RepeatedPtrField<std::string>& uris,
                      clientreg::v1::ResolvedClient& resolved) {
  bool all_loopback = !uris.empty();
  for (const std::string& uri : uris) {
    const absl::StatusOr<Uri> parsed = ParseUri(uri);
    if (!parsed.ok() || parsed->host.empty()) {
      all_loopback = false;
      continue;
    }
    all_loopback = all_loopback && IsLoopbackHost(parsed->host);
    std::string host = absl::AsciiStrToLower(parsed->host);
    const auto& hosts = resolved.redirect_hosts();
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) resolved.add_redirect_hosts(std::move(host));
  }
  resolved.set_loopback_redirects_only(all_loopback);
}

}  // namespace clientreg::server
