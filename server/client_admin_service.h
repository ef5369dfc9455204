#ifndef CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_
#define CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_

#include "clientreg/v1/admin.grpc.pb.h"
#include "server/caller_authorizer.h"
#include "server/client_admin.h"
#include "server/client_reaper.h"
#include "server/initial_access_tokens.h"

namespace clientreg::server {

// The gRPC face of ClientAdmin, and of InitialAccessTokens for the token RPCs: each RPC calls the method of the same
// name (CreateToken, ListTokens, RevokeToken for the tokens), and its status goes through ToGrpcStatus (NOT_FOUND,
// INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION, UNAVAILABLE as those classes document). Each first asks
// `callers` whether the caller may call ClientAdmin (UNAUTHENTICATED, PERMISSION_DENIED). Reap runs a pass of
// `reaper` (FAILED_PRECONDITION when no lifecycle rule is configured).
class ClientAdminService final : public clientreg::v1::ClientAdmin::Service {
 public:
  // `admin`, `tokens`, `reaper` and `callers` must outlive the service.
  ClientAdminService(ClientAdmin* admin, const InitialAccessTokens* tokens, ClientReaper* reaper,
                     const CallerAuthorizer* callers, uint32_t max_page_size)
      : admin_(admin), tokens_(tokens), reaper_(reaper), callers_(callers), max_page_size_(max_page_size) {}

  grpc::Status GetClient(grpc::ServerContext* context, const clientreg::v1::GetClientRequest* request,
                         clientreg::v1::ClientRecord* response) override;
  grpc::Status ListClients(grpc::ServerContext* context, const clientreg::v1::ListClientsRequest* request,
                           clientreg::v1::ListClientsResponse* response) override;
  grpc::Status DisableClient(grpc::ServerContext* context, const clientreg::v1::ClientIdRequest* request,
                             clientreg::v1::ClientRecord* response) override;
  grpc::Status EnableClient(grpc::ServerContext* context, const clientreg::v1::ClientIdRequest* request,
                            clientreg::v1::ClientRecord* response) override;
  grpc::Status DeleteClient(grpc::ServerContext* context, const clientreg::v1::ClientIdRequest* request,
                            clientreg::v1::DeleteClientResponse* response) override;
  grpc::Status RotateClientSecret(grpc::ServerContext* context, const clientreg::v1::RotateClientSecretRequest* request,
                                  clientreg::v1::RotateClientSecretResponse* response) override;
  grpc::Status Backup(grpc::ServerContext* context, const clientreg::v1::BackupRequest* request,
                      clientreg::v1::BackupResponse* response) override;
  grpc::Status CreateInitialAccessToken(grpc::ServerContext* context,
                                        const clientreg::v1::CreateInitialAccessTokenRequest* request,
                                        clientreg::v1::CreateInitialAccessTokenResponse* response) override;
  grpc::Status ListInitialAccessTokens(grpc::ServerContext* context,
                                       const clientreg::v1::ListInitialAccessTokensRequest* request,
                                       clientreg::v1::ListInitialAccessTokensResponse* response) override;
  grpc::Status RevokeInitialAccessToken(grpc::ServerContext* context,
                                        const clientreg::v1::RevokeInitialAccessTokenRequest* request,
                                        clientreg::v1::InitialAccessToken* response) override;
  grpc::Status Reap(grpc::ServerContext* context, const clientreg::v1::ReapRequest* request,
                    clientreg::v1::ReapResponse* response) override;
  grpc::Status ListReapedClients(grpc::ServerContext* context, const clientreg::v1::ListReapedClientsRequest* request,
                                 clientreg::v1::ListReapedClientsResponse* response) override;

 private:
  ClientAdmin* admin_;
  const InitialAccessTokens* tokens_;
  ClientReaper* reaper_;
  const CallerAuthorizer* callers_;
  uint32_t max_page_size_;  // ServerConfig.max_list_page_size: the cap of a Reap's limit
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_
