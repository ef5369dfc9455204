#ifndef CLIENTREG_SERVER_CIMD_URL_H_
#define CLIENTREG_SERVER_CIMD_URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clientreg::server {

// What a Client ID Metadata Document URL may look like beyond the draft's MUSTs (config cimd).
struct CimdUrlRules {
  bool allow_query = false;          // cimd.allow_query
  bool allow_loopback_http = false;  // cimd.insecure_allow_loopback_http
};

// True when `client_id` names a metadata document rather than a registered client: it starts with "https://" (or,
// under allow_loopback_http, "http://"), in any letter case. Issued client_ids never do (CIMD §6.9, spec.md §2.1),
// so nothing registered is shadowed.
bool IsCimdClientId(std::string_view client_id, const CimdUrlRules& rules);

// Checks a client_id URL against CIMD §3: an RFC 3986 absolute URI with the scheme "https" (lower case, as the
// document's client_id must repeat it byte for byte), a DNS name or IP literal host, an optional port (1-65535), a
// path (at least "/"), no userinfo, no fragment (not even an empty one), no dot segment ("." or "..", also
// percent-encoded), and no query unless rules.allow_query. Under allow_loopback_http, also
// "http://127.0.0.1:PORT/..." and "http://localhost:PORT/..." (port required) and no other http URL. Returns the
// host lower-cased (IPv6 in brackets), for the host policy and the per-host fetch limit; INVALID_ARGUMENT saying
// what is wrong, never repeating the URL.
[[nodiscard]] absl::StatusOr<std::string> CheckCimdUrl(std::string_view url, const CimdUrlRules& rules);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CIMD_URL_H_
