#include "server/client_admin_service.h"

#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {

grpc::Status ClientAdminService::GetClient(grpc::ServerContext* /*context*/,
                                           const clientreg::v1::GetClientRequest* request,
                                           clientreg::v1::ClientRecord* response) {
  return ToGrpcResponse(admin_->GetClient(request->client_id()), response);
}

grpc::Status ClientAdminService::ListClients(grpc::ServerContext* /*context*/,
                                             const clientreg::v1::ListClientsRequest* request,
                                             clientreg::v1::ListClientsResponse* response) {
  return ToGrpcResponse(admin_->ListClients(*request), response);
}

grpc::Status ClientAdminService::DisableClient(grpc::ServerContext* /*context*/,
                                               const clientreg::v1::ClientIdRequest* request,
                                               clientreg::v1::ClientRecord* response) {
  return ToGrpcResponse(admin_->DisableClient(request->client_id()), response);
}

grpc::Status ClientAdminService::EnableClient(grpc::ServerContext* /*context*/,
                                              const clientreg::v1::ClientIdRequest* request,
                                              clientreg::v1::ClientRecord* response) {
  return ToGrpcResponse(admin_->EnableClient(request->client_id()), response);
}

grpc::Status ClientAdminService::DeleteClient(grpc::ServerContext* /*context*/,
                                              const clientreg::v1::ClientIdRequest* request,
                                              clientreg::v1::DeleteClientResponse* /*response*/) {
  return ToGrpcStatus(admin_->DeleteClient(request->client_id()));
}

grpc::Status ClientAdminService::RotateClientSecret(grpc::ServerContext* /*context*/,
                                                    const clientreg::v1::RotateClientSecretRequest* request,
                                                    clientreg::v1::RotateClientSecretResponse* response) {
  return ToGrpcResponse(admin_->RotateClientSecret(*request), response);
}

grpc::Status ClientAdminService::Backup(grpc::ServerContext* /*context*/, const clientreg::v1::BackupRequest* request,
                                        clientreg::v1::BackupResponse* response) {
  return ToGrpcResponse(admin_->Backup(request->dir()), response);
}

grpc::Status ClientAdminService::CreateInitialAccessToken(grpc::ServerContext* /*context*/,
                                                          const clientreg::v1::CreateInitialAccessTokenRequest* request,
                                                          clientreg::v1::CreateInitialAccessTokenResponse* response) {
  return ToGrpcResponse(tokens_->CreateToken(*request), response);
}

grpc::Status ClientAdminService::ListInitialAccessTokens(
    grpc::ServerContext* /*context*/, const clientreg::v1::ListInitialAccessTokensRequest* /*request*/,
    clientreg::v1::ListInitialAccessTokensResponse* response) {
  return ToGrpcResponse(tokens_->ListTokens(), response);
}

grpc::Status ClientAdminService::RevokeInitialAccessToken(grpc::ServerContext* /*context*/,
                                                          const clientreg::v1::RevokeInitialAccessTokenRequest* request,
                                                          clientreg::v1::InitialAccessToken* response) {
  return ToGrpcResponse(tokens_->RevokeToken(request->id()), response);
}

}  // namespace clientreg::server
