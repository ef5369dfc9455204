// The open endpoint's policy through the real gateway and server (issue 11): rate limits per client IP, per trusted
// network and per software_id with 429 + Retry-After naming the limit, X-Forwarded-For believed only from a trusted
// proxy, the budget of failed registration access token checks, the client cap with management still working, and
// a valid initial access token exempt from the anonymous limits.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kBody[] = R"({"redirect_uris":["https://app.example/cb"],"client_name":"App"})";

class RateLimitE2eTest : public ServiceFixture {
 protected:
  static void SetBucket(clientreg::config::v1::TokenBucketConfig* bucket, uint32_t burst, uint32_t per_minute) {
    bucket->set_burst(burst);
    bucket->set_refill_per_minute(per_minute);
  }

  void Start() {
    StartServer();
    StartGateway();
  }

  // POST /oauth/register, with these extra header lines.
  RawResponse Register(const std::string& extra_headers = "", const std::string& body = kBody) {
    const std::optional<RawResponse> response =
        RoundTrip(http_port(), PostRequest("/oauth/register", body, "application/json", extra_headers));
    EXPECT_TRUE(response.has_value());
    return response.value_or(RawResponse{});
  }

  static std::string Forwarded(const std::string& address) { return "X-Forwarded-For: " + address + "\r\n"; }

  // The limit a 429 names, after checking that it is a well-formed refusal.
  static std::string RefusedBy(const RawResponse& response) {
    EXPECT_EQ(response.status, 429) << response.body;
    const int retry_after = std::atoi(response.Header("retry-after").c_str());
    EXPECT_GE(retry_after, 1) << response.Header("retry-after");
    EXPECT_LE(retry_after, 60);
    const JsonView json(response.body);
    EXPECT_EQ(json.String("error").value_or(""), "too_many_requests");
    return json.String("limit").value_or("");
  }

  RawResponse Get(const std::string& path, const std::string& token) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token +
                                "\r\nConnection: close\r\n\r\n";
    const std::optional<RawResponse> response = RoundTrip(http_port(), request);
    EXPECT_TRUE(response.has_value());
    return response.value_or(RawResponse{});
  }
};

TEST_F(RateLimitE2eTest, PerClientIpLimitAnswers429WithRetryAfter) {
  SetBucket(server_config_.mutable_rate_limits()->mutable_per_client_ip(), 3, 1);
  Start();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Register().status, 201) << i;
  const RawResponse refused = Register();
  EXPECT_EQ(RefusedBy(refused), "per_client_ip");
  EXPECT_EQ(refused.Header("cache-control"), "no-store");
  // Without a trusted proxy, X-Forwarded-For is the client's own claim and changes nothing.
  EXPECT_EQ(RefusedBy(Register(Forwarded("203.0.113.50"))), "per_client_ip");
}

TEST_F(RateLimitE2eTest, ForwardedForCountsOnlyBehindATrustedProxy) {
  SetBucket(server_config_.mutable_rate_limits()->mutable_per_client_ip(), 2, 1);
  gateway_config_.add_trusted_proxies("127.0.0.0/8");  // the test connects from loopback: it plays the proxy
  Start();
  EXPECT_EQ(Register(Forwarded("203.0.113.1")).status, 201);
  // A client's own forged hop to the left of the proxy's is not believed.
  EXPECT_EQ(Register(Forwarded("198.51.100.9, 203.0.113.1")).status, 201);
  EXPECT_EQ(RefusedBy(Register(Forwarded("203.0.113.1"))), "per_client_ip");
  EXPECT_EQ(Register(Forwarded("203.0.113.2")).status, 201);
  EXPECT_EQ(Register().status, 201);  // the proxy itself, with no header, is one more address
}

