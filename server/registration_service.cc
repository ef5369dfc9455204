#include "server/registration_service.h"

#include <string_view>
#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {
namespace {

constexpr std::string_view kService = clientreg::v1::ClientRegistration::service_full_name();

}  // namespace

RegistrationService::RegistrationService(const Registrar* registrar, const RegistrationManager* manager,
                                         const CallerAuthorizer* callers, clientreg::v1::ServerMetadata server_metadata,
                                         ServerMetrics* metrics)
    : registrar_(registrar),
      manager_(manager),
      callers_(callers),
      server_metadata_(std::move(server_metadata)),
      metrics_(metrics) {}

grpc::ServerUnaryReactor* RegistrationService::Register(grpc::CallbackServerContext* context,
                                                        const clientreg::v1::RegisterRequest* request,
                                                        clientreg::v1::ClientInformation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller));
    return reactor;
  }
  // `response` lives until Finish; `request` is not used after RegisterAsync returns.
  registrar_->RegisterAsync(request->metadata(), [reactor, response, metrics = metrics_](
                                                     absl::StatusOr<clientreg::v1::ClientInformation> result) {
    if (metrics != nullptr)
      metrics->registrations.WithLabels({RegistrationOutcome(result.status().code())}).Increment();
    reactor->Finish(ToGrpcResponse(std::move(result), response));
  });
  return reactor;
}

grpc::Status RegistrationService::GetRegistration(grpc::ServerContext* context,
                                                  const clientreg::v1::GetRegistrationRequest* request,
                                                  clientreg::v1::ClientInformation* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(manager_->Get(*request), response);
}

grpc::Status RegistrationService::UpdateRegistration(grpc::ServerContext* context,
                                                     const clientreg::v1::UpdateRegistrationRequest* request,
                                                     clientreg::v1::ClientInformation* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(manager_->Update(*request), response);
}

grpc::Status RegistrationService::DeleteRegistration(grpc::ServerContext* context,
                                                     const clientreg::v1::DeleteRegistrationRequest* request,
                                                     clientreg::v1::DeleteRegistrationResponse* /*response*/) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcStatus(manager_->Delete(*request));
}

grpc::Status RegistrationService::GetServerMetadata(grpc::ServerContext* context,
                                                    const clientreg::v1::GetServerMetadataRequest* /*request*/,
                                                    clientreg::v1::ServerMetadata* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  *response = server_metadata_;
  return grpc::Status::OK;
}

}  // namespace clientreg::server
