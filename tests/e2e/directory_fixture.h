#ifndef CLIENTREG_TESTS_E2E_DIRECTORY_FIXTURE_H_
#define CLIENTREG_TESTS_E2E_DIRECTORY_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "grpcpp/support/status.h"
#include "tests/e2e/service_fixture.h"

namespace clientreg::testing {

// The authorization server's side of the service end to end: the real server and gateway (ServiceFixture), gRPC
// stubs of ClientDirectory and ClientAdmin, registration through the gateway, and the shipped clientreg-admin
// binary run as a child process.
class DirectoryFixture : public ServiceFixture {
 protected:
  // Starts the server with server_config_ as it stands, a gateway in front of it, and the stubs.
  void Start();

  // POST /oauth/register through the gateway; the body (a non-201 fails the test).
  std::string Register(const std::string& body);

  // ClientDirectory.ResolveClient and CheckRedirectUri, with a 10 s deadline.
  grpc::Status Resolve(const std::string& client_id, clientreg::v1::ResolveClientRequest::Purpose purpose,
                       clientreg::v1::ResolvedClient* resolved);
  grpc::Status Check(const std::string& client_id, const std::string& redirect_uri,
                     clientreg::v1::CheckRedirectUriResponse* answer);

  // Runs the shipped clientreg-admin against the server with `args`; its exit code (-1 if it did not exit within
  // 30 s or was killed), with stdout and stderr in `output`.
  int Admin(const std::vector<std::string>& args, std::string* output);

  std::unique_ptr<clientreg::v1::ClientDirectory::Stub> directory_;
  std::unique_ptr<clientreg::v1::ClientAdmin::Stub> admin_;

 private:
  int admin_runs_ = 0;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_E2E_DIRECTORY_FIXTURE_H_
