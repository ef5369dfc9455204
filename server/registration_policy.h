#ifndef CLIENTREG_SERVER_REGISTRATION_POLICY_H_
#define CLIENTREG_SERVER_REGISTRATION_POLICY_H_

#include <string_view>

#include "absl/status/status.h"
#include "clientreg/config/v1/config.pb.h"

namespace clientreg::server {

inline constexpr std::string_view kAuthorizationCodeGrant = "authorization_code";
inline constexpr std::string_view kRefreshTokenGrant = "refresh_token";
inline constexpr std::string_view kClientCredentialsGrant = "client_credentials";
// RFC 8628 (device authorization), RFC 8693 (token exchange), RFC 7523 §2.1 (JWT authorization grant).
inline constexpr std::string_view kDeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
inline constexpr std::string_view kTokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// What the code supports (spec.md §10). A RegistrationPolicy may narrow these sets, never widen them.
inline constexpr std::string_view kSupportedGrantTypes[] = {kAuthorizationCodeGrant, kRefreshTokenGrant,
                                                            kClientCredentialsGrant, kDeviceCodeGrant,
                                                            kTokenExchangeGrant,     kJwtBearerGrant};
// The grant types allowed when the config names none. The URN grants need an authorization server that implements
// them, so a deployment enables them in allowed_grant_types.
inline constexpr std::string_view kDefaultAllowedGrantTypes[] = {kAuthorizationCodeGrant, kRefreshTokenGrant,
                                                                 kClientCredentialsGrant};
inline constexpr std::string_view kSupportedTokenEndpointAuthMethods[] = {"client_secret_basic", "client_secret_post",
                                                                          "none", "private_key_jwt"};

// The documented defaults: default_grant_types ["authorization_code"], default method "client_secret_basic", no
// default_scope, an empty scope_allowlist (any valid scope), kDefaultAllowedGrantTypes and every supported auth
// method allowed, secrets that never expire (client_secret_lifetime_seconds 0), and private-use redirect schemes
// with or without a period (require_reverse_domain_schemes false).
clientreg::config::v1::RegistrationPolicy DefaultRegistrationPolicy();

// OK if `policy` is complete and only narrows what the code supports: allowed_grant_types and
// allowed_token_endpoint_auth_methods are non-empty subsets of the supported sets without duplicates;
// default_grant_types is a non-empty, duplicate-free subset of allowed_grant_types in which refresh_token comes with
// authorization_code or device_code and client_credentials with a default method other than "none"; the default method
// is set and allowed; scope_allowlist holds scope tokens; default_scope, if set, is a valid scope whose tokens are all
// in the allowlist when there is one; client_secret_lifetime_seconds is not negative. Otherwise INVALID_ARGUMENT whose
// message names the field (`registration.<field>`).
[[nodiscard]] absl::Status ValidateRegistrationPolicy(const clientreg::config::v1::RegistrationPolicy& policy);

// True if `token` is an RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
bool IsScopeToken(std::string_view token);

// True if `scope` is one or more scope-tokens joined by single spaces (RFC 6749 §3.3): no leading, trailing or
// doubled space, and not empty.
bool IsValidScope(std::string_view scope);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_POLICY_H_
