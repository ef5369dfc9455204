#include "common/registration_error.h"

#include "absl/strings/cord.h"

namespace clientreg::common {

namespace {

absl::Status WithDetail(absl::StatusCode code, const clientreg::v1::RegistrationError& detail) {
  absl::Status status(code, detail.error_description());
  status.SetPayload(kRegistrationErrorTypeUrl, absl::Cord(detail.SerializeAsString()));
  return status;
}

}  // namespace

absl::Status RegistrationErrorStatus(absl::StatusCode code, const std::string& error, const std::string& field,
                                     const std::string& description) {
  clientreg::v1::RegistrationError detail;
  detail.set_error(error);
  detail.set_error_description(description);
  detail.set_error_field(field);
  return WithDetail(code, detail);
}

absl::Status RateLimited(const std::string& limit, int64_t retry_after_seconds, const std::string& description) {
  clientreg::v1::RegistrationError detail;
  detail.set_error(kTooManyRequests);
  detail.set_error_description(description);
  detail.set_retry_after_seconds(retry_after_seconds);
  detail.set_limit(limit);
  return WithDetail(absl::StatusCode::kResourceExhausted, detail);
}

absl::Status InvalidRequest(const std::string& field, const std::string& description) {
  return RegistrationErrorStatus(absl::StatusCode::kInvalidArgument, kInvalidRequest, field, description);
}

absl::Status InvalidClientMetadata(const std::string& field, const std::string& description) {
  return RegistrationErrorStatus(absl::StatusCode::kInvalidArgument, kInvalidClientMetadata, field, description);
}

absl::Status InvalidRedirectUri(const std::string& field, const std::string& description) {
  return RegistrationErrorStatus(absl::StatusCode::kInvalidArgument, kInvalidRedirectUri, field, description);
}

absl::Status TemporarilyUnavailable(int64_t retry_after_seconds, const std::string& description) {
  clientreg::v1::RegistrationError detail;
  detail.set_error(kTemporarilyUnavailable);
  detail.set_error_description(description);
  detail.set_retry_after_seconds(retry_after_seconds);
  return WithDetail(absl::StatusCode::kUnavailable, detail);
}

std::optional<clientreg::v1::RegistrationError> GetRegistrationError(const absl::Status& status) {
  const absl::optional<absl::Cord> payload = status.GetPayload(kRegistrationErrorTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  clientreg::v1::RegistrationError detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

}  // namespace clientreg::common
