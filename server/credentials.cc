#include "server/credentials.h"

#include "common/secrets.h"
#include "common/status_macros.h"

namespace clientreg::server {

bool UsesClientSecret(std::string_view token_endpoint_auth_method) {
  return token_endpoint_auth_method == "client_secret_basic" || token_endpoint_auth_method == "client_secret_post";
}

absl::StatusOr<IssuedCredential> IssueCredential(std::string_view server_key) {
  IssuedCredential credential;
  // spec.md §7: 256 bits from RAND_bytes; RFC 6819 §5.1.4.1.3: only a keyed digest is stored.
  ASSIGN_OR_RETURN(credential.plaintext, common::RandomToken());
  ASSIGN_OR_RETURN(credential.digest, common::HmacSha256(server_key, credential.plaintext));
  return credential;
}

int64_t SecretExpiresAt(int64_t now, int64_t lifetime_seconds) {
  return lifetime_seconds > 0 ? now + lifetime_seconds : 0;
}

}  // namespace clientreg::server
