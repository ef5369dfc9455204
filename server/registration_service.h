#ifndef CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
#define CLIENTREG_SERVER_REGISTRATION_SERVICE_H_

#include "clientreg/v1/registration.grpc.pb.h"
#include "server/registrar.h"
#include "server/registration_manager.h"

namespace clientreg::server {

// The gRPC face of the Registrar and the RegistrationManager (synchronous API: a durable write blocks its handler
// thread, and concurrent handlers share RocksDB's group commit). Each method only converts the result with
// ToGrpcStatus; the statuses are those documented on the logic classes.
class RegistrationService final : public clientreg::v1::ClientRegistration::Service {
 public:
  // `registrar` and `manager` must outlive the service. `server_metadata` is BuildServerMetadata(config).
  RegistrationService(const Registrar* registrar, const RegistrationManager* manager,
                      clientreg::v1::ServerMetadata server_metadata);

  grpc::Status Register(grpc::ServerContext* context, const clientreg::v1::RegisterRequest* request,
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
  const RegistrationManager* manager_;
  const clientreg::v1::ServerMetadata server_metadata_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
