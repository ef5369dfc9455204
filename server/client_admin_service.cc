#include "server/client_admin_service.h"

#include <string_view>
#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {
namespace {

constexpr std::string_view kService = clientreg::v1::ClientAdmin::service_full_name();

}  // namespace

grpc::Status ClientAdminService::GetClient(grpc::ServerContext* context, const clientreg::v1::GetClientRequest* request,
                                           clientreg::v1::ClientRecord* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->GetClient(request->client_id()), response);
}

grpc::Status ClientAdminService::ListClients(grpc::ServerContext* context,
                                             const clientreg::v1::ListClientsRequest* request,
                                             clientreg::v1::ListClientsResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->ListClients(*request), response);
}

grpc::Status ClientAdminService::DisableClient(grpc::ServerContext* context,
                                               const clientreg::v1::ClientIdRequest* request,
                                               clientreg::v1::ClientRecord* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->DisableClient(request->client_id()), response);
}

grpc::Status ClientAdminService::EnableClient(grpc::ServerContext* context,
                                              const clientreg::v1::ClientIdRequest* request,
                                              clientreg::v1::ClientRecord* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->EnableClient(request->client_id()), response);
}

grpc::Status ClientAdminService::DeleteClient(grpc::ServerContext* context,
                                              const clientreg::v1::ClientIdRequest* request,
                                              clientreg::v1::DeleteClientResponse* /*response*/) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcStatus(admin_->DeleteClient(request->client_id()));
}

grpc::Status ClientAdminService::RotateClientSecret(grpc::ServerContext* context,
                                                    const clientreg::v1::RotateClientSecretRequest* request,
                                                    clientreg::v1::RotateClientSecretResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->RotateClientSecret(*request), response);
}

grpc::Status ClientAdminService::Backup(grpc::ServerContext* context, const clientreg::v1::BackupRequest* request,
                                        clientreg::v1::BackupResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->Backup(request->dir()), response);
}

grpc::Status ClientAdminService::CreateInitialAccessToken(grpc::ServerContext* context,
                                                          const clientreg::v1::CreateInitialAccessTokenRequest* request,
                                                          clientreg::v1::CreateInitialAccessTokenResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(tokens_->CreateToken(*request), response);
}

grpc::Status ClientAdminService::ListInitialAccessTokens(
    grpc::ServerContext* context, const clientreg::v1::ListInitialAccessTokensRequest* /*request*/,
    clientreg::v1::ListInitialAccessTokensResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(tokens_->ListTokens(), response);
}

grpc::Status ClientAdminService::RevokeInitialAccessToken(grpc::ServerContext* context,
                                                          const clientreg::v1::RevokeInitialAccessTokenRequest* request,
                                                          clientreg::v1::InitialAccessToken* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(tokens_->RevokeToken(request->id()), response);
}

grpc::Status ClientAdminService::Reap(grpc::ServerContext* context, const clientreg::v1::ReapRequest* request,
                                      clientreg::v1::ReapResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  const uint32_t requested = request->limit() == 0 ? ClientAdmin::kDefaultPageSize : request->limit();
  absl::StatusOr<ClientReaper::Pass> pass =
      reaper_->RunPass(std::min(requested, std::max<uint32_t>(max_page_size_, 1)), request->dry_run());
  if (!pass.ok()) return ToGrpcStatus(pass.status());
  for (clientreg::v1::StoredTombstone& client : pass->clients) *response->add_clients() = std::move(client);
  response->set_more(pass->more);
  return grpc::Status::OK;
}

grpc::Status ClientAdminService::ListReapedClients(grpc::ServerContext* context,
                                                   const clientreg::v1::ListReapedClientsRequest* request,
                                                   clientreg::v1::ListReapedClientsResponse* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(admin_->ListReapedClients(*request), response);
}

}  // namespace clientreg::server
