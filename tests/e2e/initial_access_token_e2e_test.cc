// Initial access tokens (RFC 7591 §3, spec.md checklist 43) through the real gateway and server: the 401s of each
// mode, byte-identical for every invalid token, the policy's 400s, the label an admin sees, the last use of a
// one-use token raced over HTTP, and the token absent from every log line.
#include <atomic>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/support/concurrently.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kStaticToken[] = "static-e2e-token-0123456789abcdefghijkl";
constexpr char kBody[] = R"({"redirect_uris":["https://app.example/cb"],"client_name":"App"})";

// The parts of a response that must not differ between two invalid tokens: all but Date and X-Request-Id.
std::string Comparable(const RawResponse& response) {
  std::string text = std::to_string(response.status) + "\n";
  for (const auto& [name, value] : response.headers) {
    if (name == "date" || name == "x-request-id") continue;
    text += name + ": " + value + "\n";
  }
  return text + response.body;
}

class InitialAccessTokenE2eTest : public ServiceFixture {
 protected:
  void Start(const std::string& mode) {
    auto* tokens = server_config_.mutable_initial_access_tokens();
    tokens->set_mode(mode);
    auto* configured = tokens->add_static_tokens();
    configured->set_token(kStaticToken);
    configured->set_label("static-ci");
    StartServer();
    StartGateway();
    admin_ = clientreg::v1::ClientAdmin::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  // POST /oauth/register with `authorization` as the whole Authorization field value (none when empty).
  RawResponse Register(const std::string& authorization, const std::string& body = kBody) {
    const std::string extra = authorization.empty() ? "" : "Authorization: " + authorization + "\r\n";
    const std::optional<RawResponse> response =
        RoundTrip(http_port(), PostRequest("/oauth/register", body, "application/json", extra));
    EXPECT_TRUE(response.has_value());
    return response.value_or(RawResponse());
  }

  // A token from CreateInitialAccessToken: (plaintext, id).
  std::pair<std::string, std::string> CreateToken(uint32_t max_uses, int64_t expires_in = 0,
                                                  const std::string& allowed_host = "") {
    clientreg::v1::CreateInitialAccessTokenRequest request;
    request.set_label("partner-a");
    request.set_max_uses(max_uses);
    request.set_expires_in_seconds(expires_in);
    if (!allowed_host.empty()) request.mutable_policy()->add_allowed_redirect_hosts(allowed_host);
    clientreg::v1::CreateInitialAccessTokenResponse response;
    grpc::ClientContext context;
    const grpc::Status status = admin_->CreateInitialAccessToken(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.initial_access_token(), response.token().id()};
  }

  clientreg::v1::ClientRecord GetClient(const std::string& client_id) {
    clientreg::v1::GetClientRequest request;
    request.set_client_id(client_id);
    clientreg::v1::ClientRecord record;
    grpc::ClientContext context;
    EXPECT_TRUE(admin_->GetClient(&context, request, &record).ok());
    return record;
  }

  std::unique_ptr<clientreg::v1::ClientAdmin::Stub> admin_;
};

TEST_F(InitialAccessTokenE2eTest, RequiredModeMissingTokenGetsABareBearerChallenge) {
  Start("required");
  const RawResponse missing = Register("");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("www-authenticate"), "Bearer");
  EXPECT_EQ(missing.Header("cache-control"), "no-store");
}

// Wrong, malformed, other scheme, expired, used up and revoked: one answer, byte for byte.
TEST_F(InitialAccessTokenE2eTest, EveryInvalidTokenGetsTheIdenticalAnswer) {
  Start("required");
  const auto [one_use, one_use_id] = CreateToken(1);
  const auto [revoked, revoked_id] = CreateToken(0);
  const auto [expiring, expiring_id] = CreateToken(0, 1);
  ASSERT_EQ(Register("Bearer " + one_use).status, 201);
  {
    clientreg::v1::RevokeInitialAccessTokenRequest request;
    request.set_id(revoked_id);
    clientreg::v1::InitialAccessToken token;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->RevokeInitialAccessToken(&context, request, &token).ok());
    EXPECT_TRUE(token.revoked());
  }
  // The server's own clock: the one-second token is past its expiry.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));

  const RawResponse wrong = Register("Bearer not-a-token-anyone-issued");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Header("www-authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(JsonView(wrong.body).String("error").value_or(""), "invalid_token");
  for (const std::string& authorization :
       {"Bearer " + one_use, "Bearer " + revoked, "Bearer " + expiring, std::string("Bearer"),
        std::string("Bearer a b"), std::string("Basic dXNlcjpwYXNz"), "bearer " + one_use}) {
    EXPECT_EQ(Comparable(Register(authorization)), Comparable(wrong)) << authorization;
  }
}

