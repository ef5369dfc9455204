#include "gateway/http_errors.h"

#include <string>

#include "clientreg/v1/errors.pb.h"
#include "common/registration_error.h"
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

// The one code -> HTTP table (spec.md §9), every code.
TEST(ErrorResponseFromGrpcTest, EveryCodeHasItsStatus) {
  const struct {
    grpc::StatusCode code;
    unsigned registration;  // on the registration routes
    unsigned management;    // on the RFC 7592 routes
  } kTable[] = {
      {grpc::StatusCode::INVALID_ARGUMENT, 400, 400},
      {grpc::StatusCode::UNAUTHENTICATED, 401, 401},
      {grpc::StatusCode::NOT_FOUND, 500, 401},
      {grpc::StatusCode::PERMISSION_DENIED, 403, 403},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, 503, 503},
      {grpc::StatusCode::CANCELLED, 503, 503},
      {grpc::StatusCode::UNAVAILABLE, 503, 503},
      {grpc::StatusCode::DEADLINE_EXCEEDED, 504, 504},
      {grpc::StatusCode::UNIMPLEMENTED, 405, 405},
      {grpc::StatusCode::UNKNOWN, 500, 500},
      {grpc::StatusCode::ALREADY_EXISTS, 500, 500},
      {grpc::StatusCode::FAILED_PRECONDITION, 500, 500},
      {grpc::StatusCode::ABORTED, 500, 500},
      {grpc::StatusCode::OUT_OF_RANGE, 500, 500},
      {grpc::StatusCode::INTERNAL, 500, 500},
      {grpc::StatusCode::DATA_LOSS, 500, 500},
  };
  for (const auto& row : kTable) {
    const grpc::Status status(row.code, "internal words");
    EXPECT_EQ(ErrorResponseFromGrpc(status, RpcKind::kRegistration).status, row.registration) << row.code;
    EXPECT_EQ(ErrorResponseFromGrpc(status, RpcKind::kManagement).status, row.management) << row.code;
    EXPECT_EQ(ErrorResponseFromGrpc(status).body.find("internal words"), std::string::npos) << row.code;
  }
}

// The gateway's own refusals (the JSON mapper's statuses) go through the same table.
TEST(ErrorResponseFromStatusTest, MapperStatusesUseTheTable) {
  const HttpResponse invalid =
      ErrorResponseFromStatus(common::InvalidRequest("client_name", "the body is not one JSON object"));
  EXPECT_EQ(invalid.status, 400u);
  EXPECT_EQ(invalid.error, "invalid_request");
  EXPECT_NE(invalid.body.find("the body is not one JSON object"), std::string::npos);
  const HttpResponse exhausted = ErrorResponseFromStatus(absl::ResourceExhaustedError("MEMALLOC in the parser"));
  EXPECT_EQ(exhausted.status, 503u);
  EXPECT_EQ(exhausted.body.find("MEMALLOC"), std::string::npos);
  const HttpResponse internal = ErrorResponseFromStatus(absl::InternalError("simdjson UNEXPECTED_ERROR"));
  EXPECT_EQ(internal.status, 500u);
  EXPECT_EQ(internal.body.find("simdjson"), std::string::npos);
}

grpc::Status WithDetail(grpc::StatusCode code, const clientreg::v1::RegistrationError& detail) {
  return grpc::Status(code, detail.error_description(), detail.SerializeAsString());
}

TEST(ErrorResponseFromGrpcTest, RateLimitIs429NamingTheLimitWithItsRetryAfter) {
  clientreg::v1::RegistrationError detail;
  detail.set_error("too_many_requests");
  detail.set_error_description("too many registrations from this client IP (rate limit per_client_ip)");
  detail.set_limit("per_client_ip");
  detail.set_retry_after_seconds(17);
  const HttpResponse response = ErrorResponseFromGrpc(WithDetail(grpc::StatusCode::RESOURCE_EXHAUSTED, detail));
  EXPECT_EQ(response.status, 429u);
  EXPECT_EQ(HeaderOf(response, "Retry-After"), "17");
  EXPECT_EQ(response.body,
            R"j({"error":"too_many_requests","error_description":"too many registrations from this client IP )j"
            R"j((rate limit per_client_ip)","limit":"per_client_ip"})j");
  // Overload without a detail is a 503, never blamed on the client.
  const HttpResponse overloaded = ErrorResponseFromGrpc(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "x"));
  EXPECT_EQ(overloaded.status, 503u);
  EXPECT_EQ(HeaderOf(overloaded, "Retry-After"), "1");
}

TEST(ErrorResponseFromGrpcTest, AnExplainedUnavailableKeepsItsWordsAndRetryAfter) {
  clientreg::v1::RegistrationError detail;
  detail.set_error("temporarily_unavailable");
  detail.set_error_description("this server holds its maximum of 10 registered clients; retry later");
  detail.set_retry_after_seconds(300);
  const HttpResponse response = ErrorResponseFromGrpc(WithDetail(grpc::StatusCode::UNAVAILABLE, detail));
  EXPECT_EQ(response.status, 503u);
  EXPECT_EQ(response.error, "temporarily_unavailable");
  EXPECT_EQ(HeaderOf(response, "Retry-After"), "300");
  EXPECT_NE(response.body.find("maximum of 10 registered clients"), std::string::npos);
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
