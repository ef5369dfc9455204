// Caller authentication and authorization over a real ServerApp on loopback with real TLS: certificates from a
// CA the test makes (TestPki), client certificates for mTLS, bearer credentials, and the refusals of each.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/server_channel.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "server/server_app.h"
#include "server/server_config.h"
#include "tests/server/caller_support.h"
#include "tests/status_matchers.h"
#include "tests/support/test_pki.h"

namespace clientreg::server {
namespace {

using clientreg::config::v1::GrpcClientTlsConfig;
using clientreg::testing::LeafOptions;
using clientreg::testing::NewCallContext;
using clientreg::testing::Sha256Hex;
using clientreg::testing::TestCertificate;
using clientreg::testing::TestPki;

constexpr char kServerName[] = "server.clientreg.test";
constexpr char kGatewayIdentity[] = "spiffe://clientreg.test/gateway";
constexpr char kAuthorizationServerIdentity[] = "authz.clientreg.test";
constexpr char kOpsIdentity[] = "ops-admin";
constexpr char kOpsToken[] = "ops-bearer-credential-0123456789abcdef";
constexpr char kRegistration[] = "clientreg.v1.ClientRegistration";
constexpr char kAuthentication[] = "clientreg.v1.ClientAuthentication";
constexpr char kDirectory[] = "clientreg.v1.ClientDirectory";
constexpr char kAdmin[] = "clientreg.v1.ClientAdmin";
grpc::Status ListClients(const std::shared_ptr<grpc::Channel>& channel, const std::string& bearer = "") {
  clientreg::v1::ListClientsResponse response;
  return clientreg::v1::ClientAdmin::NewStub(channel)->ListClients(NewCallContext(bearer).get(), {}, &response);
}

grpc::Status Register(const std::shared_ptr<grpc::Channel>& channel, clientreg::v1::ClientInformation* info) {
  clientreg::v1::RegisterRequest request;
  request.mutable_metadata()->mutable_redirect_uris()->add_values("https://app.example/cb");
  return clientreg::v1::ClientRegistration::NewStub(channel)->Register(NewCallContext().get(), request, info);
}

grpc::Status Authenticate(const std::shared_ptr<grpc::Channel>& channel, const clientreg::v1::ClientInformation& info) {
  clientreg::v1::AuthenticateClientRequest request;
  request.set_client_id(info.client_id());
  request.set_client_secret(info.client_secret());
  clientreg::v1::AuthenticateClientResponse response;
  return clientreg::v1::ClientAuthentication::NewStub(channel)->AuthenticateClient(NewCallContext().get(), request,
                                                                                   &response);
}

// Calls `method` ("/package.Service/Method") with an empty request message, whatever its type, as any gRPC client
// could: the refusal must come before the request is even looked at.
grpc::Status CallWithEmptyMessage(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  const auto context = NewCallContext();
  grpc::Slice empty(std::string{});
  const grpc::ByteBuffer request(&empty, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(context.get(), method, request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

class CallerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = ::testing::TempDir() + "clientreg-callers-XXXXXX";
    ASSERT_NE(mkdtemp(path.data()), nullptr);
    dir_ = path;
    absl::StatusOr<TestPki> pki = TestPki::Create(dir_);
    ASSERT_OK(pki.status());
    pki_.emplace(*std::move(pki));
    absl::StatusOr<TestPki> other = TestPki::Create(dir_, "another CA", "other-ca");
    ASSERT_OK(other.status());
    other_ca_.emplace(*std::move(other));

    server_cert_ = Issue(*pki_, "server", "server", {kServerName});
    gateway_cert_ = Issue(*pki_, "gateway", "gateway", {}, {kGatewayIdentity});
    authorization_server_cert_ = Issue(*pki_, "authz", "authz", {kAuthorizationServerIdentity});
    ops_cert_ = Issue(*pki_, "ops", kOpsIdentity);
    stranger_cert_ = Issue(*pki_, "stranger", "stranger", {"stranger.test"});
    expired_cert_ = Issue(*pki_, "expired", "gateway", {}, {kGatewayIdentity}, /*expired=*/true);
    other_ca_cert_ = Issue(*other_ca_, "other-gateway", "gateway", {}, {kGatewayIdentity});
    ASSERT_FALSE(HasFailure());

    config_ = DefaultServerConfig();
    config_.set_listen_address("127.0.0.1:0");
    config_.set_data_dir(dir_ + "/data");
    config_.mutable_tls()->set_certificate_chain_file(server_cert_.chain_file);
    config_.mutable_tls()->set_private_key_file(server_cert_.private_key_file);
    config_.mutable_tls()->set_client_ca_file(pki_->ca().certificate_file);
    AddCaller("gateway", {kGatewayIdentity}, {}, {kRegistration});
    AddCaller("authorization-server", {kAuthorizationServerIdentity}, {}, {kAuthentication});
    AddCaller("ops", {kOpsIdentity}, {Sha256Hex(kOpsToken)}, {kAdmin});
  }

  void TearDown() override {
    app_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  TestCertificate Issue(const TestPki& ca, const std::string& file_stem, const std::string& common_name,
                        const std::vector<std::string>& dns_names = {}, const std::vector<std::string>& uris = {},
                        bool expired = false) {
    LeafOptions options;
    options.file_stem = file_stem;
    options.common_name = common_name;
    options.dns_names = dns_names;
    options.uris = uris;
    if (expired) {
      options.not_before_seconds = -7200;
      options.not_after_seconds = -3600;
    }
    absl::StatusOr<TestCertificate> certificate = ca.Issue(options);
    EXPECT_OK(certificate.status());
    return certificate.value_or(TestCertificate{});
  }

  void AddCaller(const std::string& name, const std::vector<std::string>& identities,
                 const std::vector<std::string>& digests, const std::vector<std::string>& services) {
    clientreg::config::v1::CallerConfig& caller = *config_.add_callers();
    caller.set_name(name);
    for (const std::string& identity : identities) caller.add_certificate_identities(identity);
    for (const std::string& digest : digests) caller.add_bearer_token_sha256(digest);
    for (const std::string& service : services) caller.add_services(service);
  }

  void Start() {
    ASSERT_OK(ValidateServerConfig(config_));
    ASSERT_OK_AND_ASSIGN(app_, ServerApp::Start(config_));
  }

  // A TLS channel that trusts the test CA, presenting `client` when set. Each channel gets its own connection, so
  // that one test's certificate never rides on another's handshake.
  std::shared_ptr<grpc::Channel> Channel(const TestCertificate* client = nullptr) {
    GrpcClientTlsConfig tls;
    tls.set_ca_file(pki_->ca().certificate_file);
    tls.set_server_name(kServerName);
    if (client != nullptr) {
      tls.set_certificate_chain_file(client->chain_file);
      tls.set_private_key_file(client->private_key_file);
    }
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        common::ServerChannelCredentials(&tls, arguments);
    EXPECT_OK(credentials.status());
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", app_->port()), *credentials, arguments);
  }

  // The calls of `method` that reached the server (the rpc_duration histogram's count), -1 if it has no series.
  int64_t RpcCount(const std::string& method) {
    const std::string metrics = app_->metrics().Encode();
    const std::string series = absl::StrCat("clientreg_rpc_duration_seconds_count{method=\"", method, "\"} ");
    const size_t at = metrics.find(series);
    if (at == std::string::npos) return -1;
    const size_t start = at + series.size();
    int64_t count = -1;
    if (!absl::SimpleAtoi(metrics.substr(start, metrics.find('\n', start) - start), &count)) return -1;
    return count;
  }

  std::string dir_;
  std::optional<TestPki> pki_;
  std::optional<TestPki> other_ca_;
  TestCertificate server_cert_, gateway_cert_, authorization_server_cert_, ops_cert_, stranger_cert_, expired_cert_,
      other_ca_cert_;
  clientreg::config::v1::ServerConfig config_;
  std::unique_ptr<ServerApp> app_;
};

TEST_F(CallerAuthTest, NoCredentialIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const grpc::Status status = ListClients(Channel());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(ListClients(Channel(&stranger_cert_)).error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << "a valid certificate whose names are on no allow list";
  clientreg::v1::ClientInformation info;
  EXPECT_EQ(Register(Channel(), &info).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CallerAuthTest, WrongBearerIsUnauthenticatedAndNeverLogged) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string wrong = "wrong-bearer-credential-never-logged";
  ::testing::internal::CaptureStderr();
  const grpc::Status status = ListClients(Channel(), wrong);
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_NE(log.find(R"("event":"caller_unauthenticated","service":"clientreg.v1.ClientAdmin")"), std::string::npos)
      << log;
  EXPECT_EQ(log.find(wrong), std::string::npos) << log;
  // A wrong token is refused even beside a certificate that would be allowed.
  EXPECT_EQ(ListClients(Channel(&ops_cert_), wrong).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(app_->metrics().Encode().find("clientreg_caller_refusals_total{reason=\"unauthenticated\"} 2"),
            std::string::npos);
}

TEST_F(CallerAuthTest, GatewayIdentityMayOnlyCallRegistration) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::shared_ptr<grpc::Channel> gateway = Channel(&gateway_cert_);
  clientreg::v1::ClientInformation info;
  const grpc::Status registered = Register(gateway, &info);
  ASSERT_TRUE(registered.ok()) << registered.error_message();

  ::testing::internal::CaptureStderr();
  const grpc::Status admin = ListClients(gateway);
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(admin.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(admin.error_message(), "caller \"gateway\" may not call clientreg.v1.ClientAdmin");
  EXPECT_NE(log.find(R"("event":"caller_denied","service":"clientreg.v1.ClientAdmin")"), std::string::npos) << log;
  EXPECT_EQ(Authenticate(gateway, info).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CallerAuthTest, EachCallerReachesItsOwnService) {
  ASSERT_NO_FATAL_FAILURE(Start());
  clientreg::v1::ClientInformation info;
  ASSERT_TRUE(Register(Channel(&gateway_cert_), &info).ok());

  const std::shared_ptr<grpc::Channel> authorization_server = Channel(&authorization_server_cert_);
  const grpc::Status authenticated = Authenticate(authorization_server, info);
  EXPECT_TRUE(authenticated.ok()) << authenticated.error_message();
  EXPECT_EQ(ListClients(authorization_server).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  const grpc::Status by_certificate = ListClients(Channel(&ops_cert_));
  EXPECT_TRUE(by_certificate.ok()) << by_certificate.error_message();
  const grpc::Status by_bearer = ListClients(Channel(), kOpsToken);
  EXPECT_TRUE(by_bearer.ok()) << by_bearer.error_message();
  const grpc::Status both = ListClients(Channel(&ops_cert_), kOpsToken);
  EXPECT_TRUE(both.ok()) << both.error_message();
  EXPECT_EQ(ListClients(Channel(&gateway_cert_), kOpsToken).error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << "a certificate and a token of two different callers";
}

// An expired client certificate, or one from a CA the server does not trust, fails the TLS handshake: the call
// never becomes a call, so no handler (and no rpc metric) sees it.
TEST_F(CallerAuthTest, ExpiredOrForeignCertificateFailsTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(RpcCount("Register"), 0);
  for (const TestCertificate* certificate : {&expired_cert_, &other_ca_cert_}) {
    SCOPED_TRACE(certificate->certificate_file);
    clientreg::v1::ClientInformation info;
    EXPECT_EQ(Register(Channel(certificate), &info).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(RpcCount("Register"), 0);
  // The same identity with a valid certificate is counted, so the count above could have moved.
  clientreg::v1::ClientInformation info;
  ASSERT_TRUE(Register(Channel(&gateway_cert_), &info).ok());
  EXPECT_EQ(RpcCount("Register"), 1);
}

TEST_F(CallerAuthTest, RequiredClientCertificateRefusesHandshakesWithout) {
  config_.mutable_tls()->set_require_client_certificate(true);
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(ListClients(Channel(), kOpsToken).error_code(), grpc::StatusCode::UNAVAILABLE);
  const grpc::Status status = ListClients(Channel(&ops_cert_));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Every method of every guarded service, found from the service descriptors rather than listed by hand, refuses a
// call without credentials: a method added without the check fails here.
TEST_F(CallerAuthTest, EveryMethodOfEveryGuardedServiceNeedsACaller) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::shared_ptr<grpc::Channel> channel = Channel();
  int methods = 0;
  for (const char* service_name : {kAdmin, kAuthentication, kDirectory, kRegistration}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = absl::StrCat("/", service->full_name(), "/", service->method(i)->name());
      const grpc::Status status = CallWithEmptyMessage(channel, method);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method << ": " << status.error_message();
      ++methods;
    }
  }
  EXPECT_GE(methods, 15);
}

TEST_F(CallerAuthTest, HealthIsOpenToEveryone) {
  ASSERT_NO_FATAL_FAILURE(Start());
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(Channel())->Check(NewCallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// A loopback listener with callers but no TLS: bearer credentials work (they never leave the machine), and a call
// without one is refused.
TEST_F(CallerAuthTest, LoopbackWithCallersNeedsABearer) {
  config_.clear_tls();
  config_.clear_callers();
  AddCaller("ops", {}, {Sha256Hex(kOpsToken)}, {kAdmin});
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->port()), grpc::InsecureChannelCredentials());
  EXPECT_EQ(ListClients(channel).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status status = ListClients(channel, kOpsToken);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The local run as before: loopback, no TLS, no callers. Everything is open, and the start log says so.
TEST_F(CallerAuthTest, OpenOnLoopbackWithoutTlsOrCallersAndSaysSo) {
  config_.clear_tls();
  config_.clear_callers();
  ::testing::internal::CaptureStderr();
  ASSERT_NO_FATAL_FAILURE(Start());
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(R"("level":"warning","event":"caller_authentication_off")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("tls":"off")"), std::string::npos) << log;
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->port()), grpc::InsecureChannelCredentials());
  const grpc::Status listed = ListClients(channel);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  clientreg::v1::ClientInformation info;
  ASSERT_TRUE(Register(channel, &info).ok());
  EXPECT_TRUE(Authenticate(channel, info).ok());
}

TEST_F(CallerAuthTest, StartLogShowsTlsAndCallersButNoWholeDigest) {
  ::testing::internal::CaptureStderr();
  ASSERT_NO_FATAL_FAILURE(Start());
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(R"("tls":"on","client_certificates":"verified","callers":"3")"), std::string::npos) << log;
  EXPECT_EQ(log.find("caller_authentication_off"), std::string::npos) << log;
  EXPECT_EQ(log.find(Sha256Hex(kOpsToken)), std::string::npos) << log;
  EXPECT_NE(log.find(Sha256Hex(kOpsToken).substr(0, 8) + "..."), std::string::npos) << log;
}

}  // namespace
}  // namespace clientreg::server
