// The shipped clientreg-server binary, killed with SIGKILL while registrations are in flight, loses no
// acknowledged client: every registration that got OK is in the store afterwards, with its secret's digest.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clientreg/v1/registration.grpc.pb.h"
#include "common/secrets.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_client_store.h"
#include "tests/e2e/shipped_binaries.h"
#include "tests/status_matchers.h"
#include "tests/support/child_process.h"

namespace clientreg::testing {
namespace {

struct Acknowledged {
  std::string id, secret;
};

TEST(CrashRestartTest, KillNineLosesNoAcknowledgedRegistration) {
  const std::string data_dir = MakeTempDir("clientreg-crash-");
  ASSERT_FALSE(data_dir.empty());
  const uint16_t port = FreeLoopbackPort();
  std::unique_ptr<ChildProcess> server = StartServerBinary(data_dir, port, 0, "");
  ASSERT_TRUE(server->running());

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)));
  auto stub = clientreg::v1::ClientRegistration::NewStub(channel);

  std::mutex mutex;
  std::vector<Acknowledged> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      while (!stop.load()) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        clientreg::v1::RegisterRequest request;
        request.mutable_metadata()->mutable_redirect_uris()->add_values("https://c.example/cb");
        clientreg::v1::ClientInformation response;
        if (stub->Register(&context, request, &response).ok()) {
          std::lock_guard<std::mutex> lock(mutex);
          acknowledged.push_back({response.client_id(), response.client_secret()});
        }
      }
    });
  }
  // Let writes pile up, then kill the process mid-stream.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (acknowledged.size() >= 300) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(server->Kill().has_value());
  stop.store(true);
  for (auto& writer : writers) writer.join();
  ASSERT_GT(acknowledged.size(), 0u);

  ASSERT_OK_AND_ASSIGN(const std::string key, common::LoadOrCreateServerKey(data_dir + "/server.key"));
  {
    ASSERT_OK_AND_ASSIGN(auto store, storage::OpenRocksDbClientStore(data_dir + "/clients"));
    for (const Acknowledged& client : acknowledged) {
      ASSERT_OK_AND_ASSIGN(const auto stored, store->Get(client.id));
      ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(key, client.secret));
      EXPECT_EQ(stored.client_secret_digest(), digest);
    }
  }

  // The binary restarts on the same data dir and serves again.
  server = StartServerBinary(data_dir, port, 0, "");
  auto channel2 = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel2->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)));
  grpc::ClientContext context;
  clientreg::v1::RegisterRequest request;
  request.mutable_metadata()->mutable_redirect_uris()->add_values("https://c.example/cb");
  clientreg::v1::ClientInformation response;
  EXPECT_TRUE(clientreg::v1::ClientRegistration::NewStub(channel2)->Register(&context, request, &response).ok());
  EXPECT_EQ(server->Terminate(std::chrono::seconds(15)), "exited with status 0") << "SIGTERM must stop it cleanly";
  std::error_code ignored;
  std::filesystem::remove_all(data_dir, ignored);
}

}  // namespace
}  // namespace clientreg::testing
