#ifndef CLIENTREG_SERVER_GRPC_STATUS_H_
#define CLIENTREG_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace clientreg::server {

// The one conversion from absl::Status to grpc::Status: the code maps one to one, the message is kept, and a
// RegistrationError payload travels as the serialized status details (the gateway reads the OAuth code from there).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_GRPC_STATUS_H_
