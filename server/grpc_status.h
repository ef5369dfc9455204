#ifndef CLIENTREG_SERVER_GRPC_STATUS_H_
#define CLIENTREG_SERVER_GRPC_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"

namespace clientreg::server {

// The one conversion from absl::Status to grpc::Status: the code maps one to one, the message is kept, and a
// RegistrationError payload travels as the serialized status details (the gateway reads the OAuth code from there).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Moves an OK `result` into `*response`, or converts its status: the whole body of a gRPC handler.
template <typename T>
grpc::Status ToGrpcResponse(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_GRPC_STATUS_H_
