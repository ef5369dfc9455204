// Client ID Metadata Documents end to end (issue 13): discovery through the real gateway advertises them; a client
// whose client_id is the URL of its metadata document (served from loopback under cimd.insecure_allow_loopback_http)
// resolves, and its redirect URIs check, over gRPC and through the shipped clientreg-admin; a registered client on the
// same server still resolves as before; the server's /metrics counts the fetch and the cache hit.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/directory_fixture.h"
#include "tests/e2e/json_view.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_https_server.h"

namespace clientreg::testing {
namespace {

using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::ResolveClientRequest;
using ::clientreg::v1::ResolvedClient;
using ::clientreg::v1::StoredClient;

constexpr char kDocumentPath[] = "/client.json";
constexpr char kClientName[] = "Claude Code (e2e)";
constexpr char kRedirectUri[] = "http://127.0.0.1:33418/callback";
// The lifetime the document server announces; within the default bounds (300 s to 24 h), so it is kept as is.
constexpr int kMaxAgeSeconds = 600;

// A public native client, as Claude Code's metadata document describes it.
std::string ClientDocument(const std::string& url) {
  return absl::StrCat(R"({"client_id":")", url, R"(","client_name":")", kClientName, R"(","redirect_uris":[")",
                      kRedirectUri,
                      R"("],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],)",
                      R"("token_endpoint_auth_method":"none"})");
}

// The server and gateway with cimd as ConfigureCimd sets it, and a plain HTTP document server on loopback that
// serves the document at kDocumentPath and 404 anywhere else.
class CimdE2eTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    absl::StatusOr<std::unique_ptr<TestHttpsServer>> documents = TestHttpsServer::Start();
    ASSERT_TRUE(documents.ok()) << documents.status();
    documents_ = *std::move(documents);
    url_ = absl::StrCat("http://127.0.0.1:", documents_->port(), kDocumentPath);
    documents_->SetHandler([url = url_](const TestHttpRequest& request) {
      TestHttpResponse response;
      if (request.target != kDocumentPath) {
        response.status = 404;
        response.headers = {{"Content-Type", "text/plain"}};
        response.body = "not found";
        return response;
      }
      response.headers = {{"Content-Type", "application/json"},
                          {"Cache-Control", absl::StrCat("max-age=", kMaxAgeSeconds)}};
      response.body = ClientDocument(url);
      return response;
    });
    ConfigureCimd(*server_config_.mutable_cimd());
    server_config_.set_ops_listen_address("127.0.0.1:0");
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  virtual void ConfigureCimd(clientreg::config::v1::CimdConfig& cimd) {
    cimd.set_enabled(true);
    cimd.set_insecure_allow_loopback_http(true);
  }

  RawResponse Get(uint16_t port, const std::string& path) {
    const std::optional<RawResponse> response =
        RoundTrip(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    EXPECT_TRUE(response.has_value()) << path;
    return response.value_or(RawResponse{});
  }

  // The server's /metrics, from its ops port.
  std::string Metrics() { return Get(server_->ops_port(), "/metrics").body; }

  // Both discovery documents through the gateway: client_id_metadata_document_supported true, or absent.
  void ExpectDiscovery(bool supported) {
    for (const char* path : {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}) {
      SCOPED_TRACE(path);
      const RawResponse response = Get(http_port(), path);
      ASSERT_EQ(response.status, 200) << response.body;
      const JsonView discovery(response.body);
      ASSERT_TRUE(discovery.valid()) << response.body;
      EXPECT_TRUE(discovery.String("registration_endpoint").has_value()) << response.body;
      if (supported) {
        EXPECT_EQ(discovery.Minified("client_id_metadata_document_supported"), "true") << response.body;
      } else {
        EXPECT_FALSE(discovery.Has("client_id_metadata_document_supported")) << response.body;
      }
    }
  }

  std::unique_ptr<TestHttpsServer> documents_;
  // The client_id: the document's URL.
  std::string url_;
};

// cimd.enabled alone: http client_ids are not metadata documents, even on loopback.
class CimdWithoutLoopbackE2eTest : public CimdE2eTest {
 protected:
  void ConfigureCimd(clientreg::config::v1::CimdConfig& cimd) override { cimd.set_enabled(true); }
};

