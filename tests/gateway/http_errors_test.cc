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

}  // namespace
}  // namespace clientreg::gateway
