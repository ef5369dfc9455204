#include "server/caller_authorizer.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/secrets.h"
#include "gtest/gtest.h"
#include "server/server_config.h"
#include "tests/server/caller_support.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::Sha256Hex;

constexpr char kRegistration[] = "clientreg.v1.ClientRegistration";
constexpr char kAuthentication[] = "clientreg.v1.ClientAuthentication";
constexpr char kAdmin[] = "clientreg.v1.ClientAdmin";
constexpr char kOpsToken[] = "ops-token";
constexpr char kAuthzToken[] = "authz-token";

// The policy alone: config.tls only has to be present, ValidateServerConfig (which reads its files) is not run.
clientreg::config::v1::ServerConfig PolicyConfig() {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.mutable_tls()->set_client_ca_file("ca.pem");
  clientreg::config::v1::CallerConfig& gateway = *config.add_callers();
  gateway.set_name("gateway");
  gateway.add_certificate_identities("spiffe://example.org/gateway");
  gateway.add_services(kRegistration);
  clientreg::config::v1::CallerConfig& authz = *config.add_callers();
  authz.set_name("authorization-server");
  authz.add_certificate_identities("authz.example.org");
  authz.add_bearer_token_sha256(Sha256Hex(kAuthzToken));
  authz.add_services(kAuthentication);
  clientreg::config::v1::CallerConfig& ops = *config.add_callers();
  ops.set_name("ops");
  ops.add_bearer_token_sha256(Sha256Hex(kOpsToken));
  ops.add_services(kAdmin);
  ops.add_services(kRegistration);
  return config;
}

CallCredentials Certificate(const std::string& name) { return {{name}, {}}; }
CallCredentials Bearer(const std::string& token) { return {{}, {"Bearer " + token}}; }

TEST(CallerAuthorizerTest, OpenOnlyOnALocalListenerWithoutTlsAndWithoutCallers) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  EXPECT_TRUE(CallerAuthorizer(config).open());
  config.set_listen_address("unix:/run/clientreg.sock");
  EXPECT_TRUE(CallerAuthorizer(config).open());

  clientreg::config::v1::ServerConfig with_callers = PolicyConfig();
  with_callers.clear_tls();
  EXPECT_FALSE(CallerAuthorizer(with_callers).open());

  clientreg::config::v1::ServerConfig with_tls = DefaultServerConfig();
  with_tls.mutable_tls();
  EXPECT_FALSE(CallerAuthorizer(with_tls).open());

  clientreg::config::v1::ServerConfig remote = DefaultServerConfig();
  remote.set_listen_address("0.0.0.0:50051");
  EXPECT_FALSE(CallerAuthorizer(remote).open());
}

