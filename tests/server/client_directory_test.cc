// The ClientDirectory service over a real gRPC server on a loopback port, a real RocksDB store in a temp dir and a
// fake clock; with CIMD, also a real HTTPS site on loopback serving metadata documents. ServerAppWiringTest
// (client_admin_service_test.cc) covers it inside the whole server.
#include "server/client_directory.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/caller_authorizer.h"
#include "server/cimd_resolver.h"
#include "server/client_directory_service.h"
#include "server/last_use_recorder.h"
#include "server/metadata_validator.h"
#include "server/registration_policy.h"
#include "server/rpc_metrics.h"
#include "server/server_config.h"
#include "tests/server/caller_support.h"
#include "tests/server/cimd_site.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::kNow;
using ::clientreg::testing::NewCallContext;
using ::clientreg::testing::Sha256Hex;
using ::clientreg::testing::TestHttpResponse;
using ::clientreg::v1::CheckRedirectUriRequest;
using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::ResolveClientRequest;
using ::clientreg::v1::ResolvedClient;
using ::clientreg::v1::StoredClient;

constexpr char kDirectory[] = "clientreg.v1.ClientDirectory";

// Fails every read while `fail` is set.
class FailingReadStore final : public testing::ForwardingClientStore {
 public:
  using ForwardingClientStore::ForwardingClientStore;

  absl::StatusOr<StoredClient> Get(std::string_view client_id) const override {
    if (fail) return absl::InternalError("injected read failure");
    return ForwardingClientStore::Get(client_id);
  }

  bool fail = true;
};

class ClientDirectoryTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK_AND_ASSIGN(last_use_, LastUseRecorder::Create(store_.get(), std::chrono::hours(1)));
    ASSERT_NO_FATAL_FAILURE(Serve(store_.get(), &open_callers_));
  }

  void TearDown() override {
    StopServing();
    last_use_.reset();
    ClientStoreFixture::TearDown();
  }

  // A directory over `store` (and `cimd`, if set) served on a fresh loopback port to the callers `callers` allows.
  void Serve(storage::ClientStore* store, const CallerAuthorizer* callers, CimdResolver* cimd = nullptr) {
    StopServing();
    ClientDirectory::Options options;
    options.max_redirect_uri_bytes = 100;
    options.metrics = &metrics_;
    options.cimd = cimd;
    directory_ = std::make_unique<ClientDirectory>(store, &clock_, last_use_.get(), options);
    service_ = std::make_unique<ClientDirectoryService>(directory_.get(), callers);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = clientreg::v1::ClientDirectory::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void StopServing() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }

  grpc::Status Resolve(const std::string& client_id, ResolveClientRequest::Purpose purpose, ResolvedClient* resolved,
                       const std::string& bearer = "") {
    ResolveClientRequest request;
    request.set_client_id(client_id);
    request.set_purpose(purpose);
    return stub_->ResolveClient(NewCallContext(bearer).get(), request, resolved);
  }

  grpc::Status Check(const std::string& client_id, const std::string& redirect_uri, CheckRedirectUriResponse* answer,
                     const std::string& bearer = "") {
    CheckRedirectUriRequest request;
    request.set_client_id(client_id);
    request.set_redirect_uri(redirect_uri);
    return stub_->CheckRedirectUri(NewCallContext(bearer).get(), request, answer);
  }

  // An active native client with the given redirect URIs.
  StoredClient NativeClient(const std::string& client_id, const std::vector<std::string>& redirect_uris) {
    StoredClient client = MakeClient(client_id);
    for (const std::string& uri : redirect_uris) client.mutable_metadata()->mutable_redirect_uris()->add_values(uri);
    client.mutable_metadata()->set_application_type("native");
    return client;
  }

  // The value of one series of clientreg_directory_calls_total, 0 if absent.
  std::string Calls(const std::string& method, const std::string& outcome) {
    const std::string text = registry_.Encode();
    const std::string series =
        absl::StrCat("clientreg_directory_calls_total{method=\"", method, "\",outcome=\"", outcome, "\"} ");
    const size_t at = text.find(series);
    if (at == std::string::npos) return "0";
    const size_t start = at + series.size();
    return text.substr(start, text.find('\n', start) - start);
  }

  common::MetricsRegistry registry_;
  ServerMetrics metrics_{registry_};
  const CallerAuthorizer open_callers_{DefaultServerConfig()};
  std::unique_ptr<LastUseRecorder> last_use_;
  std::unique_ptr<ClientDirectory> directory_;
  std::unique_ptr<ClientDirectoryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<clientreg::v1::ClientDirectory::Stub> stub_;
};

