// Initial access tokens in the server: the modes, the one invalid-token status, static tokens from the config,
// the admin operations, the token policy, and registration through the Registrar with a real RocksDB store.
#include "server/initial_access_tokens.h"

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/admin.pb.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/grpc_status.h"
#include "server/metadata_validator.h"
#include "server/registrar.h"
#include "server/server_config.h"
#include "tests/server/status_details.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::ErrorCode;
using ::clientreg::testing::ErrorField;
using ::clientreg::testing::kNow;
using ::clientreg::testing::kServerKey;
using ::clientreg::testing::RunConcurrently;
using ::clientreg::testing::WireForm;
using ::clientreg::v1::ClientMetadata;
using ::clientreg::v1::CreateInitialAccessTokenRequest;
using ::clientreg::v1::InitialAccessTokenPolicy;
using ::testing::HasSubstr;

constexpr char kStaticToken[] = "static-token-0123456789-abcdefghijklmnop";

ClientMetadata AppMetadata(const std::string& redirect_uri = "https://app.example/cb") {
  ClientMetadata metadata;
  metadata.mutable_redirect_uris()->add_values(redirect_uri);
  metadata.set_client_name("App");
  return metadata;
}

class InitialAccessTokensTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    config_ = DefaultServerConfig();
    Build("optional");
  }

  void TearDown() override {
    registrar_.reset();
    tokens_.reset();
    ClientStoreFixture::TearDown();
  }

  // (Re)builds the tokens and the Registrar, as ServerApp does, with `mode` and config_'s static tokens.
  void Build(const std::string& mode) {
    config_.mutable_initial_access_tokens()->set_mode(mode);
    ASSERT_OK(ValidateServerConfig(config_));
    ASSERT_OK_AND_ASSIGN(
        tokens_, InitialAccessTokens::Create(store_.get(), &clock_, config_.initial_access_tokens(), kServerKey));
    registrar_ =
        std::make_unique<Registrar>(store_.get(), &clock_, MetadataValidator(config_.limits(), config_.registration()),
                                    RegistrarOptions(config_, kServerKey));
  }

  // A stored token made through the admin operation; returns (plaintext, id).
  std::pair<std::string, std::string> NewToken(uint32_t max_uses = 0, int64_t expires_in = 0,
                                               const InitialAccessTokenPolicy& policy = {}) {
    CreateInitialAccessTokenRequest request;
    request.set_label("partner-a");
    request.set_max_uses(max_uses);
    request.set_expires_in_seconds(expires_in);
    *request.mutable_policy() = policy;
    absl::StatusOr<clientreg::v1::CreateInitialAccessTokenResponse> created = tokens_->CreateToken(request);
    EXPECT_OK(created);
    if (!created.ok()) return {};
    return {created->initial_access_token(), created->token().id()};
  }

  // Check, then Register under the grant: what RegistrationService::Register does.
  absl::StatusOr<clientreg::v1::ClientInformation> RegisterWith(const std::optional<std::string>& token,
                                                                const ClientMetadata& metadata = AppMetadata()) {
    ASSIGN_OR_RETURN(const TokenGrant grant, tokens_->Check(token));
    return registrar_->Register(metadata, grant);
  }

  clientreg::config::v1::ServerConfig config_;
  std::unique_ptr<InitialAccessTokens> tokens_;
  std::unique_ptr<Registrar> registrar_;
};

