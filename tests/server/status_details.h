#ifndef CLIENTREG_TESTS_SERVER_STATUS_DETAILS_H_
#define CLIENTREG_TESTS_SERVER_STATUS_DETAILS_H_

#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "common/registration_error.h"
#include "server/grpc_status.h"

namespace clientreg::testing {

// What a client sees of a failure: the gRPC code, message and serialized details, exactly what the gateway turns
// into the HTTP answer.
inline std::tuple<int, std::string, std::string> WireForm(const absl::Status& status) {
  const grpc::Status wire = server::ToGrpcStatus(status);
  return {static_cast<int>(wire.error_code()), wire.error_message(), wire.error_details()};
}

// The RegistrationError code of `status`; empty without one.
inline std::string ErrorCode(const absl::Status& status) {
  const auto detail = common::GetRegistrationError(status);
  return detail.has_value() ? detail->error() : std::string();
}

// The RegistrationError field of `status`; empty without one.
inline std::string ErrorField(const absl::Status& status) {
  const auto detail = common::GetRegistrationError(status);
  return detail.has_value() ? detail->error_field() : std::string();
}

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SERVER_STATUS_DETAILS_H_