TEST_F(ClientDirectoryTest, ResolveReturnsWhatTheAuthorizationServerNeeds) {
  StoredClient client = NativeClient("c1", {"https://App.Example/cb", "http://127.0.0.1/cb", "com.example.app:/cb",
                                            "https://app.example/other", "http://[::1]:8080/cb"});
  clientreg::v1::ClientMetadata& metadata = *client.mutable_metadata();
  metadata.mutable_grant_types()->add_values("authorization_code");
  metadata.mutable_response_types()->add_values("code");
  metadata.set_scope("read write");
  metadata.set_jwks_uri("https://app.example/jwks");
  metadata.set_logo_uri("https://app.example/logo.png");
  client.set_client_secret_expires_at(kNow + 3600);
  client.set_origin(StoredClient::ORIGIN_ADMIN);
  client.set_version(7);
  Store(client);

  ResolvedClient resolved;
  const grpc::Status status = Resolve("c1", ResolveClientRequest::PURPOSE_OTHER, &resolved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resolved.client_id(), "c1");
  EXPECT_EQ(resolved.metadata().SerializeAsString(), client.metadata().SerializeAsString());
  EXPECT_EQ(resolved.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(resolved.origin(), StoredClient::ORIGIN_ADMIN);
  EXPECT_EQ(resolved.client_id_issued_at(), kNow - 1000);
  EXPECT_EQ(resolved.last_used_at(), 0);
  EXPECT_TRUE(resolved.has_client_secret());
  EXPECT_EQ(resolved.client_secret_expires_at(), kNow + 3600);
  EXPECT_EQ(std::vector<std::string>(resolved.redirect_hosts().begin(), resolved.redirect_hosts().end()),
            (std::vector<std::string>{"app.example", "127.0.0.1", "[::1]"}));
  EXPECT_FALSE(resolved.loopback_redirects_only());
  EXPECT_EQ(resolved.version(), 7u);
  // Never a digest.
  const std::string bytes = resolved.SerializeAsString();
  EXPECT_EQ(bytes.find(client.client_secret_digest()), std::string::npos);
  EXPECT_EQ(bytes.find(client.registration_access_token_digest()), std::string::npos);
  EXPECT_EQ(Calls("ResolveClient", "active"), "1");
}

TEST_F(ClientDirectoryTest, LoopbackOnlyClients) {
  Store(NativeClient("loopback", {"http://127.0.0.1/cb", "http://[::1]:3000/cb", "http://LocalHost:8080/cb"}));
  Store(NativeClient("mixed", {"http://localhost:8080/cb", "cursor://anysphere.cursor-retrieval/oauth/callback"}));
  StoredClient public_client = NativeClient("none", {});
  public_client.set_client_secret_digest("");
  Store(public_client);

  ResolvedClient loopback, mixed, none;
  ASSERT_TRUE(Resolve("loopback", ResolveClientRequest::PURPOSE_OTHER, &loopback).ok());
  EXPECT_TRUE(loopback.loopback_redirects_only());
  EXPECT_EQ(std::vector<std::string>(loopback.redirect_hosts().begin(), loopback.redirect_hosts().end()),
            (std::vector<std::string>{"127.0.0.1", "[::1]", "localhost"}));
  ASSERT_TRUE(Resolve("mixed", ResolveClientRequest::PURPOSE_OTHER, &mixed).ok());
  EXPECT_FALSE(mixed.loopback_redirects_only());
  EXPECT_EQ(std::vector<std::string>(mixed.redirect_hosts().begin(), mixed.redirect_hosts().end()),
            (std::vector<std::string>{"localhost", "anysphere.cursor-retrieval"}));
  ASSERT_TRUE(Resolve("none", ResolveClientRequest::PURPOSE_OTHER, &none).ok());
  EXPECT_FALSE(none.loopback_redirects_only()) << "no redirect URI is not localhost-only";
  EXPECT_EQ(none.redirect_hosts_size(), 0);
  EXPECT_FALSE(none.has_client_secret());
  EXPECT_EQ(none.client_secret_expires_at(), 0);
}

TEST_F(ClientDirectoryTest, AbsentApplicationTypeIsWeb) {
  StoredClient client = MakeClient("c1");
  client.mutable_metadata()->mutable_redirect_uris()->add_values("http://127.0.0.1:3000/cb");
  Store(client);
  ResolvedClient resolved;
  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_OTHER, &resolved).ok());
  EXPECT_EQ(resolved.metadata().application_type(), "web");
  CheckRedirectUriResponse answer;
  ASSERT_TRUE(Check("c1", "http://127.0.0.1:4000/cb", &answer).ok());
  EXPECT_FALSE(answer.allowed());
}