TEST(InitialAccessTokensConfigTest, ModesParseAndBadValuesAreNamed) {
  EXPECT_EQ(ParseInitialAccessTokenMode("open").value(), InitialAccessTokenMode::kOpen);
  EXPECT_EQ(ParseInitialAccessTokenMode("optional").value(), InitialAccessTokenMode::kOptional);
  EXPECT_EQ(ParseInitialAccessTokenMode("required").value(), InitialAccessTokenMode::kRequired);
  EXPECT_THAT(std::string(ParseInitialAccessTokenMode("Required").status().message()),
              HasSubstr("initial_access_tokens.mode"));

  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  EXPECT_EQ(config.initial_access_tokens().mode(), "open");
  auto* token = config.mutable_initial_access_tokens()->add_static_tokens();
  token->set_token("too-short");
  const absl::Status short_token = ValidateServerConfig(config);
  EXPECT_THAT(std::string(short_token.message()), HasSubstr("static_tokens[0].token"));
  EXPECT_THAT(std::string(short_token.message()), ::testing::Not(HasSubstr("too-short")));
  token->set_token(std::string(kStaticToken) + " space");
  EXPECT_FALSE(ValidateServerConfig(config).ok());
  token->set_token(kStaticToken);
  EXPECT_OK(ValidateServerConfig(config));
  config.mutable_initial_access_tokens()->add_static_tokens()->set_token(kStaticToken);
  EXPECT_THAT(std::string(ValidateServerConfig(config).message()), HasSubstr("listed twice"));
}

TEST(InitialAccessTokensConfigTest, RedactedConfigHoldsNoStaticToken) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  auto* token = config.mutable_initial_access_tokens()->add_static_tokens();
  token->set_token(kStaticToken);
  token->set_label("ci");
  const clientreg::config::v1::ServerConfig redacted = RedactedServerConfig(config);
  EXPECT_EQ(redacted.initial_access_tokens().static_tokens(0).token(), "<redacted>");
  EXPECT_EQ(redacted.initial_access_tokens().static_tokens(0).label(), "ci");
  EXPECT_EQ(redacted.DebugString().find(kStaticToken), std::string::npos);
}

TEST_F(InitialAccessTokensTest, OpenModeAsksForNothingAndIgnoresAnyToken) {
  Build("open");
  ASSERT_OK_AND_ASSIGN(const TokenGrant none, tokens_->Check(std::nullopt));
  EXPECT_FALSE(none.authenticated);
  ASSERT_OK_AND_ASSIGN(const TokenGrant wrong, tokens_->Check(std::string("wrong")));
  EXPECT_FALSE(wrong.authenticated);
}

TEST_F(InitialAccessTokensTest, OptionalModeIsOpenWithoutATokenAndRefusesABadOne) {
  ASSERT_OK_AND_ASSIGN(const TokenGrant none, tokens_->Check(std::nullopt));
  EXPECT_FALSE(none.authenticated);
  const absl::Status wrong = tokens_->Check(std::string("wrong")).status();
  EXPECT_TRUE(absl::IsUnauthenticated(wrong));
  EXPECT_EQ(ErrorCode(wrong), common::kInvalidToken);
  // A malformed Authorization field reaches the server as an empty token.
  EXPECT_EQ(WireForm(tokens_->Check(std::string()).status()), WireForm(wrong));

  const auto [token, id] = NewToken();
  ASSERT_OK_AND_ASSIGN(const TokenGrant grant, tokens_->Check(token));
  EXPECT_TRUE(grant.authenticated);
  EXPECT_TRUE(grant.counted);
  EXPECT_EQ(grant.token_id, id);
  EXPECT_EQ(grant.label, "partner-a");
}

TEST_F(InitialAccessTokensTest, RequiredModeRefusesAMissingTokenWithoutAnErrorCode) {
  Build("required");
  const absl::Status missing = tokens_->Check(std::nullopt).status();
  EXPECT_TRUE(absl::IsUnauthenticated(missing));
  // RFC 6750 §3.1: no error code when no credentials were sent.
  EXPECT_FALSE(common::GetRegistrationError(missing).has_value());
  EXPECT_TRUE(absl::IsUnauthenticated(RegisterWith(std::nullopt).status()));
  EXPECT_EQ(store_->CountClients()->active, 0);
}

