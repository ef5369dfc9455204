#include "server/uri.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace clientreg::server {
namespace {

// Messages below end up inside an OAuth error_description, so they stay within RFC 6749 §5.2's NQSCHAR: printable
// ASCII without double quotes or backslashes (hence "Section" rather than the section sign).

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

// RFC 3986 §2.2, §2.3.
bool IsUnreserved(char c) { return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool IsSubDelim(char c) { return c != '\0' && std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }
bool IsGenDelim(char c) { return c != '\0' && std::string_view(":/?#[]@").find(c) != std::string_view::npos; }

// Every '%' is checked once for the whole URI (ParseUri), so these component rules admit it as such.
bool IsRegNameChar(char c) { return IsUnreserved(c) || IsSubDelim(c) || c == '%'; }
bool IsUserinfoChar(char c) { return IsRegNameChar(c) || c == ':'; }
bool IsPathChar(char c) { return IsUserinfoChar(c) || c == '@' || c == '/'; }
bool IsQueryChar(char c) { return IsPathChar(c) || c == '?'; }
bool IsSchemeChar(char c) { return IsAlnum(c) || c == '+' || c == '-' || c == '.'; }
bool IsIpvFutureChar(char c) { return IsUnreserved(c) || IsSubDelim(c) || c == ':'; }

bool AllOf(std::string_view s, bool (*predicate)(char)) { return std::all_of(s.begin(), s.end(), predicate); }

std::string Lower(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool IsScheme(std::string_view s) { return !s.empty() && IsAlpha(s.front()) && AllOf(s, IsSchemeChar); }

// RFC 3986 §3.2.2 dec-octet: 0-255 without leading zeros.
bool IsDecOctet(std::string_view s) {
  if (s.empty() || s.size() > 3 || !AllOf(s, IsDigit)) return false;
  if (s.size() > 1 && s.front() == '0') return false;
  return std::stoi(std::string(s)) <= 255;
}

bool IsIpv4Address(std::string_view s) {
  for (int i = 0; i < 3; ++i) {
    const size_t dot = s.find('.');
    if (dot == std::string_view::npos || !IsDecOctet(s.substr(0, dot))) return false;
    s.remove_prefix(dot + 1);
  }
  return IsDecOctet(s);
}

// The number of 16-bit pieces in a ':'-separated run of h16 (an IPv4address may end it when `ipv4_tail`, counting
// two), or -1 if the run is malformed.
int CountIpv6Pieces(std::string_view run, bool ipv4_tail) {
  if (run.empty()) return 0;
  int pieces = 0;
  while (true) {
    const size_t colon = run.find(':');
    const std::string_view piece = run.substr(0, colon);
    if (colon == std::string_view::npos) {
      if (ipv4_tail && piece.find('.') != std::string_view::npos) return IsIpv4Address(piece) ? pieces + 2 : -1;
      return !piece.empty() && piece.size() <= 4 && AllOf(piece, IsHexDigit) ? pieces + 1 : -1;
    }
    if (piece.empty() || piece.size() > 4 || !AllOf(piece, IsHexDigit)) return -1;
    ++pieces;
    run.remove_prefix(colon + 1);
  }
}

// RFC 3986 §3.2.2 IPv6address: eight pieces (the last two may be an IPv4address), where one "::" stands for one or
// more zero pieces. The ABNF's nine alternatives come down to this count. Zone IDs (RFC 6874) are not accepted.
bool IsIpv6Address(std::string_view s) {
  const size_t gap = s.find("::");
  if (gap == std::string_view::npos) return CountIpv6Pieces(s, true) == 8;
  if (s.find("::", gap + 1) != std::string_view::npos) return false;
  const int head = CountIpv6Pieces(s.substr(0, gap), false);
  const int tail = CountIpv6Pieces(s.substr(gap + 2), true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

// RFC 3986 §3.2.2 IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
bool IsIpvFuture(std::string_view s) {
  if (s.size() < 4 || (s.front() != 'v' && s.front() != 'V')) return false;
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot < 2) return false;
  return AllOf(s.substr(1, dot - 1), IsHexDigit) && dot + 1 < s.size() && AllOf(s.substr(dot + 1), IsIpvFutureChar);
}

absl::Status ParseAuthority(std::string_view authority, Uri& uri) {
  std::string_view hostport = authority;
  if (const size_t at = authority.find('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (!AllOf(userinfo, IsUserinfoChar)) return absl::InvalidArgumentError("has a character not allowed in userinfo");
    uri.userinfo = std::string(userinfo);
    hostport = authority.substr(at + 1);
  }
  std::string_view host = hostport;
  std::optional<std::string_view> port;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("has an unterminated IP literal");
    host = hostport.substr(0, close + 1);
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return absl::InvalidArgumentError("has characters after its IP literal");
      port = after.substr(1);
    }
    const std::string_view literal = host.substr(1, host.size() - 2);
    if (!literal.empty() && (literal.front() == 'v' || literal.front() == 'V')) {
      if (!IsIpvFuture(literal)) return absl::InvalidArgumentError("has a malformed IPvFuture literal");
      uri.host_kind = HostKind::kIpvFuture;
    } else if (IsIpv6Address(literal)) {
      uri.host_kind = HostKind::kIpv6;
    } else {
      return absl::InvalidArgumentError("has a malformed IPv6 address (RFC 3986 Section 3.2.2)");
    }
  } else {
    // Neither reg-name nor IPv4address may hold a ':', so the first one starts the port.
    if (const size_t colon = hostport.find(':'); colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
    if (!AllOf(host, IsRegNameChar)) return absl::InvalidArgumentError("has a character not allowed in its host");
    uri.host_kind = IsIpv4Address(host) ? HostKind::kIpv4 : HostKind::kRegName;
  }
  if (port.has_value()) {
    if (!AllOf(*port, IsDigit)) return absl::InvalidArgumentError("has a port that is not a number");
    uri.port = std::string(*port);
  }
  uri.host = std::string(host);
  return absl::OkStatus();
}

// The scheme of `text` when it starts with a well-formed one, else empty.
std::string_view SchemePrefix(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return {};
  const std::string_view scheme = text.substr(0, colon);
  return IsScheme(scheme) ? scheme : std::string_view();
}

// Schemes that execute or embed content, reach the file system, or name a transport rather than a place to return
// to (RFC 9700 §4.1, spec.md §6 step 5). No configuration admits them.
constexpr std::string_view kDeniedSchemes[] = {"javascript", "data",        "vbscript", "file", "about", "blob",
                                               "filesystem", "view-source", "ws",       "wss",  "ftp"};

bool IsDeniedScheme(std::string_view scheme) {
  const std::string lower = Lower(scheme);
  return std::find(std::begin(kDeniedSchemes), std::end(kDeniedSchemes), lower) != std::end(kDeniedSchemes);
}

// Host and port rules for http and https: a DNS name or an IPv4/IPv6 address, and a port of 0-65535 if any.
absl::Status CheckHttpHost(const Uri& uri) {
  if (uri.userinfo.has_value()) {
    return absl::InvalidArgumentError("has userinfo (user:password@), which is not allowed");
  }
  switch (uri.host_kind) {
    case HostKind::kNone:
      return absl::InvalidArgumentError("has no host (an http or https URI needs //host)");
    case HostKind::kIpvFuture:
      return absl::InvalidArgumentError("has an IPvFuture host; only IPv4 and IPv6 addresses are accepted");
    case HostKind::kRegName:
      if (uri.host.empty()) return absl::InvalidArgumentError("has an empty host");
      if (!IsDnsHostName(uri.host)) {
        return absl::InvalidArgumentError(
            "has a host that is neither a DNS name (letters, digits and hyphens in dot-separated labels, no "
            "wildcards) nor an IP address");
      }
      break;
    case HostKind::kIpv4:
    case HostKind::kIpv6:
      break;
  }
  if (uri.port.has_value()) {
    if (uri.port->empty()) return absl::InvalidArgumentError("has an empty port after ':'");
    if (uri.port->size() > 5 || std::stoi(*uri.port) > 65535) {
      return absl::InvalidArgumentError("has a port above 65535");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Uri> ParseUri(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!IsUnreserved(c) && !IsSubDelim(c) && !IsGenDelim(c) && c != '%') {
      return absl::InvalidArgumentError(
          absl::StrCat("has a character not allowed in a URI at offset ", i,
                       " (whitespace, control characters, non-ASCII and some punctuation must be percent-encoded, "
                       "RFC 3986 Section 2)"));
    }
    if (c == '%' && !(i + 2 < text.size() && IsHexDigit(text[i + 1]) && IsHexDigit(text[i + 2]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("has a '%' not followed by two hex digits at offset ", i, " (RFC 3986 Section 2.1)"));
    }
    // A decoded NUL truncates the URI in C strings and in many comparisons downstream of the authorization server.
    if (c == '%' && text[i + 1] == '0' && text[i + 2] == '0') {
      return absl::InvalidArgumentError(absl::StrCat("has a percent-encoded NUL (%00) at offset ", i));
    }
  }
  const size_t colon = text.find(':');
  const size_t delimiter = text.find_first_of("/?#");
  if (colon == std::string_view::npos || colon == 0 || (delimiter != std::string_view::npos && delimiter < colon)) {
    return absl::InvalidArgumentError("is not an absolute URI: it has no scheme (RFC 3986 Section 4.3)");
  }
  Uri uri;
  if (!IsScheme(text.substr(0, colon))) {
    return absl::InvalidArgumentError("has a malformed scheme (RFC 3986 Section 3.1)");
  }
  uri.scheme = std::string(text.substr(0, colon));

  std::string_view rest = text.substr(colon + 1);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    const std::string_view fragment = rest.substr(hash + 1);
    if (!AllOf(fragment, IsQueryChar)) return absl::InvalidArgumentError("has a character not allowed in its fragment");
    uri.fragment = std::string(fragment);
    rest = rest.substr(0, hash);
  }
  if (const size_t question = rest.find('?'); question != std::string_view::npos) {
    const std::string_view query = rest.substr(question + 1);
    if (!AllOf(query, IsQueryChar)) return absl::InvalidArgumentError("has a character not allowed in its query");
    uri.query = std::string(query);
    rest = rest.substr(0, question);
  }
  std::string_view path = rest;
  if (rest.substr(0, 2) == "//") {
    const size_t slash = rest.find('/', 2);
    const std::string_view authority = slash == std::string_view::npos ? rest.substr(2) : rest.substr(2, slash - 2);
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    RETURN_IF_ERROR(ParseAuthority(authority, uri));
  }
  // With an authority the path is empty or starts with '/'; without one it cannot start with "//". Either way only
  // the characters remain to be checked.
  if (!AllOf(path, IsPathChar)) return absl::InvalidArgumentError("has a character not allowed in its path");
  uri.path = std::string(path);
  return uri;
}

bool IsDnsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::string_view last_label;
  while (true) {
    const size_t dot = host.find('.');
    const std::string_view label = host.substr(0, dot);
    if (label.empty() || label.size() > 63 || !AllOf(label, [](char c) { return IsAlnum(c) || c == '-'; }) ||
        label.front() == '-' || label.back() == '-') {
      return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  // WHATWG URL's "ends in a number" rule: browsers read such a host as an IPv4 address (`127.1`, `0x7f000001`).
  if (AllOf(last_label, IsDigit)) return false;
  const bool hex = last_label.size() >= 2 && last_label[0] == '0' && (last_label[1] == 'x' || last_label[1] == 'X') &&
                   AllOf(last_label.substr(2), IsHexDigit);
  return !hex;
}

bool IsLoopbackHost(std::string_view host) {
  return host == "127.0.0.1" || host == "[::1]" || Lower(host) == "localhost";
}

absl::StatusOr<RedirectUriKind> ClassifyRedirectUri(std::string_view text, PrivateUseSchemes private_use) {
  // Named before any syntax fault, so `javascript:alert("x")` is refused for its scheme, not for its quotes.
  if (IsDeniedScheme(SchemePrefix(text))) {
    return absl::InvalidArgumentError(
        "uses a scheme never allowed for redirect URIs (javascript, data, vbscript, file, about, blob, filesystem, "
        "view-source, ws, wss, ftp)");
  }
  ASSIGN_OR_RETURN(const Uri uri, ParseUri(text));
  if (uri.fragment.has_value()) {
    return absl::InvalidArgumentError("has a fragment, which a redirect URI must not have (RFC 6749 Section 3.1.2)");
  }
  if (uri.userinfo.has_value()) {
    // `http://127.0.0.1:1@evil.example/cb` would pass a naive loopback check.
    return absl::InvalidArgumentError("has userinfo (user:password@), which is not allowed");
  }
  // RFC 3986 §3.1: schemes are case-insensitive, so `HTTP://evil.example/cb` gets the http rules below, never the
  // private-use ones.
  const std::string scheme = Lower(uri.scheme);
  if (scheme == "https") {
    RETURN_IF_ERROR(CheckHttpHost(uri));
    return RedirectUriKind::kHttps;
  }
  if (scheme == "http") {
    RETURN_IF_ERROR(CheckHttpHost(uri));
    if (!IsLoopbackHost(uri.host)) {
      return absl::InvalidArgumentError(
          "uses http on a host other than 127.0.0.1, [::1] or localhost; use https (RFC 9700 Section 2.6)");
    }
    return RedirectUriKind::kLoopbackHttp;
  }
  if (uri.host_kind == HostKind::kNone && uri.path.empty() && !uri.query.has_value()) {
    return absl::InvalidArgumentError("has nothing after its scheme");
  }
  // RFC 8252 §7.1 writes `com.example.app:/path` (or `://`). Requiring the slash also refuses `example.com:8080/cb`
  // and `localhost:3000/cb`, a host and port missing their `https://` or `http://` that would otherwise parse as a
  // private-use scheme, and `urn:ietf:wg:oauth:2.0:oob`, which names no place to return to.
  if (uri.host_kind == HostKind::kNone && (uri.path.empty() || uri.path.front() != '/')) {
    return absl::InvalidArgumentError(
        "has a private-use scheme not followed by '/', as in com.example.app:/callback (RFC 8252 Section 7.1)");
  }
  // RFC 8252 §8.4 says a scheme without a period SHOULD be refused; real agents register `cursor://...` and
  // `vscode://...`, so that is a deployment's choice (spec.md §6 step 5).
  if (private_use == PrivateUseSchemes::kReverseDomainOnly && scheme.find('.') == std::string::npos) {
    return absl::InvalidArgumentError(
        "uses a private-use scheme without a period, and this server requires a reverse domain name such as "
        "com.example.app (RFC 8252 Section 7.1)");
  }
  return RedirectUriKind::kPrivateUse;
}

absl::Status CheckWebUrl(std::string_view text) {
  ASSIGN_OR_RETURN(const Uri uri, ParseUri(text));
  const std::string scheme = Lower(uri.scheme);
  if (scheme != "https" && scheme != "http") return absl::InvalidArgumentError("is not an http or https URL");
  return CheckHttpHost(uri);
}

absl::Status CheckJwksUri(std::string_view text) {
  ASSIGN_OR_RETURN(const Uri uri, ParseUri(text));
  const std::string scheme = Lower(uri.scheme);
  if (scheme != "https" && scheme != "http") return absl::InvalidArgumentError("is not an https URL");
  if (uri.fragment.has_value()) return absl::InvalidArgumentError("has a fragment");
  RETURN_IF_ERROR(CheckHttpHost(uri));
  if (scheme == "http" && !IsLoopbackHost(uri.host)) {
    return absl::InvalidArgumentError("uses http on a host other than 127.0.0.1, [::1] or localhost; use https");
  }
  return absl::OkStatus();
}

}  // namespace clientreg::server