TEST_F(ClientDirectoryTest, UnknownAndDeletedClientsAreNotFound) {
  Store(NativeClient("gone", {"http://127.0.0.1/cb"}));
  ASSERT_OK(store_->Delete("gone", 1));
  for (const std::string client_id : {"gone", "never-registered"}) {
    SCOPED_TRACE(client_id);
    ResolvedClient resolved;
    EXPECT_EQ(Resolve(client_id, ResolveClientRequest::PURPOSE_TOKEN, &resolved).error_code(),
              grpc::StatusCode::NOT_FOUND);
    CheckRedirectUriResponse answer;
    EXPECT_EQ(Check(client_id, "http://127.0.0.1/cb", &answer).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(last_use_->Pending(client_id), 0) << "an unknown id is never recorded";
  }
  EXPECT_EQ(Calls("ResolveClient", "not_found"), "2");
  EXPECT_EQ(Calls("CheckRedirectUri", "not_found"), "2");
}

TEST_F(ClientDirectoryTest, ArgumentsAreBounded) {
  Store(NativeClient("c1", {"http://127.0.0.1/cb"}));
  ResolvedClient resolved;
  CheckRedirectUriResponse answer;
  const std::string long_id(ClientDirectory::kMaxClientIdBytes + 1, 'a');
  EXPECT_EQ(Resolve("", ResolveClientRequest::PURPOSE_OTHER, &resolved).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Resolve(long_id, ResolveClientRequest::PURPOSE_OTHER, &resolved).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Check("", "http://127.0.0.1/cb", &answer).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Check(long_id, "http://127.0.0.1/cb", &answer).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Check("c1", "", &answer).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The limit in Serve is 100 bytes.
  const std::string at_limit = "http://127.0.0.1/" + std::string(100 - 17, 'x');
  ASSERT_EQ(at_limit.size(), 100u);
  const grpc::Status within = Check("c1", at_limit, &answer);
  EXPECT_TRUE(within.ok()) << within.error_message();
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_NOT_REGISTERED);
  const grpc::Status beyond = Check("c1", at_limit + "x", &answer);
  EXPECT_EQ(beyond.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(beyond.error_message(), "redirect_uri is longer than 100 bytes");
  EXPECT_EQ(Calls("CheckRedirectUri", "invalid"), "4");
}

TEST_F(ClientDirectoryTest, AuthorizeAndTokenRecordLastUseOtherDoesNot) {
  Store(NativeClient("c1", {"http://127.0.0.1/cb"}));
  ResolvedClient resolved;
  for (const ResolveClientRequest::Purpose purpose :
       {ResolveClientRequest::PURPOSE_OTHER, ResolveClientRequest::PURPOSE_UNSPECIFIED,
        static_cast<ResolveClientRequest::Purpose>(99)}) {
    ASSERT_TRUE(Resolve("c1", purpose, &resolved).ok());
    EXPECT_EQ(resolved.last_used_at(), 0);
  }
  ASSERT_OK(last_use_->Flush());
  EXPECT_EQ(last_use_->Pending("c1"), 0);
  EXPECT_EQ(StoredLastUse("c1"), 0);

  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());
  EXPECT_EQ(resolved.last_used_at(), kNow);
  EXPECT_EQ(last_use_->Pending("c1"), kNow);
  EXPECT_EQ(StoredLastUse("c1"), 0) << "batched: nothing written before a flush";
  ASSERT_OK(last_use_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow);

  clock_.Advance(30);
  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved).ok());
  EXPECT_EQ(resolved.last_used_at(), kNow + 30);
  clock_.Advance(30);
  // Not a use, but it reports the latest one: still pending here.
  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_OTHER, &resolved).ok());
  EXPECT_EQ(resolved.last_used_at(), kNow + 30);
  ASSERT_OK(last_use_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 30);
  // And from the store once flushed.
  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_OTHER, &resolved).ok());
  EXPECT_EQ(resolved.last_used_at(), kNow + 30);
}

