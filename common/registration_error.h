#ifndef CLIENTREG_COMMON_REGISTRATION_ERROR_H_
#define CLIENTREG_COMMON_REGISTRATION_ERROR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "clientreg/v1/errors.pb.h"

namespace clientreg::common {

// OAuth error codes (RFC 7591 §3.2.2, RFC 6749 §4.1.2.1, RFC 6750 §3.1).
inline constexpr char kInvalidRequest[] = "invalid_request";
inline constexpr char kInvalidClientMetadata[] = "invalid_client_metadata";
inline constexpr char kInvalidRedirectUri[] = "invalid_redirect_uri";
inline constexpr char kInvalidToken[] = "invalid_token";
inline constexpr char kInvalidClient[] = "invalid_client";
inline constexpr char kAccessDenied[] = "access_denied";
inline constexpr char kServerError[] = "server_error";
inline constexpr char kTemporarilyUnavailable[] = "temporarily_unavailable";
inline constexpr char kTooManyRequests[] = "too_many_requests";

// The type URL under which a RegistrationError rides as an absl::Status payload and as gRPC status details.
inline constexpr char kRegistrationErrorTypeUrl[] = "type.googleapis.com/clientreg.v1.RegistrationError";

// A status of `code` carrying a RegistrationError{error, description, field} payload. `description` becomes the
// status message too, so logs show it; nothing reads the OAuth code back from the message.
absl::Status RegistrationErrorStatus(absl::StatusCode code, const std::string& error, const std::string& field,
                                     const std::string& description);

// INVALID_ARGUMENT shorthands for the three 400 codes.
absl::Status InvalidRequest(const std::string& field, const std::string& description);
absl::Status InvalidClientMetadata(const std::string& field, const std::string& description);
absl::Status InvalidRedirectUri(const std::string& field, const std::string& description);

// RESOURCE_EXHAUSTED for a request refused by the rate limit named `limit` (HTTP 429 with Retry-After).
absl::Status RateLimited(const std::string& limit, int64_t retry_after_seconds, const std::string& description);

// UNAVAILABLE with error temporarily_unavailable and a Retry-After, for a refusal that is no fault of the client's
// and that time may lift (HTTP 503).
absl::Status TemporarilyUnavailable(int64_t retry_after_seconds, const std::string& description);

// The RegistrationError payload of `status`, if it has one.
std::optional<clientreg::v1::RegistrationError> GetRegistrationError(const absl::Status& status);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_REGISTRATION_ERROR_H_
