#ifndef CLIENTREG_SERVER_AUTHENTICATION_SERVICE_H_
#define CLIENTREG_SERVER_AUTHENTICATION_SERVICE_H_

#include "clientreg/v1/admin.grpc.pb.h"
#include "server/caller_authorizer.h"
#include "server/client_authenticator.h"

namespace clientreg::server {

// The gRPC face of the ClientAuthenticator, for callers the CallerAuthorizer allows ClientAuthentication
// (UNAUTHENTICATED, PERMISSION_DENIED otherwise): statuses as ClientAuthenticator::Authenticate describes them,
// converted by ToGrpcStatus (the RegistrationError travels as the status details).
//
// Callback API, answered inline on the thread that read the call: authentication is a short CPU step and one
// cached read, so handing it to a handler thread would cost more (two thread wake-ups) than the work itself.
class AuthenticationService final : public clientreg::v1::ClientAuthentication::CallbackService {
 public:
  // `authenticator` and `callers` must outlive the service.
  AuthenticationService(ClientAuthenticator* authenticator, const CallerAuthorizer* callers)
      : authenticator_(authenticator), callers_(callers) {}

  grpc::ServerUnaryReactor* AuthenticateClient(grpc::CallbackServerContext* context,
                                               const clientreg::v1::AuthenticateClientRequest* request,
                                               clientreg::v1::AuthenticateClientResponse* response) override;

 private:
  ClientAuthenticator* authenticator_;
  const CallerAuthorizer* callers_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_AUTHENTICATION_SERVICE_H_