// Wrong, expired, used up and revoked: one status, byte for byte, to a gRPC caller.
TEST_F(InitialAccessTokensTest, EveryInvalidTokenGetsTheSameStatus) {
  Build("required");
  const auto wrong = WireForm(RegisterWith(std::string("not-a-token-we-issued")).status());
  EXPECT_EQ(std::get<0>(wrong), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));

  const auto [expiring, expiring_id] = NewToken(0, 60);
  const auto [one_use, one_use_id] = NewToken(1);
  const auto [revoked, revoked_id] = NewToken();
  ASSERT_OK(RegisterWith(one_use).status());
  ASSERT_OK(tokens_->RevokeToken(revoked_id).status());
  clock_.Advance(60);
  EXPECT_EQ(WireForm(RegisterWith(expiring).status()), wrong);
  EXPECT_EQ(WireForm(RegisterWith(one_use).status()), wrong);
  EXPECT_EQ(WireForm(RegisterWith(revoked).status()), wrong);
  EXPECT_EQ(store_->CountClients()->active, 1);
}

TEST_F(InitialAccessTokensTest, ClientRecordsTheLabelAndIdAndTheUseIsCounted) {
  const auto [token, id] = NewToken(3);
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientInformation info, RegisterWith(token));
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::StoredClient stored, store_->Get(info.client_id()));
  EXPECT_EQ(stored.initial_access_token_id(), id);
  EXPECT_EQ(stored.initial_access_token_label(), "partner-a");
  EXPECT_EQ(stored.DebugString().find(token), std::string::npos);
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ListInitialAccessTokensResponse listed, tokens_->ListTokens());
  ASSERT_EQ(listed.tokens_size(), 1);
  EXPECT_EQ(listed.tokens(0).uses(), 1u);
  EXPECT_EQ(listed.tokens(0).max_uses(), 3u);
  // An anonymous registration records no token.
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientInformation anonymous, RegisterWith(std::nullopt));
  EXPECT_EQ(store_->Get(anonymous.client_id())->initial_access_token_label(), "");
}

TEST_F(InitialAccessTokensTest, StaticTokensAreHashedAtLoadListedAndNotRevocable) {
  auto* configured = config_.mutable_initial_access_tokens()->add_static_tokens();
  configured->set_token(kStaticToken);
  configured->set_label("ci");
  configured->mutable_policy()->add_allowed_redirect_hosts("app.example");
  Build("required");
  ASSERT_OK_AND_ASSIGN(const TokenGrant grant, tokens_->Check(std::string(kStaticToken)));
  EXPECT_TRUE(grant.authenticated);
  EXPECT_FALSE(grant.counted);
  EXPECT_EQ(grant.token_id, "config-1");
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientInformation info, RegisterWith(std::string(kStaticToken)));
  EXPECT_EQ(store_->Get(info.client_id())->initial_access_token_label(), "ci");
  EXPECT_EQ(ErrorCode(RegisterWith(std::string(kStaticToken), AppMetadata("https://evil.example/cb")).status()),
            common::kInvalidRedirectUri);

  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ListInitialAccessTokensResponse listed, tokens_->ListTokens());
  ASSERT_EQ(listed.tokens_size(), 1);
  EXPECT_TRUE(listed.tokens(0).from_config());
  EXPECT_EQ(listed.tokens(0).label(), "ci");
  EXPECT_EQ(listed.DebugString().find(kStaticToken), std::string::npos);
  EXPECT_TRUE(absl::IsFailedPrecondition(tokens_->RevokeToken("config-1").status()));
  EXPECT_TRUE(absl::IsNotFound(tokens_->RevokeToken("nope").status()));
}

TEST_F(InitialAccessTokensTest, CreateValidatesItsArguments) {
  CreateInitialAccessTokenRequest request;
  request.set_label(std::string(201, 'x'));
  EXPECT_TRUE(absl::IsInvalidArgument(tokens_->CreateToken(request).status()));
  request.set_label("ok");
  request.set_expires_in_seconds(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(tokens_->CreateToken(request).status()));
  request.set_expires_in_seconds(0);
  request.mutable_policy()->set_scope_ceiling("a  b");
  EXPECT_TRUE(absl::IsInvalidArgument(tokens_->CreateToken(request).status()));
  request.mutable_policy()->set_scope_ceiling("a b");
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::CreateInitialAccessTokenResponse created, tokens_->CreateToken(request));
  // 256 bits, base64url (spec.md §7).
  EXPECT_EQ(created.initial_access_token().size(), 43u);
  EXPECT_EQ(created.token().expires_at(), 0);
  EXPECT_EQ(created.token().created_at(), kNow);
}

