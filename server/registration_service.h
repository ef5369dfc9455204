#ifndef CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
#define CLIENTREG_SERVER_REGISTRATION_SERVICE_H_

#include "clientreg/v1/registration.grpc.pb.h"
#include "server/registrar.h"

namespace clientreg::server {

// The gRPC face of the Registrar (synchronous API: a durable write blocks its handler thread, and concurrent
// handlers share RocksDB's group commit).
class RegistrationService final : public clientreg::v1::ClientRegistration::Service {
 public:
  // `registrar` must outlive the service.
  explicit RegistrationService(const Registrar* registrar) : registrar_(registrar) {}

  grpc::Status Register(grpc::ServerContext* context, const clientreg::v1::RegisterRequest* request,
                        clientreg::v1::ClientInformation* response) override;

 private:
  const Registrar* registrar_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
