#include "gateway/http_errors.h"

#include <string>

#include "clientreg/v1/errors.pb.h"
#include "common/json_string.h"
#include "common/registration_error.h"

namespace clientreg::gateway {

HttpResponse ErrorResponse(unsigned status, std::string_view error, std::string_view description,
                           std::string_view field) {
  HttpResponse response;
  response.status = status;
  response.error = std::string(error);
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("Cache-Control", "no-store");
  std::string& body = response.body;
  body = "{\"error\":";
  common::AppendJsonString(body, error);
  body += ",\"error_description\":";
  common::AppendJsonString(body, description);
  if (!field.empty()) {
    body += ",\"error_field\":";
    common::AppendJsonString(body, field);
  }
  body += '}';
  return response;
}

HttpResponse ErrorResponseFromStatus(const absl::Status& status) {
  // Through the one table: absl and gRPC number their codes alike. A memory or parser failure is not the client's
  // fault (503, 500), and its message never reaches the client.
  const auto detail = common::GetRegistrationError(status);
  return ErrorResponseFromGrpc(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                                            detail.has_value() ? detail->SerializeAsString() : std::string()));
}

HttpResponse UnauthorizedResponse(bool token_presented) {
  HttpResponse response = ErrorResponse(401, common::kInvalidToken, "the access token is missing or invalid");
  response.headers.emplace_back("WWW-Authenticate", token_presented ? "Bearer error=\"invalid_token\"" : "Bearer");
  return response;
}

namespace {

// RFC 9110 §10.2.3: whole seconds; at least one, so that a client never retries at once in a loop.
std::string RetryAfter(int64_t seconds) { return std::to_string(seconds > 0 ? seconds : 1); }

// 429 with the limit named, so that an operator reading a client's report knows which bucket to look at.
HttpResponse RateLimitedResponse(const clientreg::v1::RegistrationError& detail) {
  HttpResponse response = ErrorResponse(429, common::kTooManyRequests, detail.error_description());
  if (!detail.limit().empty()) {
    response.body.pop_back();  // the closing brace
    response.body += ",\"limit\":";
    common::AppendJsonString(response.body, detail.limit());
    response.body += '}';
  }
  return response;
}

}  // namespace

HttpResponse ErrorResponseFromGrpc(const grpc::Status& status, RpcKind kind, bool token_presented) {
  clientreg::v1::RegistrationError detail;
  const bool has_detail = !status.error_details().empty() && detail.ParseFromString(status.error_details());
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      if (has_detail && !detail.error().empty()) {
        return ErrorResponse(400, detail.error(), detail.error_description(), detail.error_field());
      }
      return ErrorResponse(400, common::kInvalidRequest, "the request is invalid");
    case grpc::StatusCode::UNAUTHENTICATED:
      // Nothing of the server's answer is passed on, so every invalid token gets the same bytes (spec.md §2.2).
      return UnauthorizedResponse(token_presented);
    case grpc::StatusCode::NOT_FOUND:
      // OIDC Registration §4.4: an unknown client MUST NOT get a 404, and is no oracle for which ids exist.
      if (kind == RpcKind::kManagement) return UnauthorizedResponse(/*token_presented=*/true);
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      return ErrorResponse(403, common::kAccessDenied, "this client may not be managed");
    case grpc::StatusCode::RESOURCE_EXHAUSTED: {
      const bool rate_limited = has_detail && detail.error() == common::kTooManyRequests;
      HttpResponse response =
          rate_limited ? RateLimitedResponse(detail)
                       : ErrorResponse(503, common::kTemporarilyUnavailable, "the service is overloaded; retry later");
      response.headers.emplace_back("Retry-After", RetryAfter(has_detail ? detail.retry_after_seconds() : 0));
      return response;
    }
    // The gateway never cancels a call itself, so CANCELLED comes from the server giving a call up: gRPC 1.51
    // cancels the calls that reach a server as its Shutdown begins (tests/e2e/sigterm_drain_test.cc). Like
    // UNAVAILABLE, nothing was registered that the client knows of and it may retry; a 500 would blame a fault.
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNAVAILABLE: {
      // A refusal the server explains (the client cap) keeps its words; anything else is a plain outage.
      const bool explained = has_detail && detail.error() == common::kTemporarilyUnavailable;
      HttpResponse response = ErrorResponse(
          503, common::kTemporarilyUnavailable,
          explained ? detail.error_description() : std::string("the service is unavailable; retry later"));
      response.headers.emplace_back("Retry-After", RetryAfter(has_detail ? detail.retry_after_seconds() : 0));
      return response;
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ErrorResponse(504, common::kTemporarilyUnavailable, "the service did not answer in time");
    case grpc::StatusCode::UNIMPLEMENTED:
      return ErrorResponse(405, common::kInvalidRequest, "method not supported");
    case grpc::StatusCode::OK:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::DO_NOT_USE:
      break;
  }
  // Nothing of the server's message is passed on: it may name internals.
  return ErrorResponse(500, common::kServerError, "internal error");
}

}  // namespace clientreg::gateway
