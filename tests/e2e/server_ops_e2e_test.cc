// End to end for the server's side of issue 10: the ops port (/healthz, /readyz, /metrics) and gRPC's health service
// of the real server, with the real gateway in front, RocksDB in a temp dir, and a failing disk where it matters.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "storage/rocksdb_client_store.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/fault_injection_fs.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using ::grpc::health::v1::HealthCheckResponse;

constexpr char kRegistration[] = R"({"redirect_uris":["https://c.example/cb"]})";

class ServerOpsE2eTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    server_config_.set_ops_listen_address("127.0.0.1:0");
  }

  RawResponse OpsGet(const std::string& path) {
    const auto response =
        RoundTrip(server_->ops_port(), "GET " + path + " HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(response.has_value()) << path;
    return response.value_or(RawResponse{});
  }

  RawResponse Register(const std::string& body) {
    const auto response = RoundTrip(http_port(), PostRequest("/oauth/register", body));
    EXPECT_TRUE(response.has_value());
    return response.value_or(RawResponse{});
  }

  HealthCheckResponse::ServingStatus GrpcHealth(const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  // Polls /readyz until it answers `status`, for at most 10 s (the monitor checks the store every second).
  bool AwaitReadyz(int status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (OpsGet("/readyz").status == status) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

TEST_F(ServerOpsE2eTest, HealthAndReadinessWhileTheStoreAnswers) {
  StartServer();
  ASSERT_NE(server_->ops_port(), 0);
  const RawResponse healthz = OpsGet("/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(JsonView(healthz.body).String("status"), "ok");
  const RawResponse readyz = OpsGet("/readyz");
  EXPECT_EQ(readyz.status, 200) << readyz.body;
  EXPECT_EQ(readyz.Header("content-type"), "application/json");
  EXPECT_EQ(readyz.Header("cache-control"), "no-store");
  EXPECT_EQ(JsonView(readyz.body).String("status"), "ready");
  EXPECT_NE(readyz.body.find(R"("store":{"status":"ok"})"), std::string::npos) << readyz.body;

  for (const char* service :
       {"", "clientreg.v1.ClientRegistration", "clientreg.v1.ClientAuthentication", "clientreg.v1.ClientAdmin"}) {
    EXPECT_EQ(GrpcHealth(service), HealthCheckResponse::SERVING) << service;
  }
}

TEST_F(ServerOpsE2eTest, MetricsCountRegistrationsTokenChecksAndRpcs) {
  StartServer();
  StartGateway();
  const RawResponse created = Register(kRegistration);
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(Register(R"({"redirect_uris":["http://c.example/cb"]})").status, 400);
  const JsonView info(created.body);
  const std::string path = "/oauth/register/" + info.String("client_id").value_or("");
  const std::string token = info.String("registration_access_token").value_or("");
  const auto read = RoundTrip(http_port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                               "Authorization: Bearer " + token + "\r\n\r\n");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status, 200);
  const auto wrong = RoundTrip(http_port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                                "Authorization: Bearer wrong-token\r\n\r\n");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 401);

  const RawResponse metrics = OpsGet("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line : {
           "clientreg_registrations_total{outcome=\"created\"} 1\n",
           "clientreg_registrations_total{outcome=\"invalid\"} 1\n",
           "clientreg_registration_token_checks_total{outcome=\"ok\"} 1\n",
           "clientreg_registration_token_checks_total{outcome=\"invalid\"} 1\n",
           "clientreg_rpc_duration_seconds_count{method=\"Register\"} 2\n",
           "clientreg_rpc_duration_seconds_count{method=\"GetRegistration\"} 2\n",
           "# TYPE clientreg_client_authentications_total counter\n",
           "clientreg_log_lines_dropped_total 0\n",
           "clientreg_clients{state=\"active\"} 1\n",
           "clientreg_clients{state=\"disabled\"} 0\n",
           "clientreg_store_group_size_count 1\n",
           "clientreg_store_errors_total 0\n",
           "# TYPE clientreg_store_write_duration_seconds histogram\n",
       }) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << "missing " << line << " in\n" << metrics.body;
  }
  EXPECT_NE(metrics.body.find("clientreg_build_info{version=\""), std::string::npos);
  // Nothing of a client's credentials in the scrape.
  EXPECT_EQ(metrics.body.find(token), std::string::npos);
}

// A caller names the method it calls; the rpc_duration_seconds label must not take it up, or every distinct made-up
// name would add a series (and memory) for good.
TEST_F(ServerOpsE2eTest, MadeUpMethodNamesMintNoMetricLabels) {
  StartServer();
  grpc::GenericStub stub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Slice empty("");
    const grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&context, "/clientreg.v1.ClientRegistration/MadeUp" + std::to_string(i), grpc::StubOptions(),
                   &request, &response, [&](grpc::Status finished) {
                     status = std::move(finished);
                     done.Notify();
                   });
    done.WaitForNotification();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  EXPECT_EQ(GrpcHealth(""), HealthCheckResponse::SERVING);
  const RawResponse metrics = OpsGet("/metrics");
  EXPECT_EQ(metrics.body.find("MadeUp"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("clientreg_rpc_duration_seconds_count{method=\"Check\"} 1\n"), std::string::npos)
      << metrics.body;
}

TEST_F(ServerOpsE2eTest, AFailingDiskMakesTheServerNotReadyUntilItRecoversByItself) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(auto store, storage::OpenRocksDbClientStore(store_path(), env.get()));
  StartServer(std::move(store));
  StartGateway();
  ASSERT_EQ(OpsGet("/readyz").status, 200);

  file_system->set_fault(Fault::kAppendAndSync);
  EXPECT_EQ(Register(kRegistration).status, 503);
  ASSERT_TRUE(AwaitReadyz(503));
  const RawResponse not_ready = OpsGet("/readyz");
  EXPECT_EQ(JsonView(not_ready.body).String("status"), "not_ready");
  EXPECT_NE(not_ready.body.find(R"("store":{"status":"fail")"), std::string::npos) << not_ready.body;
  EXPECT_EQ(GrpcHealth(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(GrpcHealth("clientreg.v1.ClientRegistration"), HealthCheckResponse::NOT_SERVING);

  // Nobody registers anything; the server finds out by itself that the disk works again.
  file_system->set_fault(Fault::kNone);
  ASSERT_TRUE(AwaitReadyz(200));
  EXPECT_EQ(GrpcHealth(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Register(kRegistration).status, 201);
  // The store uses `env`, which goes before the fixture's TearDown.
  StopGateway();
  StopServer();
}

// Issue 10: the data dir holds client records and the HMAC key; nobody but the server's user may read any of it,
// including what an older version left behind readable.
TEST_F(ServerOpsE2eTest, TheDataDirIsPrivate) {
  const std::string leftover = data_dir() + "/left-by-an-older-version";
  { std::ofstream(leftover) << "x"; }
  ASSERT_EQ(::chmod(leftover.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(data_dir().c_str(), 0755), 0);
  StartServer();
  StartGateway();
  ASSERT_EQ(Register(kRegistration).status, 201);

  int files = 0;
  const auto mode = [](const std::filesystem::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 0777;
  };
  EXPECT_EQ(mode(data_dir()), 0700u);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir())) {
    if (entry.is_directory()) {
      EXPECT_EQ(mode(entry.path()), 0700u) << entry.path();
    } else if (entry.is_regular_file()) {
      EXPECT_EQ(mode(entry.path()), 0600u) << entry.path();
      ++files;
    }
  }
  EXPECT_GT(files, 3);  // the key, the leftover, and RocksDB's own files
}

}  // namespace
}  // namespace clientreg::testing
