#include "server/registration_policy.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace clientreg::server {
namespace {

using clientreg::config::v1::RegistrationPolicy;
using google::protobuf::RepeatedPtrField;

template <size_t N>
bool IsSupported(const std::string_view (&supported)[N], const std::string& value) {
  return std::find(std::begin(supported), std::end(supported), value) != std::end(supported);
}

template <size_t N>
std::string JoinAll(const std::string_view (&values)[N]) {
  std::string joined;
  for (const std::string_view value : values) {
    if (!joined.empty()) joined += ", ";
    joined += value;
  }
  return joined;
}

bool Contains(const RepeatedPtrField<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// A non-empty list without duplicates whose entries pass `allowed`; `what` says what `allowed` means.
template <typename Predicate>
absl::Status CheckList(const char* field, const RepeatedPtrField<std::string>& list, Predicate allowed,
                       const std::string& what) {
  if (list.empty()) return absl::InvalidArgumentError(absl::StrCat("registration.", field, " must not be empty"));
  std::set<std::string> seen;
  for (const std::string& value : list) {
    if (!allowed(value)) {
      return absl::InvalidArgumentError(absl::StrCat("registration.", field, ": '", value, "' is not ", what));
    }
    if (!seen.insert(value).second) {
      return absl::InvalidArgumentError(absl::StrCat("registration.", field, ": '", value, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

RegistrationPolicy DefaultRegistrationPolicy() {
  RegistrationPolicy policy;
  policy.add_default_grant_types(std::string(kAuthorizationCodeGrant));
  policy.set_default_token_endpoint_auth_method("client_secret_basic");
  for (const std::string_view grant : kDefaultAllowedGrantTypes) policy.add_allowed_grant_types(std::string(grant));
  for (const std::string_view method : kSupportedTokenEndpointAuthMethods) {
    policy.add_allowed_token_endpoint_auth_methods(std::string(method));
  }
  policy.set_client_secret_lifetime_seconds(0);
  policy.set_require_reverse_domain_schemes(false);
  return policy;
}

absl::Status ValidateRegistrationPolicy(const RegistrationPolicy& policy) {
  RETURN_IF_ERROR(CheckList(
      "allowed_grant_types", policy.allowed_grant_types(),
      [](const std::string& grant) { return IsSupported(kSupportedGrantTypes, grant); },
      "a supported grant type (" + JoinAll(kSupportedGrantTypes) + ")"));
  RETURN_IF_ERROR(CheckList(
      "allowed_token_endpoint_auth_methods", policy.allowed_token_endpoint_auth_methods(),
      [](const std::string& method) { return IsSupported(kSupportedTokenEndpointAuthMethods, method); },
      "a supported method (" + JoinAll(kSupportedTokenEndpointAuthMethods) + ")"));
  RETURN_IF_ERROR(CheckList(
      "default_grant_types", policy.default_grant_types(),
      [&](const std::string& grant) { return Contains(policy.allowed_grant_types(), grant); },
      std::string("in allowed_grant_types")));

  if (!policy.has_default_token_endpoint_auth_method()) {
    return absl::InvalidArgumentError("registration.default_token_endpoint_auth_method must be set");
  }
  const std::string& method = policy.default_token_endpoint_auth_method();
  if (!Contains(policy.allowed_token_endpoint_auth_methods(), method)) {
    return absl::InvalidArgumentError(absl::StrCat("registration.default_token_endpoint_auth_method: '", method,
                                                   "' is not in allowed_token_endpoint_auth_methods"));
  }
  // A default that every request omitting grant_types would fail on is a configuration error, not a client's.
  const auto& defaults = policy.default_grant_types();
  if (Contains(defaults, kRefreshTokenGrant) && !Contains(defaults, kAuthorizationCodeGrant) &&
      !Contains(defaults, kDeviceCodeGrant)) {
    return absl::InvalidArgumentError(
        "registration.default_grant_types: refresh_token needs authorization_code or device_code beside it");
  }
  if (Contains(defaults, kClientCredentialsGrant) && method == "none") {
    return absl::InvalidArgumentError(
        "registration.default_grant_types: client_credentials needs a confidential default "
        "token_endpoint_auth_method, not 'none' (RFC 6749 section 4.4)");
  }

  std::set<std::string> allowlist;
  for (const std::string& token : policy.scope_allowlist()) {
    if (!IsScopeToken(token)) {
      return absl::InvalidArgumentError(
          absl::StrCat("registration.scope_allowlist: '", token, "' is not a scope token (RFC 6749 section 3.3)"));
    }
    allowlist.insert(token);
  }
  if (policy.has_default_scope()) {
    if (!IsValidScope(policy.default_scope())) {
      return absl::InvalidArgumentError(
          "registration.default_scope is not scope tokens joined by single spaces (RFC 6749 section 3.3)");
    }
    if (!allowlist.empty()) {
      for (const absl::string_view token : absl::StrSplit(policy.default_scope(), ' ')) {
        if (allowlist.count(std::string(token)) == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("registration.default_scope: '", token, "' is not in scope_allowlist"));
        }
      }
    }
  }
  if (policy.client_secret_lifetime_seconds() < 0) {
    return absl::InvalidArgumentError("registration.client_secret_lifetime_seconds must not be negative");
  }
  return absl::OkStatus();
}

bool IsScopeToken(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
  });
}

bool IsValidScope(std::string_view scope) {
  while (true) {
    const size_t space = scope.find(' ');
    if (!IsScopeToken(scope.substr(0, space))) return false;
    if (space == std::string_view::npos) return true;
    scope.remove_prefix(space + 1);
  }
}

}  // namespace clientreg::server
