// The authorization server's view end to end: an agent registers through the real gateway over HTTP, the
// authorization server resolves the client and checks redirect URIs over gRPC (and an operator through the shipped
// clientreg-admin binary), the agent deletes its registration (RFC 7592), and from then on the client is NOT_FOUND,
// on which the authorization server answers invalid_client and the agent registers again.
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/e2e/directory_fixture.h"
#include "tests/e2e/json_view.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::ResolveClientRequest;
using ::clientreg::v1::ResolvedClient;

// What Claude Code sends: a public client on loopback, under two spellings of it.
constexpr char kAgentRegistration[] =
    R"({"client_name":"E2E agent","redirect_uris":["http://localhost:54321/callback",)"
    R"("http://127.0.0.1:54321/callback"],"grant_types":["authorization_code","refresh_token"],)"
    R"("response_types":["code"],"token_endpoint_auth_method":"none"})";
// A web application: https only.
constexpr char kWebRegistration[] = R"({"client_name":"E2E web","redirect_uris":["https://app.example/cb"]})";

class DirectoryE2eTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(Start());
  }
};

// The server reaps clients never used a second after their registration, checking every second.
class ReaperE2eTest : public DirectoryE2eTest {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    server_config_.mutable_lifecycle()->set_reap_never_used_after_seconds(1);
    server_config_.mutable_lifecycle()->set_reap_interval_seconds(1);
    ASSERT_NO_FATAL_FAILURE(Start());
  }
};

TEST_F(DirectoryE2eTest, RegisterResolveCheckDeleteThenNotFound) {
  const JsonView registered(Register(kAgentRegistration));
  ASSERT_TRUE(registered.valid());
  const std::string client_id = registered.String("client_id").value_or("");
  const std::string token = registered.String("registration_access_token").value_or("");
  ASSERT_FALSE(client_id.empty());
  ASSERT_FALSE(token.empty());

  // The authorization server on /authorize: resolve (recording the use), then check the redirect URI.
  ResolvedClient resolved;
  const grpc::Status resolve = Resolve(client_id, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  ASSERT_TRUE(resolve.ok()) << resolve.error_message();
  EXPECT_EQ(resolved.client_id(), client_id);
  EXPECT_EQ(resolved.metadata().client_name(), "E2E agent");
  EXPECT_EQ(resolved.metadata().application_type(), "native") << "inferred: every redirect URI is loopback";
  EXPECT_EQ(resolved.metadata().token_endpoint_auth_method(), "none");
  EXPECT_FALSE(resolved.has_client_secret());
  EXPECT_EQ(resolved.state(), clientreg::v1::StoredClient::STATE_ACTIVE);
  EXPECT_EQ(resolved.origin(), clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
  EXPECT_EQ(resolved.client_id_issued_at(), registered.Int("client_id_issued_at").value_or(-1));
  EXPECT_GT(resolved.last_used_at(), 0);
  EXPECT_EQ(std::vector<std::string>(resolved.redirect_hosts().begin(), resolved.redirect_hosts().end()),
            (std::vector<std::string>{"localhost", "127.0.0.1"}));
  EXPECT_TRUE(resolved.loopback_redirects_only());

  CheckRedirectUriResponse answer;
  ASSERT_TRUE(Check(client_id, "http://127.0.0.1:54321/callback", &answer).ok());
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_EXACT_MATCH);
  ASSERT_TRUE(Check(client_id, "http://localhost:61000/callback", &answer).ok());
  EXPECT_TRUE(answer.allowed()) << "the agent listens on another port this time";
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH);
  EXPECT_EQ(answer.matched_redirect_uri(), "http://localhost:54321/callback");
  ASSERT_TRUE(Check(client_id, "http://evil.example:54321/callback", &answer).ok());
  EXPECT_FALSE(answer.allowed());
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_NOT_REGISTERED);

  // An operator asks the same through the shipped CLI.
  std::string output;
  EXPECT_EQ(Admin({"--json", "resolve", client_id}, &output), 0) << output;
  EXPECT_NE(output.find(absl::StrCat(R"("client_id":")", client_id, R"(")")), std::string::npos) << output;
  EXPECT_NE(output.find(R"("loopback_redirects_only":true)"), std::string::npos) << output;
  EXPECT_EQ(Admin({"--json", "check-redirect", client_id, "http://127.0.0.1:1234/callback"}, &output), 0) << output;
  EXPECT_NE(output.find(R"("allowed":true)"), std::string::npos) << output;
  EXPECT_NE(output.find(R"("reason":"REASON_LOOPBACK_PORT_MATCH")"), std::string::npos) << output;
  EXPECT_EQ(Admin({"--json", "check-redirect", client_id, "https://evil.example/callback"}, &output), 0) << output;
  EXPECT_NE(output.find(R"("allowed":false)"), std::string::npos) << output;
  EXPECT_EQ(Admin({"check-redirect", client_id, "http://[::1]:54321/callback"}, &output), 0) << output;
  EXPECT_NE(output.find("allowed:     no\nreason:      not_registered\n"), std::string::npos) << output;

  // The agent deletes its registration (RFC 7592 §2.3).
  const std::optional<RawResponse> deleted =
      RoundTrip(http_port(),
                absl::StrCat("DELETE /oauth/register/", client_id,
                             " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ", token, "\r\n\r\n"));
  ASSERT_TRUE(deleted.has_value());
  ASSERT_EQ(deleted->status, 204) << deleted->body;

  // From now on the authorization server answers invalid_client; the agent registers again.
  EXPECT_EQ(Resolve(client_id, ResolveClientRequest::PURPOSE_TOKEN, &resolved).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Check(client_id, "http://127.0.0.1:54321/callback", &answer).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Admin({"resolve", client_id}, &output), 1);
  EXPECT_NE(output.find(absl::StrCat("client '", client_id, "' not found (NOT_FOUND)")), std::string::npos) << output;
  EXPECT_EQ(Admin({"check-redirect", client_id, "http://127.0.0.1:54321/callback"}, &output), 1);

  const JsonView again(Register(kAgentRegistration));
  const std::string new_id = again.String("client_id").value_or("");
  ASSERT_FALSE(new_id.empty());
  EXPECT_NE(new_id, client_id);
  EXPECT_TRUE(Resolve(new_id, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());
}

