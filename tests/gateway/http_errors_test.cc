#include "gateway/http_errors.h"

#include <string>

#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [field, value] : response.headers) {
    if (field == name) return value;
  }
  return "";
}

TEST(ErrorResponseFromGrpcTest, AServerThatGivesUpOrIsGoneIsRetryable) {
  // CANCELLED is what a call meets when it reaches a server whose drain has begun.
  for (const grpc::StatusCode code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED}) {
    const HttpResponse response = ErrorResponseFromGrpc(grpc::Status(code, "server shutdown"));
    EXPECT_EQ(response.status, 503u) << code;
    EXPECT_EQ(response.error, "temporarily_unavailable") << code;
    EXPECT_EQ(HeaderOf(response, "Retry-After"), "1") << code;
    EXPECT_EQ(response.body.find("server shutdown"), std::string::npos) << code;
  }
  EXPECT_EQ(ErrorResponseFromGrpc(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")).status, 504u);
  EXPECT_EQ(ErrorResponseFromGrpc(grpc::Status(grpc::StatusCode::INTERNAL, "")).status, 500u);
}

// RFC 6750 §3.1 on the registration route: the challenge says whether a token came; nothing else differs, and the
// server's message never shows.
TEST(ErrorResponseFromGrpcTest, UnauthenticatedChallengeFollowsWhetherATokenWasPresented) {
  const grpc::Status refused(grpc::StatusCode::UNAUTHENTICATED, "the initial access token is invalid");
  const HttpResponse missing = ErrorResponseFromGrpc(refused, RpcKind::kRegistration, /*token_presented=*/false);
  const HttpResponse invalid = ErrorResponseFromGrpc(refused, RpcKind::kRegistration, /*token_presented=*/true);
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(HeaderOf(missing, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(invalid.status, 401u);
  EXPECT_EQ(HeaderOf(invalid, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(missing.body, invalid.body);
  EXPECT_EQ(invalid.body.find("initial access token"), std::string::npos);
  // Another message from the server changes nothing.
  EXPECT_EQ(
      ErrorResponseFromGrpc(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "an initial access token is required"),
                            RpcKind::kRegistration, true)
          .body,
      invalid.body);
}

}  // namespace
}  // namespace clientreg::gateway
