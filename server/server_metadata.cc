#include "server/server_metadata.h"

#include <algorithm>
#include <string>

#include "server/server_config.h"

namespace clientreg::server {

clientreg::v1::ServerMetadata BuildServerMetadata(const clientreg::config::v1::ServerConfig& config) {
  const clientreg::config::v1::RegistrationPolicy& policy = config.registration();
  const clientreg::config::v1::DiscoveryConfig& discovery = config.discovery();

  clientreg::v1::ServerMetadata metadata;
  // RFC 8414 §3.3, OIDC Discovery §4.3: clients reject a document whose issuer is not identical to the one they
  // started from, so it is copied, never rebuilt.
  metadata.set_issuer(config.issuer());
  metadata.set_registration_endpoint(RegistrationEndpoint(config));
  metadata.set_authorization_endpoint(AuthorizationEndpoint(config));
  metadata.set_token_endpoint(TokenEndpoint(config));
  metadata.set_jwks_uri(JwksUri(config));
  // spec.md §10: Register accepts response_types ["code"] or [] only; "code" is the one to advertise.
  metadata.add_response_types_supported("code");
  // RFC 8414 §2's default for grant_types_supported includes implicit, so the list is always explicit; it and the
  // auth methods are what the validator accepts (spec.md §3: publish what registration accepts).
  *metadata.mutable_grant_types_supported() = policy.allowed_grant_types();
  *metadata.mutable_token_endpoint_auth_methods_supported() = policy.allowed_token_endpoint_auth_methods();
  // RFC 8414 §2: required when private_key_jwt is listed, and "none" MUST NOT appear in it.
  const auto& methods = policy.allowed_token_endpoint_auth_methods();
  if (std::find(methods.begin(), methods.end(), "private_key_jwt") != methods.end()) {
    for (const std::string& alg : discovery.token_endpoint_auth_signing_alg_values_supported()) {
      if (alg != "none") metadata.add_token_endpoint_auth_signing_alg_values_supported(alg);
    }
  }
  // RFC 8414 §2: an omitted list means no PKCE; MCP clients require S256.
  metadata.add_code_challenge_methods_supported("S256");
  *metadata.mutable_scopes_supported() = policy.scope_allowlist();
  *metadata.mutable_subject_types_supported() = discovery.subject_types_supported();
  *metadata.mutable_id_token_signing_alg_values_supported() = discovery.id_token_signing_alg_values_supported();
  // CIMD §5: only when https client_ids really resolve.
  metadata.set_client_id_metadata_document_supported(config.cimd().enabled());
  return metadata;
}

}  // namespace clientreg::server