TEST(CallerAuthorizerTest, CertificateIdentitiesNameTheirCaller) {
  const CallerAuthorizer callers(PolicyConfig());
  ASSERT_OK_AND_ASSIGN(const std::string gateway,
                       callers.Decide(Certificate("spiffe://example.org/gateway"), kRegistration));
  EXPECT_EQ(gateway, "gateway");
  // Any of the certificate's names may be the listed one.
  ASSERT_OK_AND_ASSIGN(const std::string authz, callers.Decide({{"authz", "authz.example.org"}, {}}, kAuthentication));
  EXPECT_EQ(authz, "authorization-server");
  // Matched exactly: no case folding, no suffix or prefix match.
  EXPECT_TRUE(absl::IsUnauthenticated(callers.Decide(Certificate("AUTHZ.example.org"), kAuthentication).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(callers.Decide(Certificate("x.authz.example.org"), kAuthentication).status()));
  EXPECT_TRUE(
      absl::IsUnauthenticated(callers.Decide(Certificate("spiffe://example.org/gateway/x"), kRegistration).status()));
}

TEST(CallerAuthorizerTest, ACallerOutsideItsServicesIsDeniedByName) {
  const CallerAuthorizer callers(PolicyConfig());
  const absl::Status denied = callers.Decide(Certificate("spiffe://example.org/gateway"), kAdmin).status();
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
  EXPECT_EQ(denied.message(), "caller \"gateway\" may not call clientreg.v1.ClientAdmin");
  EXPECT_TRUE(absl::IsPermissionDenied(callers.Decide(Bearer(kAuthzToken), kAdmin).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(callers.Decide(Bearer(kOpsToken), kAuthentication).status()));
}

TEST(CallerAuthorizerTest, BearerCredentialsMatchTheirDigest) {
  const CallerAuthorizer callers(PolicyConfig());
  ASSERT_OK_AND_ASSIGN(const std::string ops, callers.Decide(Bearer(kOpsToken), kAdmin));
  EXPECT_EQ(ops, "ops");
  // RFC 7235: the scheme is case-insensitive.
  EXPECT_OK(callers.Decide({{}, {std::string("bearer ") + kOpsToken}}, kAdmin).status());
  EXPECT_OK(callers.Decide({{}, {std::string("BEARER ") + kOpsToken}}, kAdmin).status());

  for (const std::string& authorization :
       {std::string("Bearer wrong"), std::string("Bearer ") + kOpsToken + " ", std::string("Bearer "),
        std::string("Basic ") + kOpsToken, std::string(kOpsToken), std::string("Bearer") + kOpsToken,
        Sha256Hex(kOpsToken)}) {
    SCOPED_TRACE(authorization);
    EXPECT_TRUE(absl::IsUnauthenticated(callers.Decide({{}, {authorization}}, kAdmin).status()));
  }
}

TEST(CallerAuthorizerTest, MissingOrConflictingCredentialsAreUnauthenticated) {
  const CallerAuthorizer callers(PolicyConfig());
  const absl::Status none = callers.Decide({}, kRegistration).status();
  EXPECT_TRUE(absl::IsUnauthenticated(none)) << none;
  const absl::Status stranger = callers.Decide(Certificate("stranger.example.org"), kRegistration).status();
  EXPECT_TRUE(absl::IsUnauthenticated(stranger)) << stranger;
  EXPECT_NE(stranger.message().find("stranger.example.org"), absl::string_view::npos) << stranger;
  // A wrong token is never masked by a good certificate, and two credentials must name one caller.
  EXPECT_TRUE(
      absl::IsUnauthenticated(callers.Decide({{"authz.example.org"}, {"Bearer wrong"}}, kAuthentication).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      callers.Decide({{"spiffe://example.org/gateway"}, {std::string("Bearer ") + kOpsToken}}, kRegistration)
          .status()));
  ASSERT_OK_AND_ASSIGN(
      const std::string same,
      callers.Decide({{"authz.example.org"}, {std::string("Bearer ") + kAuthzToken}}, kAuthentication));
  EXPECT_EQ(same, "authorization-server");
  // Two authorization entries are ambiguous.
  EXPECT_TRUE(absl::IsUnauthenticated(
      callers.Decide({{}, {std::string("Bearer ") + kOpsToken, std::string("Bearer ") + kOpsToken}}, kAdmin).status()));
}

// Plain text off the machine would let anyone on the path replay a bearer credential, so the policy itself refuses
// one there (ValidateServerConfig refuses such a listener too).
TEST(CallerAuthorizerTest, BearerOnlyOverTlsOrOnALocalListener) {
  clientreg::config::v1::ServerConfig config = PolicyConfig();
  config.clear_tls();
  EXPECT_OK(CallerAuthorizer(config).Decide(Bearer(kOpsToken), kAdmin).status());
  config.set_listen_address("10.0.0.1:50051");
  const absl::Status refused = CallerAuthorizer(config).Decide(Bearer(kOpsToken), kAdmin).status();
  EXPECT_TRUE(absl::IsUnauthenticated(refused)) << refused;
  config.mutable_tls();
  EXPECT_OK(CallerAuthorizer(config).Decide(Bearer(kOpsToken), kAdmin).status());
}

}  // namespace
}  // namespace clientreg::server