// The default config: no cimd at all.
class CimdDisabledE2eTest : public CimdE2eTest {
 protected:
  void ConfigureCimd(clientreg::config::v1::CimdConfig&) override {}
};

TEST_F(CimdE2eTest, DiscoveryAdvertisesCimd) { ExpectDiscovery(true); }

TEST_F(CimdDisabledE2eTest, DiscoveryOmitsCimdWhenDisabled) { ExpectDiscovery(false); }

TEST_F(CimdE2eTest, DocumentClientResolvesAndChecksRedirectUrisOverGrpc) {
  ResolvedClient resolved;
  const grpc::Status resolve = Resolve(url_, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  ASSERT_TRUE(resolve.ok()) << resolve.error_message();
  EXPECT_EQ(resolved.client_id(), url_);
  EXPECT_EQ(resolved.origin(), StoredClient::ORIGIN_METADATA_DOCUMENT);
  EXPECT_EQ(resolved.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(resolved.metadata().client_name(), kClientName);
  EXPECT_EQ(resolved.metadata().token_endpoint_auth_method(), "none");
  EXPECT_EQ(resolved.metadata().application_type(), "native") << "inferred: every redirect URI is loopback";
  EXPECT_EQ(std::vector<std::string>(resolved.metadata().redirect_uris().values().begin(),
                                     resolved.metadata().redirect_uris().values().end()),
            std::vector<std::string>{kRedirectUri});
  EXPECT_FALSE(resolved.has_client_secret());
  EXPECT_EQ(resolved.client_id_issued_at(), 0) << "nothing is registered";
  EXPECT_EQ(resolved.last_used_at(), 0) << "no use is recorded";
  EXPECT_EQ(resolved.version(), 0u);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  EXPECT_GE(resolved.metadata_fetched_at(), now - 60);
  EXPECT_LE(resolved.metadata_fetched_at(), now + 1);
  EXPECT_EQ(resolved.metadata_expires_at() - resolved.metadata_fetched_at(), kMaxAgeSeconds)
      << "the document's Cache-Control max-age";
  EXPECT_EQ(std::vector<std::string>(resolved.redirect_hosts().begin(), resolved.redirect_hosts().end()),
            std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(resolved.loopback_redirects_only());
  ASSERT_TRUE(documents_->last_request().has_value());
  EXPECT_EQ(documents_->last_request()->method, "GET");
  EXPECT_EQ(documents_->last_request()->target, kDocumentPath);

  CheckRedirectUriResponse answer;
  ASSERT_TRUE(Check(url_, kRedirectUri, &answer).ok());
  EXPECT_TRUE(answer.allowed());
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_EXACT_MATCH);
  ASSERT_TRUE(Check(url_, "http://127.0.0.1:40000/callback", &answer).ok());
  EXPECT_TRUE(answer.allowed()) << "a native app listens on another port this time";
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH);
  EXPECT_EQ(answer.matched_redirect_uri(), kRedirectUri);
  ASSERT_TRUE(Check(url_, "https://evil.example/cb", &answer).ok());
  EXPECT_FALSE(answer.allowed());
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_NOT_REGISTERED);

  EXPECT_EQ(documents_->requests(), 1) << "the checks and any resolve after the first are answered from the cache";
}