TEST_F(InitialAccessTokenE2eTest, OptionalModeIsOpenWithoutATokenAndRefusesAWrongOne) {
  Start("optional");
  const RawResponse anonymous = Register("");
  ASSERT_EQ(anonymous.status, 201);
  EXPECT_EQ(GetClient(JsonView(anonymous.body).String("client_id").value_or("")).initial_access_token_label(), "");
  EXPECT_EQ(Register("Bearer wrong-token").status, 401);
  const RawResponse with_static = Register(std::string("Bearer ") + kStaticToken);
  ASSERT_EQ(with_static.status, 201);
  const clientreg::v1::ClientRecord record = GetClient(JsonView(with_static.body).String("client_id").value_or(""));
  EXPECT_EQ(record.initial_access_token_label(), "static-ci");
  EXPECT_EQ(record.initial_access_token_id(), "config-1");
}

TEST_F(InitialAccessTokenE2eTest, OpenModeIgnoresAuthorization) {
  Start("open");
  EXPECT_EQ(Register("").status, 201);
  EXPECT_EQ(Register("Bearer wrong-token").status, 201);
}

TEST_F(InitialAccessTokenE2eTest, PolicyViolationIsA400NamingTheRule) {
  Start("required");
  const auto [token, id] = CreateToken(0, 0, "app.example");
  const RawResponse outside =
      Register("Bearer " + token, R"({"redirect_uris":["https://evil.example/cb"],"client_name":"App"})");
  EXPECT_EQ(outside.status, 400);
  EXPECT_EQ(JsonView(outside.body).String("error").value_or(""), "invalid_redirect_uri");
  EXPECT_THAT(JsonView(outside.body).String("error_description").value_or(""), HasSubstr("allowed_redirect_hosts"));
  const RawResponse within = Register("Bearer " + token);
  ASSERT_EQ(within.status, 201);
  const clientreg::v1::ClientRecord record = GetClient(JsonView(within.body).String("client_id").value_or(""));
  EXPECT_EQ(record.initial_access_token_label(), "partner-a");
  EXPECT_EQ(record.initial_access_token_id(), id);
}

// Concurrent POSTs with a one-use token over real HTTP: exactly one 201, every other answer the invalid-token 401.
TEST_F(InitialAccessTokenE2eTest, OneUseTokenRacedOverHttpRegistersExactlyOneClient) {
  Start("required");
  constexpr int kThreads = 16;
  const auto [token, id] = CreateToken(1);
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  RunConcurrently(kThreads, [&, token = token](int) {
    const RawResponse response = Register("Bearer " + token);
    if (response.status == 201) ++created;
    if (response.status == 401 && response.Header("www-authenticate") == "Bearer error=\"invalid_token\"") ++refused;
  });
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  clientreg::v1::ListInitialAccessTokensResponse listed;
  grpc::ClientContext context;
  ASSERT_TRUE(admin_->ListInitialAccessTokens(&context, {}, &listed).ok());
  ASSERT_EQ(listed.tokens_size(), 2);  // the static one, then ours
  EXPECT_EQ(listed.tokens(1).uses(), 1u);
}

// Secret scan of the logs: neither a created token nor a static one appears in any line of either process,
// the start line with the effective config included, while those lines are there.
TEST_F(InitialAccessTokenE2eTest, TokensNeverReachTheLogs) {
  ::testing::internal::CaptureStderr();
  Start("required");
  const auto [token, id] = CreateToken(1);
  EXPECT_EQ(Register("Bearer " + token).status, 201);
  EXPECT_EQ(Register("Bearer " + token).status, 401);
  EXPECT_EQ(Register(std::string("Bearer ") + kStaticToken).status, 201);
  StopGateway();
  StopServer();
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("server_started"));
  // JSON escapes the angle brackets of "<redacted>".
  EXPECT_THAT(log, HasSubstr("redacted"));
  EXPECT_THAT(log, HasSubstr("initial_access_token_created"));
  EXPECT_THAT(log, HasSubstr("client_registered"));
  EXPECT_EQ(log.find(token), std::string::npos);
  EXPECT_EQ(log.find(kStaticToken), std::string::npos);
}

}  // namespace
}  // namespace clientreg::testing