TEST_F(InitialAccessTokensTest, PolicyViolationsNameTheRule) {
  InitialAccessTokenPolicy policy;
  policy.add_allowed_redirect_hosts("App.Example");
  policy.add_allowed_grant_types("authorization_code");
  policy.set_scope_ceiling("read write");
  const auto [token, id] = NewToken(0, 0, policy);

  ClientMetadata within = AppMetadata("https://app.example/cb");
  within.set_scope("read");
  EXPECT_OK(RegisterWith(token, within).status());

  ClientMetadata other_host = AppMetadata("https://app.example/cb");
  other_host.mutable_redirect_uris()->add_values("https://other.example/cb");
  const absl::Status host = RegisterWith(token, other_host).status();
  EXPECT_EQ(ErrorCode(host), common::kInvalidRedirectUri);
  EXPECT_EQ(ErrorField(host), "redirect_uris[1]");
  EXPECT_THAT(std::string(host.message()), HasSubstr("allowed_redirect_hosts"));

  ClientMetadata refresh = AppMetadata();
  refresh.mutable_grant_types()->add_values("authorization_code");
  refresh.mutable_grant_types()->add_values("refresh_token");
  const absl::Status grant = RegisterWith(token, refresh).status();
  EXPECT_EQ(ErrorCode(grant), common::kInvalidClientMetadata);
  EXPECT_EQ(ErrorField(grant), "grant_types");
  EXPECT_THAT(std::string(grant.message()), HasSubstr("allowed_grant_types"));

  ClientMetadata admin_scope = AppMetadata();
  admin_scope.set_scope("read admin");
  const absl::Status scope = RegisterWith(token, admin_scope).status();
  EXPECT_EQ(ErrorCode(scope), common::kInvalidClientMetadata);
  EXPECT_EQ(ErrorField(scope), "scope");
  EXPECT_THAT(std::string(scope.message()), HasSubstr("scope_ceiling"));
  // A refused registration uses nothing up.
  EXPECT_EQ(tokens_->ListTokens()->tokens(0).uses(), 1u);
  // Without the token the open rules apply (optional mode).
  EXPECT_OK(RegisterWith(std::nullopt, other_host).status());
}

// Many threads present a one-use token at once, through the token check and the Registrar: exactly one client.
TEST_F(InitialAccessTokensTest, ConcurrentRegistrationsWithAOneUseTokenRegisterExactlyOne) {
  Build("required");
  constexpr int kThreads = 24;
  const auto [token, id] = NewToken(1);
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  RunConcurrently(kThreads, [&, token = token](int) {
    const absl::Status status = RegisterWith(token).status();
    if (status.ok()) ++created;
    if (absl::IsUnauthenticated(status) && ErrorCode(status) == common::kInvalidToken) ++refused;
  });
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(store_->CountClients()->active, 1);
  EXPECT_EQ(tokens_->ListTokens()->tokens(0).uses(), 1u);
}

// The plaintext token is in no log line of its whole life, while the lines about it are there.
TEST_F(InitialAccessTokensTest, TokenNeverReachesTheLog) {
  ::testing::internal::CaptureStderr();
  const auto [token, id] = NewToken(1);
  ASSERT_OK(RegisterWith(token).status());
  EXPECT_FALSE(RegisterWith(token).ok());
  ASSERT_OK(tokens_->RevokeToken(id).status());
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("initial_access_token_created"));
  EXPECT_THAT(log, HasSubstr("initial_access_token_revoked"));
  EXPECT_THAT(log, HasSubstr("client_registered"));
  EXPECT_EQ(log.find(token), std::string::npos) << log;
}

}  // namespace
}  // namespace clientreg::server
