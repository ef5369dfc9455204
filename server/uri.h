#ifndef CLIENTREG_SERVER_URI_H_
#define CLIENTREG_SERVER_URI_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace clientreg::server {

// The form of a URI's host (RFC 3986 §3.2.2).
enum class HostKind {
  kNone,       // no authority at all
  kRegName,    // a registered name, possibly empty
  kIpv4,       // IPv4address: a dotted quad without leading zeros
  kIpv6,       // "[" IPv6address "]"
  kIpvFuture,  // "[v" ... "]"
};

// The components of an absolute URI (RFC 3986 §3, the `URI` rule). Each one is a byte-for-byte copy of its part of
// the input, without its delimiter, neither percent-decoded nor case-folded.
struct Uri {
  std::string scheme;
  std::optional<std::string> userinfo;
  HostKind host_kind = HostKind::kNone;
  std::string host;  // IP literals keep their brackets: "[::1]"
  std::optional<std::string> port;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

// Parses `text` strictly as an RFC 3986 §3 `URI`: an absolute URI with an optional fragment. Anything else is
// INVALID_ARGUMENT: a relative reference, a byte outside the URI character set (non-ASCII, whitespace, control
// characters, NUL, `"<>\^`{|}`), a `%` not followed by two hex digits, a percent-encoded NUL (`%00`), a malformed
// scheme, IP literal or port, or a character in a component whose grammar excludes it. The message does not repeat
// `text`.
[[nodiscard]] absl::StatusOr<Uri> ParseUri(std::string_view text);

// True if `host` is a DNS host name as clientreg accepts one: dot-separated labels of 1-63 ASCII letters, digits and
// hyphens, no hyphen at either end of a label (RFC 1123 §2.1), at most 253 bytes, and a last label that is not a
// number (so `127.1` or `0x7f000001` is not taken for a name). IDNs must be in their `xn--` form.
bool IsDnsHostName(std::string_view host);

// True if `host` (as in Uri::host) is `127.0.0.1`, `[::1]` or `localhost` in any letter case (host names are
// case-insensitive, RFC 3986 §3.2.2): the loopback hosts on which plain http is allowed (RFC 8252 §7.3, §8.3). No
// other spelling of them (`127.1`, `[0:0:0:0:0:0:0:1]`, `localhost.`) counts.
bool IsLoopbackHost(std::string_view host);

// The kinds of redirect URI clientreg accepts (spec.md §6 step 5).
enum class RedirectUriKind {
  kHttps,         // https with a DNS name or IP literal host
  kLoopbackHttp,  // http on a loopback host
  kPrivateUse,    // any other scheme not on the deny list (RFC 8252 §7.1), for native clients only
};

// Which private-use schemes ClassifyRedirectUri accepts.
enum class PrivateUseSchemes {
  kAny,                // any valid scheme (spec.md §6 step 5: `cursor://...`, `vscode://...`)
  kReverseDomainOnly,  // only schemes with a period (RFC 8252 §8.4's SHOULD; config require_reverse_domain_schemes)
};

// Applies spec.md §6 steps 2-5 to one redirect URI: strict RFC 3986 syntax, absolute, no fragment (not even an
// empty one), no userinfo, no percent-encoded NUL, and the scheme rules, the scheme compared ignoring case (`HTTP:`
// is http): https with a valid host; http on a loopback host; never a deny-listed scheme (javascript, data,
// vbscript, file, about, blob, filesystem, view-source, ws, wss, ftp), whatever `private_use` says; any other
// scheme is private-use, allowed as `private_use` says when something follows the colon and, without an authority,
// the path starts with '/'. Returns its kind, or INVALID_ARGUMENT whose message is a reason that does not repeat
// `text`. The application_type rules are the caller's.
[[nodiscard]] absl::StatusOr<RedirectUriKind> ClassifyRedirectUri(std::string_view text, PrivateUseSchemes private_use);

// OK if `text` is a web page or image URL (client_uri, logo_uri, tos_uri, policy_uri): an absolute http or https URI
// whose host is a DNS name or IP literal, with an optional numeric port and no userinfo. A fragment is allowed.
[[nodiscard]] absl::Status CheckWebUrl(std::string_view text);

// OK if `text` can be a jwks_uri: https (or http on a loopback host) with a valid host, no userinfo, no fragment.
[[nodiscard]] absl::Status CheckJwksUri(std::string_view text);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_URI_H_
