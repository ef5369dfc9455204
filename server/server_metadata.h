#ifndef CLIENTREG_SERVER_SERVER_METADATA_H_
#define CLIENTREG_SERVER_SERVER_METADATA_H_

#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/registration.pb.h"

namespace clientreg::server {

// The content of the discovery documents (RFC 8414 §2, OpenID Connect Discovery §3) for `config`, which must be
// complete and valid (LoadServerConfig's result): the issuer byte for byte, the registration endpoint
// (RegistrationEndpoint()), the authorization server endpoints from `discovery`, and exactly what Register accepts:
// grant_types_supported and token_endpoint_auth_methods_supported are the policy's allowed lists,
// scopes_supported its scope_allowlist (empty when any scope is accepted), response_types_supported ["code"] and
// code_challenge_methods_supported ["S256"]. token_endpoint_auth_signing_alg_values_supported is the configured
// list, without "none" (RFC 8414 §2), when private_key_jwt is allowed, and empty otherwise. Empty lists are left
// empty so that the documents omit them (RFC 8414 §3.2).
clientreg::v1::ServerMetadata BuildServerMetadata(const clientreg::config::v1::ServerConfig& config);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_SERVER_METADATA_H_
