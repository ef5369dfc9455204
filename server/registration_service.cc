#include "server/registration_service.h"

#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {

RegistrationService::RegistrationService(const Registrar* registrar, const RegistrationManager* manager,
                                         clientreg::v1::ServerMetadata server_metadata, ServerMetrics* metrics)
    : registrar_(registrar), manager_(manager), server_metadata_(std::move(server_metadata)), metrics_(metrics) {}

grpc::ServerUnaryReactor* RegistrationService::Register(grpc::CallbackServerContext* context,
                                                        const clientreg::v1::RegisterRequest* request,
                                                        clientreg::v1::ClientInformation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // `response` lives until Finish; `request` is not used after RegisterAsync returns.
  registrar_->RegisterAsync(request->metadata(), [reactor, response, metrics = metrics_](
                                                     absl::StatusOr<clientreg::v1::ClientInformation> result) {
    if (metrics != nullptr)
      metrics->registrations.WithLabels({RegistrationOutcome(result.status().code())}).Increment();
    reactor->Finish(ToGrpcResponse(std::move(result), response));
  });
  return reactor;
}

grpc::Status RegistrationService::GetRegistration(grpc::ServerContext* /*context*/,
                                                  const clientreg::v1::GetRegistrationRequest* request,
                                                  clientreg::v1::ClientInformation* response) {
  return ToGrpcResponse(manager_->Get(*request), response);
}

grpc::Status RegistrationService::UpdateRegistration(grpc::ServerContext* /*context*/,
                                                     const clientreg::v1::UpdateRegistrationRequest* request,
                                                     clientreg::v1::ClientInformation* response) {
  return ToGrpcResponse(manager_->Update(*request), response);
}

grpc::Status RegistrationService::DeleteRegistration(grpc::ServerContext* /*context*/,
                                                     const clientreg::v1::DeleteRegistrationRequest* request,
                                                     clientreg::v1::DeleteRegistrationResponse* /*response*/) {
  return ToGrpcStatus(manager_->Delete(*request));
}

grpc::Status RegistrationService::GetServerMetadata(grpc::ServerContext* /*context*/,
                                                    const clientreg::v1::GetServerMetadataRequest* /*request*/,
                                                    clientreg::v1::ServerMetadata* response) {
  *response = server_metadata_;
  return grpc::Status::OK;
}

}  // namespace clientreg::server
