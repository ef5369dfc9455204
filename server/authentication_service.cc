#include "server/authentication_service.h"

#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {

grpc::Status AuthenticationService::AuthenticateClient(grpc::ServerContext* /*context*/,
                                                       const clientreg::v1::AuthenticateClientRequest* request,
                                                       clientreg::v1::AuthenticateClientResponse* response) {
  return ToGrpcResponse(authenticator_->Authenticate(request->client_id(), request->client_secret()),
                        response->mutable_client());
}

}  // namespace clientreg::server
