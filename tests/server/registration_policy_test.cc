#include "server/registration_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using clientreg::config::v1::RegistrationPolicy;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void ExpectInvalid(const RegistrationPolicy& policy, const std::string& field) {
  const absl::Status status = ValidateRegistrationPolicy(policy);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("registration." + field));
}

TEST(RegistrationPolicyTest, DefaultsAreTheDocumentedOnesAndValid) {
  const RegistrationPolicy policy = DefaultRegistrationPolicy();
  EXPECT_THAT(policy.default_grant_types(), ElementsAre("authorization_code"));
  EXPECT_EQ(policy.default_token_endpoint_auth_method(), "client_secret_basic");
  EXPECT_FALSE(policy.has_default_scope());
  EXPECT_TRUE(policy.scope_allowlist().empty());
  EXPECT_THAT(policy.allowed_grant_types(), ElementsAre("authorization_code", "refresh_token", "client_credentials"));
  EXPECT_THAT(policy.allowed_token_endpoint_auth_methods(),
              ElementsAre("client_secret_basic", "client_secret_post", "none", "private_key_jwt"));
  EXPECT_TRUE(policy.has_client_secret_lifetime_seconds());
  EXPECT_EQ(policy.client_secret_lifetime_seconds(), 0);
  EXPECT_TRUE(policy.has_require_reverse_domain_schemes());
  EXPECT_FALSE(policy.require_reverse_domain_schemes());
  EXPECT_OK(ValidateRegistrationPolicy(policy));
}

// spec.md §10: the URN grants are supported but off until the deployment enables them.
TEST(RegistrationPolicyTest, UrnGrantTypesCanBeEnabled) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  for (const char* grant :
       {"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer"}) {
    policy.add_allowed_grant_types(grant);
  }
  EXPECT_OK(ValidateRegistrationPolicy(policy));
  // A device-flow deployment may hand out refresh tokens with device codes by default.
  policy.clear_default_grant_types();
  policy.add_default_grant_types("urn:ietf:params:oauth:grant-type:device_code");
  policy.add_default_grant_types("refresh_token");
  policy.set_default_token_endpoint_auth_method("none");
  EXPECT_OK(ValidateRegistrationPolicy(policy));

  policy = DefaultRegistrationPolicy();
  policy.add_allowed_grant_types("urn:ietf:params:oauth:grant-type:saml2-bearer");
  ExpectInvalid(policy, "allowed_grant_types");
  policy = DefaultRegistrationPolicy();
  policy.add_default_grant_types("urn:ietf:params:oauth:grant-type:device_code");
  ExpectInvalid(policy, "default_grant_types");
}

TEST(RegistrationPolicyTest, NarrowingIsAllowed) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.clear_allowed_grant_types();
  policy.add_allowed_grant_types("authorization_code");
  policy.add_allowed_grant_types("refresh_token");
  policy.clear_allowed_token_endpoint_auth_methods();
  policy.add_allowed_token_endpoint_auth_methods("none");
  policy.add_allowed_token_endpoint_auth_methods("client_secret_basic");
  policy.add_default_grant_types("refresh_token");
  policy.add_scope_allowlist("openid");
  policy.add_scope_allowlist("mcp:tools");
  policy.set_default_scope("openid mcp:tools");
  policy.set_client_secret_lifetime_seconds(86400);
  EXPECT_OK(ValidateRegistrationPolicy(policy));
}

TEST(RegistrationPolicyTest, WideningIsRefused) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.add_allowed_grant_types("password");
  ExpectInvalid(policy, "allowed_grant_types");

  policy = DefaultRegistrationPolicy();
  policy.add_allowed_grant_types("implicit");
  ExpectInvalid(policy, "allowed_grant_types");

  policy = DefaultRegistrationPolicy();
  policy.add_allowed_token_endpoint_auth_methods("client_secret_jwt");
  ExpectInvalid(policy, "allowed_token_endpoint_auth_methods");
}

