#ifndef CLIENTREG_GATEWAY_HTTP_ERRORS_H_
#define CLIENTREG_GATEWAY_HTTP_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"
#include "gateway/http_types.h"
#include "grpcpp/support/status.h"

namespace clientreg::gateway {

// An error response: `status`, `Content-Type: application/json`, `Cache-Control: no-store`, and the body
// `{"error": error, "error_description": description[, "error_field": field]}` (RFC 7591 §3.2.2; spec.md §9); the
// response's `error` member holds `error` too, for the access log.
HttpResponse ErrorResponse(unsigned status, std::string_view error, std::string_view description,
                           std::string_view field = {});

// The answer to a request the gateway itself refused (its JSON mapping), through ErrorResponseFromGrpc's table:
// INVALID_ARGUMENT with its RegistrationError payload is a 400 naming the error; RESOURCE_EXHAUSTED a 503, INTERNAL
// a 500, neither with the internal message.
HttpResponse ErrorResponseFromStatus(const absl::Status& status);

// The 401 of RFC 6750 §3.1 for the RFC 7592 configuration endpoint and the RFC 7591 §3 initial access token:
// `WWW-Authenticate: Bearer error="invalid_token"` when a token was presented, a bare `Bearer` challenge when none was
// (§3.1: no error code then). The body and every other field are the same in both cases, so the responses differ only
// in the challenge, and every invalid-token 401 is byte-identical whatever made the token invalid (spec.md §2.2), but
// for the fields each response has of its own (Date, and the X-Request-Id the connection adds).
HttpResponse UnauthorizedResponse(bool token_presented);

// Which RPCs a status came from: NOT_FOUND means an unknown client on the management RPCs, which must look exactly
// like an invalid token (spec.md §9, OIDC Registration §4.4), but is a server fault anywhere else.
enum class RpcKind { kRegistration, kManagement };

// The one mapping from a gRPC status of the server to HTTP (spec.md §9). The OAuth error code and field come from
// the RegistrationError in the status details, never from the message. UNIMPLEMENTED gives a 405 without `Allow`:
// only the router knows the endpoint's methods. UNAUTHENTICATED is UnauthorizedResponse(token_presented): whether
// the request carried an Authorization field, which only the router knows (the registration route forwards
// requests without one, since only the server knows whether it wants an initial access token).
HttpResponse ErrorResponseFromGrpc(const grpc::Status& status, RpcKind kind = RpcKind::kRegistration,
                                   bool token_presented = true);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_HTTP_ERRORS_H_