TEST_F(RateLimitE2eTest, TrustedNetworksHaveTheirOwnLargerBucket) {
  auto* limits = server_config_.mutable_rate_limits();
  SetBucket(limits->mutable_per_client_ip(), 1, 1);
  auto* network = limits->add_trusted_networks();
  network->add_cidr("203.0.113.0/24");
  SetBucket(network->mutable_per_client_ip(), 3, 1);
  gateway_config_.add_trusted_proxies("127.0.0.1/32");
  Start();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Register(Forwarded("203.0.113.7")).status, 201) << i;
  EXPECT_EQ(RefusedBy(Register(Forwarded("203.0.113.7"))), "trusted_network");
  EXPECT_EQ(Register(Forwarded("198.51.100.7")).status, 201);
  EXPECT_EQ(RefusedBy(Register(Forwarded("198.51.100.7"))), "per_client_ip");
}

TEST_F(RateLimitE2eTest, SoftwareIdLimit) {
  SetBucket(server_config_.mutable_rate_limits()->mutable_per_software_id(), 2, 1);
  Start();
  const std::string body = R"({"redirect_uris":["https://app.example/cb"],"software_id":"agent-x"})";
  EXPECT_EQ(Register("", body).status, 201);
  EXPECT_EQ(Register("", body).status, 201);
  EXPECT_EQ(RefusedBy(Register("", body)), "per_software_id");
  EXPECT_EQ(Register().status, 201);  // no software_id: no such bucket
}

TEST_F(RateLimitE2eTest, FailedTokenChecksSpendTheirOwnBudget) {
  SetBucket(server_config_.mutable_rate_limits()->mutable_failed_token_checks_per_client_ip(), 2, 1);
  Start();
  const RawResponse created = Register();
  ASSERT_EQ(created.status, 201);
  const JsonView client(created.body);
  const std::string path = "/oauth/register/" + client.String("client_id").value_or("");
  const std::string token = client.String("registration_access_token").value_or("");
  EXPECT_EQ(Get(path, token).status, 200);  // a valid check takes nothing
  EXPECT_EQ(Get(path, "wrong-1").status, 401);
  EXPECT_EQ(Get(path, "wrong-2").status, 401);
  // Spent: the address is refused before any token of it is checked, the right one included.
  EXPECT_EQ(RefusedBy(Get(path, "wrong-3")), "failed_token_checks_per_client_ip");
  EXPECT_EQ(RefusedBy(Get(path, token)), "failed_token_checks_per_client_ip");
  // Registrations are another budget.
  EXPECT_EQ(Register().status, 201);
}

TEST_F(RateLimitE2eTest, ClientCapRefusesRegistrationOnlyAndSaysWhy) {
  server_config_.set_max_dynamic_clients(2);
  Start();
  const RawResponse first = Register();
  ASSERT_EQ(first.status, 201);
  ASSERT_EQ(Register().status, 201);
  const RawResponse refused = Register();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("retry-after"), "300");
  EXPECT_EQ(JsonView(refused.body).String("error").value_or(""), "temporarily_unavailable");
  EXPECT_THAT(refused.body, HasSubstr("maximum of 2 registered clients"));
  // Management keeps working at the cap.
  const JsonView client(first.body);
  EXPECT_EQ(Get("/oauth/register/" + client.String("client_id").value_or(""),
                client.String("registration_access_token").value_or(""))
                .status,
            200);
}

TEST_F(RateLimitE2eTest, AValidInitialAccessTokenIsExemptFromTheAnonymousLimits) {
  SetBucket(server_config_.mutable_rate_limits()->mutable_per_client_ip(), 1, 1);
  auto* tokens = server_config_.mutable_initial_access_tokens();
  tokens->set_mode("optional");
  constexpr char kToken[] = "rate-limit-e2e-token-0123456789abcdefghij";
  tokens->add_static_tokens()->set_token(kToken);
  Start();
  EXPECT_EQ(Register().status, 201);
  EXPECT_EQ(RefusedBy(Register()), "per_client_ip");
  const std::string bearer = std::string("Authorization: Bearer ") + kToken + "\r\n";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Register(bearer).status, 201) << i;
}

}  // namespace
}  // namespace clientreg::testing