TEST(RegistrationPolicyTest, ListsMustBeNonEmptyAndDistinct) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.clear_allowed_grant_types();
  ExpectInvalid(policy, "allowed_grant_types");

  policy = DefaultRegistrationPolicy();
  policy.clear_allowed_token_endpoint_auth_methods();
  ExpectInvalid(policy, "allowed_token_endpoint_auth_methods");

  policy = DefaultRegistrationPolicy();
  policy.add_allowed_token_endpoint_auth_methods("none");
  ExpectInvalid(policy, "allowed_token_endpoint_auth_methods");

  policy = DefaultRegistrationPolicy();
  policy.clear_default_grant_types();
  ExpectInvalid(policy, "default_grant_types");

  policy = DefaultRegistrationPolicy();
  policy.add_default_grant_types("authorization_code");
  ExpectInvalid(policy, "default_grant_types");
}

TEST(RegistrationPolicyTest, DefaultsMustBeAllowed) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.clear_allowed_grant_types();
  policy.add_allowed_grant_types("client_credentials");
  ExpectInvalid(policy, "default_grant_types");  // authorization_code is no longer allowed

  policy = DefaultRegistrationPolicy();
  policy.clear_allowed_token_endpoint_auth_methods();
  policy.add_allowed_token_endpoint_auth_methods("none");
  ExpectInvalid(policy, "default_token_endpoint_auth_method");

  policy = DefaultRegistrationPolicy();
  policy.clear_default_token_endpoint_auth_method();
  ExpectInvalid(policy, "default_token_endpoint_auth_method");
}

TEST(RegistrationPolicyTest, DefaultGrantTypesMustBeConsistent) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.clear_default_grant_types();
  policy.add_default_grant_types("refresh_token");
  ExpectInvalid(policy, "default_grant_types");

  policy = DefaultRegistrationPolicy();
  policy.add_default_grant_types("client_credentials");
  policy.set_default_token_endpoint_auth_method("none");
  ExpectInvalid(policy, "default_grant_types");
}

TEST(RegistrationPolicyTest, ScopesMustBeValidAndWithinTheAllowlist) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.add_scope_allowlist("has space");
  ExpectInvalid(policy, "scope_allowlist");

  policy = DefaultRegistrationPolicy();
  policy.add_scope_allowlist("");
  ExpectInvalid(policy, "scope_allowlist");

  for (const char* scope : {"", " openid", "openid ", "a  b", "a\"b", "a\\b"}) {
    policy = DefaultRegistrationPolicy();
    policy.set_default_scope(scope);
    ExpectInvalid(policy, "default_scope");
  }

  policy = DefaultRegistrationPolicy();
  policy.set_default_scope("openid profile");
  EXPECT_OK(ValidateRegistrationPolicy(policy));  // no allowlist: any valid scope
  policy.add_scope_allowlist("openid");
  ExpectInvalid(policy, "default_scope");  // profile is outside the allowlist
}

TEST(RegistrationPolicyTest, NegativeSecretLifetimeIsRefused) {
  RegistrationPolicy policy = DefaultRegistrationPolicy();
  policy.set_client_secret_lifetime_seconds(-1);
  ExpectInvalid(policy, "client_secret_lifetime_seconds");
}

TEST(ScopeSyntaxTest, FollowsRfc6749Section3_3) {
  for (const char* scope : {"openid", "openid profile email", "mcp:tools read/write", "!#$[]^~", "a b a"}) {
    EXPECT_TRUE(IsValidScope(scope)) << scope;
  }
  for (const char* scope : {"", " ", " a", "a ", "a  b", "a\tb", "a\"b", "a\\b", "caf\xc3\xa9", "a\x7f", "a\nb"}) {
    EXPECT_FALSE(IsValidScope(scope)) << scope;
  }
  EXPECT_TRUE(IsScopeToken("x"));
  EXPECT_FALSE(IsScopeToken(""));
  EXPECT_FALSE(IsScopeToken("a b"));
}

}  // namespace
}  // namespace clientreg::server
