#ifndef CLIENTREG_SERVER_CREDENTIALS_H_
#define CLIENTREG_SERVER_CREDENTIALS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clientreg::server {

// Whether `token_endpoint_auth_method` authenticates with a client secret, so that one is issued.
bool UsesClientSecret(std::string_view token_endpoint_auth_method);

// A freshly drawn secret or token: the plaintext, shown once, and its digest under the server key, stored.
struct IssuedCredential {
  std::string plaintext;
  std::string digest;
};

// Draws common::kTokenBytes random bytes (base64url) and digests them with HmacSha256(server_key, ·). Internal if
// the CSPRNG or the HMAC fails. Serves client secrets and registration access tokens alike.
[[nodiscard]] absl::StatusOr<IssuedCredential> IssueCredential(std::string_view server_key);

// The client_secret_expires_at of a secret issued at `now` (seconds since the epoch): 0, meaning never (RFC 7591
// §3.2.1), when `lifetime_seconds` is 0, else now + lifetime_seconds.
int64_t SecretExpiresAt(int64_t now, int64_t lifetime_seconds);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CREDENTIALS_H_
