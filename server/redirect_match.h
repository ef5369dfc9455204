#ifndef CLIENTREG_SERVER_REDIRECT_MATCH_H_
#define CLIENTREG_SERVER_REDIRECT_MATCH_H_

#include <string>
#include <string_view>

#include "clientreg/v1/directory.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace clientreg::server {

// Whether `candidate`, the redirect_uri of an authorization request exactly as received, may be used with a client
// that registered `registered` and has `application_type` ("native", "web", or empty, which means web: OpenID
// Connect Registration §2). Pure: no I/O, no state.
//
// Allowed, with the registered URI it matched:
// - REASON_EXACT_MATCH when it is byte for byte one of `registered` (RFC 3986 §6.2.1 simple string comparison:
//   no case folding of scheme or host, no percent-decoding, no default-port or trailing-slash changes; RFC 9700
//   §2.1 and spec.md §6 step 7 ask for exact matching).
// - REASON_LOOPBACK_PORT_MATCH, for a native client only, when a registered URI is http on a loopback host
//   (127.0.0.1, [::1] or localhost) and `candidate` differs from it in its port alone (RFC 8252 §7.3): scheme,
//   host, path and query are identical strings, neither has userinfo, and the candidate's port is any port from 0 to
//   65535 or none, whether or not the registered URI has one. `localhost` gets the same port freedom as the IP
//   literals (RFC 9700 §2.1 names "localhost redirect URIs of native apps"; MCP clients register
//   http://localhost:PORT/callback and listen where they can), but a host never matches another spelling of
//   loopback: localhost, 127.0.0.1 and [::1] are three different hosts here.
// Refused:
// - REASON_INVALID_URI when `candidate` is not an RFC 3986 absolute URI, or has a fragment (RFC 6749 §3.1.2), or
//   a port above 65535.
// - REASON_NOT_REGISTERED otherwise (a web client's loopback URI with another port included).
// `explanation` says why in one sentence, for people; it never repeats `candidate`.
clientreg::v1::CheckRedirectUriResponse MatchRedirectUri(
    const google::protobuf::RepeatedPtrField<std::string>& registered, std::string_view application_type,
    std::string_view candidate);

// MatchRedirectUri for a stored client: REASON_CLIENT_DISABLED (refused) when the client is not active, whatever
// `candidate` is; otherwise the answer for its redirect URIs and application_type.
clientreg::v1::CheckRedirectUriResponse MatchClientRedirectUri(const clientreg::v1::StoredClient& client,
                                                               std::string_view candidate);

// The consent-screen facts of directory.proto's ResolvedClient, from the client's redirect URIs: the distinct hosts,
// lower-cased, in registration order (a URI without a host adds none), and whether every URI (at least one) is on a
// loopback host (server/uri.h IsLoopbackHost).
void SetRedirectFacts(const google::protobuf::RepeatedPtrField<std::string>& uris,
                      clientreg::v1::ResolvedClient& resolved);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REDIRECT_MATCH_H_
