// The gateway's gRPC client against a real server on loopback that never answers: deadlines count from submission,
// the queue included, so a stalled server costs a caller at most the deadline, never the queue's length in deadlines.
#include "gateway/registration_client.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "clientreg/v1/registration.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

// Holds every GetServerMetadata until the caller gives up.
class StalledService final : public clientreg::v1::ClientRegistration::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetServerMetadata(grpc::CallbackServerContext* /*context*/,
                                              const clientreg::v1::GetServerMetadataRequest* /*request*/,
                                              clientreg::v1::ServerMetadata* /*response*/) override {
    class Held final : public grpc::ServerUnaryReactor {
     public:
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    return new Held();
  }
};

TEST(RegistrationClientTest, QueuedCallsWaitAtMostTheirDeadlineInAll) {
  StalledService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  RegistrationClient::Options options;
  options.max_inflight = 2;
  options.max_queued = 1000;
  options.deadline = std::chrono::milliseconds(400);
  auto client = std::make_unique<RegistrationClient>(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()), options);

  constexpr int kCalls = 200;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<grpc::StatusCode> codes;
  std::vector<std::chrono::milliseconds> waits;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    client->GetServerMetadata({}, {}, [&](grpc::Status status, clientreg::v1::ServerMetadata) {
      std::lock_guard<std::mutex> lock(mutex);
      codes.push_back(status.error_code());
      waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start));
      all_done.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(20), [&] { return codes.size() == kCalls; }));
  // The first calls ran into their deadline on the server (a few queued right behind them may still have had a
  // millisecond left when a slot freed); every other one expired in the queue and was answered UNAVAILABLE.
  const auto expired_on_server = std::count(codes.begin(), codes.end(), grpc::StatusCode::DEADLINE_EXCEEDED);
  const auto expired_in_queue = std::count(codes.begin(), codes.end(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(expired_on_server + expired_in_queue, kCalls);
  EXPECT_GE(expired_in_queue, kCalls - 10);
  // Before the fix the last call waited kCalls / max_inflight deadlines (40 s here); now about one.
  EXPECT_LT(*std::max_element(waits.begin(), waits.end()), std::chrono::milliseconds(2000));
  lock.unlock();
  client.reset();
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace clientreg::gateway