// A web client registered over HTTP: exact matches only, its loopback tricks refused, its host for the consent
// screen.
TEST_F(DirectoryE2eTest, WebClientGetsExactMatchingOnly) {
  const JsonView registered(Register(kWebRegistration));
  const std::string client_id = registered.String("client_id").value_or("");
  ASSERT_FALSE(client_id.empty());

  ResolvedClient resolved;
  ASSERT_TRUE(Resolve(client_id, ResolveClientRequest::PURPOSE_OTHER, &resolved).ok());
  EXPECT_EQ(resolved.metadata().application_type(), "web");
  EXPECT_TRUE(resolved.has_client_secret());
  EXPECT_EQ(resolved.last_used_at(), 0) << "PURPOSE_OTHER records nothing";
  EXPECT_EQ(std::vector<std::string>(resolved.redirect_hosts().begin(), resolved.redirect_hosts().end()),
            std::vector<std::string>{"app.example"});
  EXPECT_FALSE(resolved.loopback_redirects_only());

  CheckRedirectUriResponse answer;
  for (const char* refused : {"https://APP.example/cb", "https://app.example/cb/", "https://app.example:443/cb",
                              "https://app.example/cb?x=1", "https://app.example@evil.example/cb"}) {
    SCOPED_TRACE(refused);
    ASSERT_TRUE(Check(client_id, refused, &answer).ok());
    EXPECT_FALSE(answer.allowed());
  }
  ASSERT_TRUE(Check(client_id, "https://app.example/cb", &answer).ok());
  EXPECT_TRUE(answer.allowed());
}

// An agent that registers and never comes back is reaped; the one that did use its client keeps it. The reaped
// client is NOT_FOUND to the authorization server (so the agent gets invalid_client and registers again), its id is
// listed with why, and the new registration is a new client.
TEST_F(ReaperE2eTest, UnusedClientIsReapedThenNotFoundAndTheAgentRegistersAnew) {
  const std::string unused = JsonView(Register(kAgentRegistration)).String("client_id").value_or("");
  const std::string used = JsonView(Register(kAgentRegistration)).String("client_id").value_or("");
  ASSERT_FALSE(unused.empty());
  ASSERT_FALSE(used.empty());
  ResolvedClient resolved;
  ASSERT_TRUE(Resolve(used, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());

  // The background reaper takes it within a few passes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  grpc::Status status;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = Resolve(unused, ResolveClientRequest::PURPOSE_OTHER, &resolved);
  } while (status.ok() && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Check(unused, "http://127.0.0.1:54321/callback", &answer).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Resolve(used, ResolveClientRequest::PURPOSE_OTHER, &resolved).ok()) << "a used client stays";

  // Admins see what went, when and why; the CLI's get says so too.
  clientreg::v1::ListReapedClientsResponse reaped;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->ListReapedClients(&context, {}, &reaped).ok());
  }
  ASSERT_EQ(reaped.clients_size(), 1);
  EXPECT_EQ(reaped.clients(0).client_id(), unused);
  EXPECT_EQ(reaped.clients(0).reason(), clientreg::v1::StoredTombstone::REASON_NEVER_USED);
  EXPECT_EQ(reaped.clients(0).client_name(), "E2E agent");
  EXPECT_GT(reaped.clients(0).reaped_at(), 0);
  std::string output;
  EXPECT_EQ(Admin({"get", unused}, &output), 1);
  EXPECT_NE(output.find("was reaped at"), std::string::npos) << output;

  // The agent registers again: a new client, nothing of the old one in it.
  const JsonView again(Register(kAgentRegistration));
  const std::string fresh = again.String("client_id").value_or("");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, unused);
  ASSERT_TRUE(Resolve(fresh, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());
  EXPECT_EQ(resolved.client_id(), fresh);
  EXPECT_GE(resolved.client_id_issued_at(), reaped.clients(0).reaped_at());
}

}  // namespace
}  // namespace clientreg::testing
