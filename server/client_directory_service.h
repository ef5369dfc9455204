#ifndef CLIENTREG_SERVER_CLIENT_DIRECTORY_SERVICE_H_
#define CLIENTREG_SERVER_CLIENT_DIRECTORY_SERVICE_H_

#include "clientreg/v1/directory.grpc.pb.h"
#include "server/caller_authorizer.h"
#include "server/client_directory.h"

namespace clientreg::server {

// The gRPC face of the ClientDirectory, for callers the CallerAuthorizer allows ClientDirectory (UNAUTHENTICATED,
// PERMISSION_DENIED otherwise): statuses as ClientDirectory describes them, converted by ToGrpcStatus.
//
// Callback API, answered inline on the thread that read the call, like AuthenticateClient, for a registered client
// or a cached metadata document: one or two cached reads and a little CPU on the authorization server's hot path,
// less work than handing the call to a handler thread would cost. A metadata document that must be fetched is
// answered from the CIMD fetch thread when the fetch ends; no gRPC thread waits for it.
class ClientDirectoryService final : public clientreg::v1::ClientDirectory::CallbackService {
 public:
  // `directory` and `callers` must outlive the service.
  ClientDirectoryService(ClientDirectory* directory, const CallerAuthorizer* callers)
      : directory_(directory), callers_(callers) {}

  grpc::ServerUnaryReactor* ResolveClient(grpc::CallbackServerContext* context,
                                          const clientreg::v1::ResolveClientRequest* request,
                                          clientreg::v1::ResolvedClient* response) override;
  grpc::ServerUnaryReactor* CheckRedirectUri(grpc::CallbackServerContext* context,
                                             const clientreg::v1::CheckRedirectUriRequest* request,
                                             clientreg::v1::CheckRedirectUriResponse* response) override;

 private:
  ClientDirectory* directory_;
  const CallerAuthorizer* callers_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_DIRECTORY_SERVICE_H_