TEST_F(CimdE2eTest, DocumentClientThroughTheShippedCli) {
  std::string output;
  ASSERT_EQ(Admin({"resolve", url_}, &output), 0) << output;
  for (const char* line : {"client_id:", "origin:", "fetched:", "cached_until:"}) {
    EXPECT_NE(output.find(line), std::string::npos) << "no " << line << " in\n" << output;
  }
  EXPECT_NE(output.find(url_), std::string::npos) << output;
  EXPECT_NE(output.find(" metadata_document\n"), std::string::npos) << output;
  EXPECT_NE(output.find(absl::StrCat(" ", kClientName, "\n")), std::string::npos) << output;
  EXPECT_EQ(output.find("last_used:"), std::string::npos) << "nothing is stored for it:\n" << output;

  EXPECT_EQ(Admin({"check-redirect", url_, "http://127.0.0.1:40000/callback"}, &output), 0) << output;
  EXPECT_NE(output.find("allowed:     yes\nreason:      loopback_port_match\n"), std::string::npos) << output;
  EXPECT_EQ(Admin({"check-redirect", url_, "https://evil.example/cb"}, &output), 0) << output;
  EXPECT_NE(output.find("allowed:     no\n"), std::string::npos) << output;

  // A document that does not resolve: the server answers 404 there.
  const std::string missing = absl::StrCat("http://127.0.0.1:", documents_->port(), "/missing.json");
  EXPECT_EQ(Admin({"resolve", missing}, &output), 1) << output;
  EXPECT_NE(output.find("NOT_FOUND"), std::string::npos) << output;
  EXPECT_NE(output.find("http_status"), std::string::npos) << output;
  EXPECT_EQ(documents_->last_request().value_or(TestHttpRequest{}).target, "/missing.json");
}

TEST_F(CimdE2eTest, RegisteredClientStillResolvesBesideDocumentClients) {
  ResolvedClient resolved;
  ASSERT_TRUE(Resolve(url_, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());
  EXPECT_EQ(resolved.origin(), StoredClient::ORIGIN_METADATA_DOCUMENT);

  const JsonView registered(Register(R"({"client_name":"E2E registered","redirect_uris":["https://app.example/cb"]})"));
  const std::string client_id = registered.String("client_id").value_or("");
  ASSERT_FALSE(client_id.empty());
  const grpc::Status resolve = Resolve(client_id, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  ASSERT_TRUE(resolve.ok()) << resolve.error_message();
  EXPECT_EQ(resolved.client_id(), client_id);
  EXPECT_EQ(resolved.origin(), StoredClient::ORIGIN_DYNAMIC);
  EXPECT_EQ(resolved.metadata().client_name(), "E2E registered");
  EXPECT_EQ(resolved.client_id_issued_at(), registered.Int("client_id_issued_at").value_or(-1));
  EXPECT_GT(resolved.last_used_at(), 0) << "PURPOSE_AUTHORIZE records a use of a registered client";
  EXPECT_EQ(resolved.metadata_fetched_at(), 0);
  CheckRedirectUriResponse answer;
  ASSERT_TRUE(Check(client_id, "https://app.example/cb", &answer).ok());
  EXPECT_TRUE(answer.allowed());
  EXPECT_EQ(documents_->requests(), 1) << "a registered client_id is never fetched";
}

TEST_F(CimdE2eTest, MetricsCountTheFetchThenTheCacheHit) {
  ResolvedClient resolved;
  ASSERT_TRUE(Resolve(url_, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved).ok());
  std::string metrics = Metrics();
  EXPECT_NE(metrics.find("\nclientreg_cimd_fetches_total{outcome=\"ok\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nclientreg_cimd_cache_misses_total 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("\nclientreg_cimd_cache_hits_total 1\n"), std::string::npos) << metrics;

  ASSERT_TRUE(Resolve(url_, ResolveClientRequest::PURPOSE_TOKEN, &resolved).ok());
  metrics = Metrics();
  EXPECT_NE(metrics.find("\nclientreg_cimd_cache_hits_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nclientreg_cimd_fetches_total{outcome=\"ok\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nclientreg_cimd_cache_entries 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(documents_->requests(), 1);
}

TEST_F(CimdWithoutLoopbackE2eTest, LoopbackHttpClientIdIsNotFound) {
  ResolvedClient resolved;
  const grpc::Status resolve = Resolve(url_, ResolveClientRequest::PURPOSE_AUTHORIZE, &resolved);
  EXPECT_EQ(resolve.error_code(), grpc::StatusCode::NOT_FOUND) << resolve.error_message();
  CheckRedirectUriResponse answer;
  EXPECT_EQ(Check(url_, kRedirectUri, &answer).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(documents_->requests(), 0) << "nothing is fetched";
  // The document server itself is up: the refusal is the server's.
  EXPECT_EQ(Get(documents_->port(), kDocumentPath).status, 200);
  EXPECT_EQ(documents_->requests(), 1);
}

}  // namespace
}  // namespace clientreg::testing
