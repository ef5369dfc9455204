// The router without sockets: the health routes, what is not a route, and the route each target is counted under.
#include "gateway/router.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

class RouterTest : public ::testing::Test {
 protected:
  // None of these tests reaches the server: the channel never connects.
  RouterTest()
      : registration_(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
                      RegistrationClient::Options()) {}

  void MakeRouter(std::vector<common::HealthCheckResult> checks = {}) {
    Router::Options options;
    options.server_metadata.set_issuer("https://as.example/t1");
    options.readiness = [checks = std::move(checks)] { return checks; };
    router_ = std::make_unique<Router>(std::move(options), &registration_);
  }

  // Answers a request the router handles without a call to the server.
  HttpResponse Answer(std::string method, std::string target) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    std::optional<HttpResponse> answer;
    router_->Handle(std::move(request), [&answer](HttpResponse response) { answer = std::move(response); });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(HttpResponse{});
  }

  RegistrationClient registration_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, HealthzAnswersGetAndHeadWithoutCaching) {
  MakeRouter();
  for (const char* method : {"GET", "HEAD"}) {
    const HttpResponse response = Answer(method, "/healthz");
    EXPECT_EQ(response.status, 200u) << method;
    EXPECT_EQ(response.body, R"({"status":"ok"})") << method;
    EXPECT_THAT(response.headers, Contains(Pair("Cache-Control", "no-store")));
    EXPECT_THAT(response.headers, Contains(Pair("Content-Type", "application/json")));
  }
}

TEST_F(RouterTest, ReadyzReportsEachCheck) {
  MakeRouter({{"server", true, ""}, {"draining", true, ""}});
  HttpResponse response = Answer("GET", "/readyz?verbose=1");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.body, R"({"status":"ready","checks":{"server":{"status":"ok"},"draining":{"status":"ok"}}})");
  EXPECT_THAT(response.headers, Contains(Pair("Cache-Control", "no-store")));

  MakeRouter({{"server", false, "the server reports NOT_SERVING"}, {"draining", true, ""}});
  response = Answer("HEAD", "/readyz");
  EXPECT_EQ(response.status, 503u);
  EXPECT_THAT(response.body, HasSubstr(R"("server":{"status":"fail","detail":"the server reports NOT_SERVING"})"));
}

TEST_F(RouterTest, HealthRoutesRefuseOtherMethods) {
  MakeRouter();
  for (const char* target : {"/healthz", "/readyz"}) {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
      const HttpResponse response = Answer(method, target);
      EXPECT_EQ(response.status, 405u) << method << " " << target;
      EXPECT_THAT(response.headers, Contains(Pair("Allow", "GET, HEAD")));
      EXPECT_THAT(response.headers, Contains(Pair("Cache-Control", "no-store")));
      EXPECT_EQ(response.error, "invalid_request");
    }
  }
}

TEST_F(RouterTest, MetricsAndHealthUnderTheIssuerPathAreNotRoutes) {
  MakeRouter();
  for (const char* target : {"/metrics", "/t1/healthz", "/t1/readyz", "/healthz/", "/readyzz"}) {
    const HttpResponse response = Answer("GET", target);
    EXPECT_EQ(response.status, 404u) << target;
    EXPECT_EQ(response.error, "invalid_request") << target;
    EXPECT_EQ(router_->Classify(target), Route::kOther) << target;
  }
}

TEST_F(RouterTest, ClassifiesEveryRoute) {
  MakeRouter();
  EXPECT_EQ(router_->Classify("/t1/oauth/register"), Route::kRegister);
  EXPECT_EQ(router_->Classify("/t1/oauth/register?x=1"), Route::kRegister);
  EXPECT_EQ(router_->Classify("/t1/oauth/register/abc"), Route::kClientConfiguration);
  EXPECT_EQ(router_->Classify("/.well-known/oauth-authorization-server/t1"), Route::kDiscovery);
  EXPECT_EQ(router_->Classify("/t1/.well-known/openid-configuration"), Route::kDiscovery);
  EXPECT_EQ(router_->Classify("/.well-known/openid-configuration/t1"), Route::kDiscovery);
  EXPECT_EQ(router_->Classify("/openapi.json"), Route::kOpenApi);
  EXPECT_EQ(router_->Classify("/healthz"), Route::kHealthz);
  EXPECT_EQ(router_->Classify("http://as.example/readyz"), Route::kReadyz);
  EXPECT_EQ(router_->Classify("/oauth/register"), Route::kOther);
}

TEST_F(RouterTest, ConfigurationResponsesNameTheClientOnlyWhenThePathCanBeOne) {
  MakeRouter();
  HttpResponse response = Answer("GET", "/t1/oauth/register/client-1");  // no Authorization: answered here
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(response.client_id, "client-1");
  EXPECT_EQ(response.error, "invalid_token");
  response = Answer("GET", "/t1/oauth/register/a%20b");
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(response.client_id, "");
}

}  // namespace
}  // namespace clientreg::gateway
