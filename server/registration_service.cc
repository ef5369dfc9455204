#include "server/registration_service.h"

#include "server/grpc_status.h"

namespace clientreg::server {

grpc::Status RegistrationService::Register(grpc::ServerContext* /*context*/,
                                           const clientreg::v1::RegisterRequest* request,
                                           clientreg::v1::ClientInformation* response) {
  absl::StatusOr<clientreg::v1::ClientInformation> info = registrar_->Register(request->metadata());
  if (!info.ok()) return ToGrpcStatus(info.status());
  *response = *std::move(info);
  return grpc::Status::OK;
}

}  // namespace clientreg::server
