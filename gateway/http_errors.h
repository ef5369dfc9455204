#ifndef CLIENTREG_GATEWAY_HTTP_ERRORS_H_
#define CLIENTREG_GATEWAY_HTTP_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"
#include "gateway/http_types.h"
#include "grpcpp/support/status.h"

namespace clientreg::gateway {

// An error response: `status`, `Content-Type: application/json`, `Cache-Control: no-store`, and the body
// `{"error": error, "error_description": description[, "error_field": field]}` (RFC 7591 §3.2.2; spec.md §9).
HttpResponse ErrorResponse(unsigned status, std::string_view error, std::string_view description,
                           std::string_view field = {});

// A 400 for a request the gateway itself refused (its JSON mapping), from the status's RegistrationError payload.
HttpResponse ErrorResponseFromStatus(const absl::Status& status);

// The one mapping from a gRPC status of the server to HTTP (spec.md §9). The OAuth error code and field come from
// the RegistrationError in the status details, never from the message.
HttpResponse ErrorResponseFromGrpc(const grpc::Status& status);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_HTTP_ERRORS_H_
