#include "server/authentication_service.h"

#include "server/grpc_status.h"

namespace clientreg::server {

grpc::ServerUnaryReactor* AuthenticationService::AuthenticateClient(
    grpc::CallbackServerContext* context, const clientreg::v1::AuthenticateClientRequest* request,
    clientreg::v1::AuthenticateClientResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status caller = callers_->Authorize(*context, clientreg::v1::ClientAuthentication::service_full_name());
      !caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller));
    return reactor;
  }
  reactor->Finish(ToGrpcResponse(authenticator_->Authenticate(request->client_id(), request->client_secret()),
                                 response->mutable_client()));
  return reactor;
}

}  // namespace clientreg::server
