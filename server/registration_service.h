#ifndef CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
#define CLIENTREG_SERVER_REGISTRATION_SERVICE_H_

#include "clientreg/v1/registration.grpc.pb.h"
#include "server/initial_access_tokens.h"
#include "server/registrar.h"
#include "server/registration_manager.h"
#include "server/rpc_metrics.h"

namespace clientreg::server {

// The gRPC face of the Registrar and the RegistrationManager. Each method only converts the result with
// ToGrpcStatus; the statuses are those documented on the logic classes.
//
// Register, the hot path, uses the callback API: it validates on the thread that read the call and is answered by
// a committer thread of the store once its write is durable, so no thread waits for the disk per registration. The
// management calls keep the synchronous API (a handler thread each, on the server's bounded thread quota).
class RegistrationService final : public clientreg::v1::ClientRegistration::WithCallbackMethod_Register<
                                      clientreg::v1::ClientRegistration::Service> {
 public:
  // `registrar`, `tokens` (the initial access token check of Register) and `manager` must outlive the service, and
  // `metrics` too when set (it counts registrations by outcome). `server_metadata` is BuildServerMetadata(config).
  RegistrationService(const Registrar* registrar, const InitialAccessTokens* tokens, const RegistrationManager* manager,
                      clientreg::v1::ServerMetadata server_metadata, ServerMetrics* metrics = nullptr);

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const clientreg::v1::RegisterRequest* request,
                                     clientreg::v1::ClientInformation* response) override;
  grpc::Status GetRegistration(grpc::ServerContext* context, const clientreg::v1::GetRegistrationRequest* request,
                               clientreg::v1::ClientInformation* response) override;
  grpc::Status UpdateRegistration(grpc::ServerContext* context, const clientreg::v1::UpdateRegistrationRequest* request,
                                  clientreg::v1::ClientInformation* response) override;
  grpc::Status DeleteRegistration(grpc::ServerContext* context, const clientreg::v1::DeleteRegistrationRequest* request,
                                  clientreg::v1::DeleteRegistrationResponse* response) override;
  grpc::Status GetServerMetadata(grpc::ServerContext* context, const clientreg::v1::GetServerMetadataRequest* request,
                                 clientreg::v1::ServerMetadata* response) override;

 private:
  const Registrar* registrar_;
  const InitialAccessTokens* tokens_;
  const RegistrationManager* manager_;
  const clientreg::v1::ServerMetadata server_metadata_;
  ServerMetrics* const metrics_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
