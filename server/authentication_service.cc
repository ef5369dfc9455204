#include "server/authentication_service.h"

#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {

grpc::Status AuthenticationService::AuthenticateClient(grpc::ServerContext* /*context*/,
                                                       const clientreg::v1::AuthenticateClientRequest* request,
                                                       clientreg::v1::AuthenticateClientResponse* response) {
  absl::StatusOr<clientreg::v1::ClientRecord> client =
      authenticator_->Authenticate(request->client_id(), request->client_secret());
  if (!client.ok()) return ToGrpcStatus(client.status());
  *response->mutable_client() = *std::move(client);
  return grpc::Status::OK;
}

}  // namespace clientreg::server
