#ifndef CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_
#define CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_

#include "clientreg/v1/admin.grpc.pb.h"
#include "server/caller_authorizer.h"
#include "server/client_admin.h"

namespace clientreg::server {

// The gRPC face of ClientAdmin: each RPC calls the method of the same name, and its status goes through
// ToGrpcStatus (NOT_FOUND, INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION, UNAVAILABLE as ClientAdmin
// documents). Each first asks `callers` whether the caller may call ClientAdmin (UNAUTHENTICATED, PERMISSION_DENIED).
class ClientAdminService final : public clientreg::v1::ClientAdmin::Service {
 public:
  // `admin` and `callers` must outlive the service.
  ClientAdminService(ClientAdmin* admin, const CallerAuthorizer* callers) : admin_(admin), callers_(callers) {}

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

 private:
  ClientAdmin* admin_;
  const CallerAuthorizer* callers_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_ADMIN_SERVICE_H_
