#include "server/registration_service.h"

#include <optional>
#include <string>
#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {

RegistrationService::RegistrationService(const Registrar* registrar, const InitialAccessTokens* tokens,
                                         const RegistrationManager* manager,
                                         clientreg::v1::ServerMetadata server_metadata, ServerMetrics* metrics)
    : registrar_(registrar),
      tokens_(tokens),
      manager_(manager),
      server_metadata_(std::move(server_metadata)),
      metrics_(metrics) {}

grpc::ServerUnaryReactor* RegistrationService::Register(grpc::CallbackServerContext* context,
                                                        const clientreg::v1::RegisterRequest* request,
                                                        clientreg::v1::ClientInformation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // `response` lives until Finish; `request` is not used after RegisterAsync returns.
  auto finish = [reactor, response, metrics = metrics_](absl::StatusOr<clientreg::v1::ClientInformation> result) {
    if (metrics != nullptr)
      metrics->registrations.WithLabels({RegistrationOutcome(result.status().code())}).Increment();
    reactor->Finish(ToGrpcResponse(std::move(result), response));
  };
  // RFC 7591 §3 first: `grant->authenticated` tells a caller holding a valid initial access token from an anonymous
  // one.
  const absl::StatusOr<TokenGrant> grant = tokens_->Check(
      request->has_initial_access_token() ? std::optional<std::string>(request->initial_access_token()) : std::nullopt);
  if (!grant.ok()) {
    finish(grant.status());
    return reactor;
  }
  registrar_->RegisterAsync(request->metadata(), *grant, std::move(finish));
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