TEST_F(ClientDirectoryTest, DisabledClientIsResolvedButNotUsed) {
  StoredClient client = NativeClient("off", {"http://127.0.0.1/cb"});
  client.set_state(StoredClient::STATE_DISABLED);
  Store(client);
  ResolvedClient resolved;
  ASSERT_TRUE(Resolve("off", ResolveClientRequest::PURPOSE_TOKEN, &resolved).ok());
  EXPECT_EQ(resolved.state(), StoredClient::STATE_DISABLED);
  EXPECT_EQ(resolved.last_used_at(), 0);
  EXPECT_EQ(last_use_->Pending("off"), 0);
  EXPECT_EQ(Calls("ResolveClient", "disabled"), "1");

  CheckRedirectUriResponse answer;
  ASSERT_TRUE(Check("off", "http://127.0.0.1/cb", &answer).ok());
  EXPECT_FALSE(answer.allowed());
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_CLIENT_DISABLED);
  EXPECT_EQ(Calls("CheckRedirectUri", "client_disabled"), "1");
}

TEST_F(ClientDirectoryTest, CheckRedirectUriAnswersEveryReason) {
  Store(NativeClient("native", {"http://127.0.0.1/callback", "https://app.example/cb"}));
  struct Expected {
    const char* uri;
    bool allowed;
    CheckRedirectUriResponse::Reason reason;
    const char* matched;
    const char* outcome;
  };
  const Expected expected[] = {
      {"https://app.example/cb", true, CheckRedirectUriResponse::REASON_EXACT_MATCH, "https://app.example/cb",
       "exact_match"},
      {"http://127.0.0.1:51234/callback", true, CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH,
       "http://127.0.0.1/callback", "loopback_port_match"},
      {"http://localhost:51234/callback", false, CheckRedirectUriResponse::REASON_NOT_REGISTERED, "", "not_registered"},
      {"https://app.example/cb#frag", false, CheckRedirectUriResponse::REASON_INVALID_URI, "", "invalid_uri"},
  };
  for (const Expected& want : expected) {
    SCOPED_TRACE(want.uri);
    CheckRedirectUriResponse answer;
    const grpc::Status status = Check("native", want.uri, &answer);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(answer.allowed(), want.allowed);
    EXPECT_EQ(answer.reason(), want.reason);
    EXPECT_EQ(answer.matched_redirect_uri(), want.matched);
    EXPECT_FALSE(answer.explanation().empty());
    EXPECT_EQ(Calls("CheckRedirectUri", want.outcome), "1");
  }
  EXPECT_EQ(last_use_->Pending("native"), 0) << "a redirect check is not a use";
}

TEST_F(ClientDirectoryTest, StoreFailureIsUnavailableWithoutDetails) {
  Store(NativeClient("c1", {"http://127.0.0.1/cb"}));
  FailingReadStore failing(store_.get());
  ASSERT_NO_FATAL_FAILURE(Serve(&failing, &open_callers_));
  ResolvedClient resolved;
  const grpc::Status resolve = Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved);
  EXPECT_EQ(resolve.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(resolve.error_message(), "the client directory is unavailable");
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Check("c1", "http://127.0.0.1/cb", &answer).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Calls("ResolveClient", "error"), "1");
  EXPECT_EQ(Calls("CheckRedirectUri", "error"), "1");

  failing.fail = false;
  EXPECT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved).ok());
  StopServing();
}

