// The gateway's gRPC client against a real server on loopback that never answers: deadlines count from submission,
// the queue included, so a stalled server costs a caller at most the deadline, never the queue's length in deadlines.
#include "gateway/registration_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "clientreg/v1/registration.grpc.pb.h"
#include "gateway/cancellation.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

// Holds every GetServerMetadata until the caller gives up, counting the calls that arrive and those cancelled.
class StalledService final : public clientreg::v1::ClientRegistration::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetServerMetadata(grpc::CallbackServerContext* /*context*/,
                                              const clientreg::v1::GetServerMetadataRequest* /*request*/,
                                              clientreg::v1::ServerMetadata* /*response*/) override {
    class Held final : public grpc::ServerUnaryReactor {
     public:
      explicit Held(std::atomic<int>* cancelled) : cancelled_(cancelled) {}
      void OnCancel() override {
        cancelled_->fetch_add(1);
        Finish(grpc::Status::CANCELLED);
      }
      void OnDone() override { delete this; }

     private:
      std::atomic<int>* cancelled_;
    };
    arrived.fetch_add(1);
    return new Held(&cancelled);
  }

  std::atomic<int> arrived{0};
  std::atomic<int> cancelled{0};
};

// `service` on a loopback port, which is written to `port`.
std::unique_ptr<grpc::Server> StartServer(StalledService& service, int& port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  return builder.BuildAndStart();
}

bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

TEST(RegistrationClientTest, QueuedCallsWaitAtMostTheirDeadlineInAll) {
  StalledService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartServer(service, port);
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

TEST(RegistrationClientTest, CancellationStopsCallsInFlightAndInTheQueue) {
  StalledService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartServer(service, port);
  ASSERT_NE(server, nullptr);

  RegistrationClient::Options options;
  options.max_inflight = 1;
  options.deadline = std::chrono::seconds(60);  // far beyond the test: only the cancellation can end the calls
  auto client = std::make_unique<RegistrationClient>(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()), options);

  std::mutex mutex;
  std::vector<grpc::StatusCode> codes;
  auto record = [&](grpc::Status status, clientreg::v1::ServerMetadata) {
    std::lock_guard<std::mutex> lock(mutex);
    codes.push_back(status.error_code());
  };
  auto finished = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return codes.size();
  };
  RegistrationClient::CallerContext in_flight;
  in_flight.cancellation = std::make_shared<Cancellation>();
  RegistrationClient::CallerContext queued;
  queued.cancellation = std::make_shared<Cancellation>();
  client->GetServerMetadata({}, in_flight, record);
  ASSERT_TRUE(Eventually([&] { return service.arrived.load() == 1; }));
  client->GetServerMetadata({}, queued, record);  // waits behind the first: max_inflight is 1

  // The queued call's client goes first, then the one in flight: both end at once, and only one call ever reached
  // the server, where it was cancelled.
  queued.cancellation->Cancel();
  in_flight.cancellation->Cancel();
  ASSERT_TRUE(Eventually([&] { return finished() == 2; }));
  EXPECT_THAT(codes, ::testing::Each(grpc::StatusCode::CANCELLED));
  EXPECT_TRUE(Eventually([&] { return service.cancelled.load() == 1; }));
  EXPECT_EQ(service.arrived.load(), 1);
  EXPECT_TRUE(Eventually([&] { return client->inflight() == 0; }));

  // A caller cancelled before its call is submitted never reaches the server either.
  RegistrationClient::CallerContext early;
  early.cancellation = std::make_shared<Cancellation>();
  early.cancellation->Cancel();
  client->GetServerMetadata({}, early, record);
  ASSERT_TRUE(Eventually([&] { return finished() == 3; }));
  EXPECT_EQ(codes.back(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(service.arrived.load(), 1);

  client.reset();
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace clientreg::gateway
