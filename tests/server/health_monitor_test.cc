#include "server/health_monitor.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr char kService[] = "clientreg.v1.ClientRegistration";

// The real RocksDB store, with a health answer the test can override, as a failing disk would.
class ScriptedHealthStore final : public testing::ForwardingClientStore {
 public:
  using ForwardingClientStore::ForwardingClientStore;
  absl::Status CheckHealth() override {
    {
      absl::MutexLock lock(&mutex_);
      ++checks_;
      if (!failure_.ok()) return failure_;
    }
    return ForwardingClientStore::CheckHealth();
  }
  void Fail(absl::Status failure) {
    absl::MutexLock lock(&mutex_);
    failure_ = std::move(failure);
  }
  int checks() {
    absl::MutexLock lock(&mutex_);
    return checks_;
  }

 private:
  absl::Mutex mutex_;
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  int checks_ ABSL_GUARDED_BY(mutex_) = 0;
};

// A real gRPC server with gRPC's default health service, and a typed grpc.health.v1 client to it.
class HealthMonitorTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    scripted_ = std::make_unique<ScriptedHealthStore>(store_.get());
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    // A server needs one service of its own to poll for calls; the health service rides on it.
    builder.RegisterCallbackGenericService(&generic_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    monitor_.reset();
    server_->Shutdown();
    ClientStoreFixture::TearDown();
  }

  void StartMonitor(std::chrono::milliseconds interval = std::chrono::hours(1)) {
    monitor_ = std::make_unique<HealthMonitor>(scripted_.get(), HealthMonitor::Options{interval, {kService}});
    monitor_->Start(server_->GetHealthCheckService());
  }

  HealthCheckResponse::ServingStatus Check(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status = stub_->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  std::unique_ptr<ScriptedHealthStore> scripted_;
  grpc::CallbackGenericService generic_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  std::unique_ptr<HealthMonitor> monitor_;
};

TEST_F(HealthMonitorTest, ServingWhileTheStoreAnswers) {
  StartMonitor();
  EXPECT_TRUE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(kService), HealthCheckResponse::SERVING);
  for (const common::HealthCheckResult& check : monitor_->Checks()) EXPECT_TRUE(check.ok) << check.name;
}

TEST_F(HealthMonitorTest, AFailedStoreIsNotServingUntilItRecovers) {
  scripted_->Fail(absl::UnavailableError("disk refuses writes"));
  // The first answer is already real: the monitor checked before Start.
  StartMonitor();
  EXPECT_FALSE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(kService), HealthCheckResponse::NOT_SERVING);
  const auto checks = monitor_->Checks();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "store");
  EXPECT_FALSE(checks[0].ok);
  EXPECT_EQ(checks[0].detail, "disk refuses writes");

  scripted_->Fail(absl::OkStatus());
  monitor_->CheckNow();
  EXPECT_TRUE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
}

TEST_F(HealthMonitorTest, ChecksPeriodicallyByItself) {
  StartMonitor(std::chrono::milliseconds(20));
  scripted_->Fail(absl::UnavailableError("gone"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (monitor_->Ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_GE(scripted_->checks(), 2);
  scripted_->Fail(absl::OkStatus());
  while (!monitor_->Ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
}

TEST_F(HealthMonitorTest, DrainingIsNotServingWhateverTheStoreSays) {
  StartMonitor();
  monitor_->SetDraining();
  EXPECT_FALSE(monitor_->Ready());
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(kService), HealthCheckResponse::NOT_SERVING);
  monitor_->CheckNow();
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(monitor_->Checks()[1].ok);
}

TEST_F(HealthMonitorTest, StopIsPromptAndIdempotent) {
  StartMonitor(std::chrono::hours(1));
  const auto start = std::chrono::steady_clock::now();
  monitor_->Stop();
  monitor_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace clientreg::server
