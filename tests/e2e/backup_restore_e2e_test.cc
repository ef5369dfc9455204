// Backup and restore as README's "Backup, restore and upgrade" tells an operator to do them: `clientreg-admin
// backup` while the server runs, then, with the server stopped, the backup in place of <data_dir>/clients.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_fixture.h"
#include "tools/admin_commands.h"

namespace clientreg::testing {
namespace {

struct Registered {
  std::string client_id;
  std::string client_secret;
};

class BackupRestoreE2eTest : public ServiceFixture {
 protected:
  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials());
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  Registered Register() {
    clientreg::v1::RegisterRequest request;
    request.mutable_metadata()->mutable_redirect_uris()->add_values("https://app.example/cb");
    clientreg::v1::ClientInformation info;
    grpc::ClientContext context;
    const grpc::Status status =
        clientreg::v1::ClientRegistration::NewStub(Channel())->Register(&context, request, &info);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(info.client_secret().empty());
    return {info.client_id(), info.client_secret()};
  }

  grpc::Status Authenticate(const Registered& client) {
    clientreg::v1::AuthenticateClientRequest request;
    request.set_client_id(client.client_id);
    request.set_client_secret(client.client_secret);
    clientreg::v1::AuthenticateClientResponse response;
    grpc::ClientContext context;
    return clientreg::v1::ClientAuthentication::NewStub(Channel())->AuthenticateClient(&context, request, &response);
  }

  // clientreg-admin against the running server; its exit code, with stderr in `err`.
  int Admin(std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.begin(), "--server=" + Address());
    std::ostringstream out;
    std::ostringstream errors;
    const int code = tools::RunAdminCli(args, nullptr, out, errors);
    if (err != nullptr) *err = errors.str();
    return code;
  }
};

TEST_F(BackupRestoreE2eTest, RestoredBackupBringsBackADeletedClientThatAuthenticates) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const Registered kept = Register();
  const Registered deleted = Register();
  // Outside the store, on its file system: hard links, as README suggests.
  const std::string backup = data_dir() + "/backup-1";
  std::string err;
  ASSERT_EQ(Admin({"backup", backup}, &err), tools::kExitOk) << err;
  ASSERT_EQ(Admin({"delete", deleted.client_id}, &err), tools::kExitOk) << err;
  EXPECT_EQ(Authenticate(deleted).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const Registered after_backup = Register();

  StopServer();
  std::filesystem::remove_all(store_path());
  std::filesystem::rename(backup, store_path());
  ASSERT_NO_FATAL_FAILURE(StartServer());

  // The same server.key stayed in the data dir, so the stored digests still match the secrets.
  const grpc::Status restored = Authenticate(deleted);
  EXPECT_TRUE(restored.ok()) << restored.error_message();
  const grpc::Status still = Authenticate(kept);
  EXPECT_TRUE(still.ok()) << still.error_message();
  // The store is as it was at the backup: what came after is gone.
  EXPECT_EQ(Authenticate(after_backup).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Admin({"get", after_backup.client_id}), tools::kExitRpcError);
}

}  // namespace
}  // namespace clientreg::testing