// Callers configured: the directory answers only a caller whose services list clientreg.v1.ClientDirectory.
TEST_F(ClientDirectoryTest, CallersNeedTheDirectoryService) {
  Store(NativeClient("c1", {"http://127.0.0.1/cb"}));
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  const auto add_caller = [&config](const std::string& name, const std::string& token, const std::string& service) {
    clientreg::config::v1::CallerConfig& caller = *config.add_callers();
    caller.set_name(name);
    caller.add_bearer_token_sha256(Sha256Hex(token));
    caller.add_services(service);
  };
  add_caller("authorization-server", "as-token", kDirectory);
  add_caller("token-endpoint", "token-endpoint-token", "clientreg.v1.ClientAuthentication");
  ASSERT_OK(ValidateServerConfig(config));
  const CallerAuthorizer callers(config);
  ASSERT_NO_FATAL_FAILURE(Serve(store_.get(), &callers));

  ResolvedClient resolved;
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Check("c1", "http://127.0.0.1/cb", &answer).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved, "wrong").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status denied = Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved, "token-endpoint-token");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "caller \"token-endpoint\" may not call clientreg.v1.ClientDirectory");
  EXPECT_EQ(Check("c1", "http://127.0.0.1/cb", &answer, "token-endpoint-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(last_use_->Pending("c1"), 0) << "a refused caller records nothing";

  const grpc::Status resolved_status = Resolve("c1", ResolveClientRequest::PURPOSE_TOKEN, &resolved, "as-token");
  ASSERT_TRUE(resolved_status.ok()) << resolved_status.error_message();
  EXPECT_EQ(resolved.client_id(), "c1");
  const grpc::Status checked = Check("c1", "http://127.0.0.1:9/cb", &answer, "as-token");
  ASSERT_TRUE(checked.ok()) << checked.error_message();
  EXPECT_TRUE(answer.allowed());
  StopServing();
}

TEST_F(ClientDirectoryTest, HttpsClientIdWithoutCimdIsAnUnknownClient) {
  ResolvedClient resolved;
  const grpc::Status resolve =
      Resolve("https://client.example/meta.json", ResolveClientRequest::PURPOSE_OTHER, &resolved);
  EXPECT_EQ(resolve.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(resolve.error_message(), "unknown client");
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Check("https://client.example/meta.json", "http://127.0.0.1/cb", &answer).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Calls("ResolveClient", "not_found"), "1");
}

// The directory with a CimdResolver reaching a real HTTPS site on loopback (tests/server/cimd_site.h) that serves
// valid documents for max-age=600.
class ClientDirectoryCimdTest : public ClientDirectoryTest {
 protected:
  void SetUp() override {
    ClientDirectoryTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_NO_FATAL_FAILURE(site_.Start("client_directory_cimd_test_"));
    site_.ServeValidDocuments({{"Cache-Control", "max-age=600"}});
    clientreg::config::v1::CimdConfig config = DefaultServerConfig().cimd();
    config.set_enabled(true);
    config.set_connect_timeout_ms(1000);
    config.set_fetch_timeout_ms(2000);
    ASSERT_OK_AND_ASSIGN(
        cimd_, CimdResolver::Create(config, site_.FetcherOptions(config), &validator_, &clock_, &cimd_metrics_));
    ASSERT_NO_FATAL_FAILURE(Serve(store_.get(), &open_callers_, cimd_.get()));
  }

  void TearDown() override {
    StopServing();
    cimd_.reset();
    ClientDirectoryTest::TearDown();
  }

  testing::CimdSite site_;
  const MetadataValidator validator_{common::DefaultMetadataLimits(), DefaultRegistrationPolicy()};
  CimdResolver::Metrics cimd_metrics_{registry_};
  std::unique_ptr<CimdResolver> cimd_;
};

TEST_F(ClientDirectoryCimdTest, ResolvesADocumentClientBesideRegisteredOnes) {
  Store(NativeClient("c1", {"http://127.0.0.1/cb"}));
  const std::string url = site_.Url("/meta.json");

  // Not cached yet: answered from a fetch thread.
  ResolvedClient resolved;
  const grpc::Status fetched = Resolve(url, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  ASSERT_TRUE(fetched.ok()) << fetched.error_message();
  EXPECT_EQ(resolved.client_id(), url);
  EXPECT_EQ(resolved.origin(), StoredClient::ORIGIN_METADATA_DOCUMENT);
  EXPECT_EQ(resolved.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(resolved.metadata().client_name(), "Example Agent");
  EXPECT_EQ(resolved.metadata().token_endpoint_auth_method(), "none");
  EXPECT_FALSE(resolved.has_client_secret());
  EXPECT_TRUE(resolved.loopback_redirects_only());
  EXPECT_EQ(resolved.metadata_fetched_at(), kNow);
  EXPECT_EQ(resolved.metadata_expires_at(), kNow + 600);
  EXPECT_EQ(resolved.last_used_at(), 0);
  EXPECT_EQ(last_use_->Pending(url), 0) << "a document client is stored nowhere: no use is recorded";

  // Cached: answered on the calling thread, without a second request.
  ResolvedClient cached;
  ASSERT_TRUE(Resolve(url, ResolveClientRequest::PURPOSE_TOKEN, &cached).ok());
  EXPECT_EQ(cached.SerializeAsString(), resolved.SerializeAsString());
  EXPECT_EQ(site_.server().requests(), 1);

  ResolvedClient registered;
  ASSERT_TRUE(Resolve("c1", ResolveClientRequest::PURPOSE_AUTHORIZE, &registered).ok());
  EXPECT_EQ(registered.origin(), StoredClient::ORIGIN_DYNAMIC);
  EXPECT_EQ(registered.last_used_at(), kNow);
  EXPECT_EQ(Calls("ResolveClient", "active"), "3");
}

TEST_F(ClientDirectoryCimdTest, ChecksADocumentsRedirectUris) {
  const std::string url = site_.Url("/meta.json");
  struct Expected {
    const char* uri;
    bool allowed;
    CheckRedirectUriResponse::Reason reason;
    const char* matched;
    const char* outcome;
  };
  const Expected expected[] = {
      {"http://127.0.0.1:3000/cb", true, CheckRedirectUriResponse::REASON_EXACT_MATCH, "http://127.0.0.1:3000/cb",
       "exact_match"},
      {"http://127.0.0.1:4000/cb", true, CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH,
       "http://127.0.0.1:3000/cb", "loopback_port_match"},
      {"https://app.example/cb", false, CheckRedirectUriResponse::REASON_NOT_REGISTERED, "", "not_registered"},
  };
  for (const Expected& want : expected) {
    SCOPED_TRACE(want.uri);
    CheckRedirectUriResponse answer;
    const grpc::Status status = Check(url, want.uri, &answer);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(answer.allowed(), want.allowed);
    EXPECT_EQ(answer.reason(), want.reason);
    EXPECT_EQ(answer.matched_redirect_uri(), want.matched);
    EXPECT_EQ(Calls("CheckRedirectUri", want.outcome), "1");
  }
  EXPECT_EQ(site_.server().requests(), 1);
}

TEST_F(ClientDirectoryCimdTest, DocumentThatDoesNotResolveIsNotFound) {
  TestHttpResponse missing;
  missing.status = 404;
  site_.server().SetResponse(missing);
  const std::string url = site_.Url("/meta.json");
  ResolvedClient resolved;
  const grpc::Status resolve = Resolve(url, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  EXPECT_EQ(resolve.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(resolve.error_message().find("could not be fetched (http_status)"), std::string::npos)
      << resolve.error_message();
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Check(url, "http://127.0.0.1:3000/cb", &answer).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(site_.server().requests(), 1) << "the second call is in the failure's backoff";
  EXPECT_EQ(Calls("ResolveClient", "not_found"), "1");
  EXPECT_EQ(Calls("CheckRedirectUri", "not_found"), "1");
}

TEST(ClientDirectoryConfigTest, CallersMayNameTheDirectory) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  clientreg::config::v1::CallerConfig& caller = *config.add_callers();
  caller.set_name("authorization-server");
  caller.add_bearer_token_sha256(Sha256Hex("token"));
  caller.add_services(kDirectory);
  EXPECT_OK(ValidateServerConfig(config));
  caller.set_services(0, "clientreg.v1.ClientDirectoryTypo");
  const absl::Status refused = ValidateServerConfig(config);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("clientreg.v1.ClientDirectory or"), absl::string_view::npos) << refused;
}

}  // namespace
}  // namespace clientreg::server
