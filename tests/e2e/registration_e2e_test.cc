// End to end: raw HTTP/1.1 to the real gateway, gRPC to the real server, RocksDB in a temp dir.
#include <atomic>
#include <chrono>
#include <ctime>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/secrets.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_client_store.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

constexpr char kPath[] = "/oauth/register";

class RegistrationE2eTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    StartServer();
    StartGateway();
  }

  RawResponse Post(const std::string& body, const std::string& content_type = "application/json",
                   const std::string& extra_headers = "") {
    auto response = RoundTrip(http_port(), PostRequest(kPath, body, content_type, extra_headers));
    EXPECT_TRUE(response.has_value()) << "no response to " << body;
    return response.value_or(RawResponse{});
  }

  static bool IsLowerHex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }
  static bool IsBase64Url(const std::string& s) {
    return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos;
  }
};

void ExpectErrorHeaders(const RawResponse& response) {
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_EQ(response.Header("content-type"), "application/json");
}

TEST_F(RegistrationE2eTest, SuccessEchoesEveryFieldAndIssuesCredentials) {
  const std::string body = R"({
    "redirect_uris": ["https://App.example.com/cb/?q=1&x=%2F", "http://127.0.0.1:8080/callback"],
    "token_endpoint_auth_method": "client_secret_post",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "Ünïcode クライアント \"quoted\"",
    "client_name#ja-Jpan-JP": "クライアント名",
    "client_name#en": "Client",
    "client_uri": "https://app.example.com/",
    "logo_uri": "https://cdn.example.net/logo.png",
    "scope": "openid profile offline_access",
    "contacts": ["ops@example.com", "dev@example.com"],
    "tos_uri": "https://app.example.com/tos",
    "policy_uri": "https://app.example.com/privacy",
    "jwks_uri": "https://app.example.com/jwks.json",
    "software_id": "4NRB1-0XZABZI9E6-5SM3R",
    "software_version": "2.1",
    "example_extension_parameter": "dropped",
    "client_id": "chosen-by-client",
    "client_secret": "chosen-secret",
    "client_id_issued_at": 1,
    "client_secret_expires_at": 5
  })";
  const std::time_t now = std::time(nullptr);
  const RawResponse response = Post(body);
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.Header("content-type"), "application/json");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_EQ(response.Header("pragma"), "no-cache");

  const JsonView json(response.body);
  ASSERT_TRUE(json.valid()) << response.body;
  const std::string client_id = json.String("client_id").value_or("");
  EXPECT_EQ(client_id.size(), 32u);
  EXPECT_TRUE(IsLowerHex(client_id)) << client_id;
  const std::string secret = json.String("client_secret").value_or("");
  EXPECT_EQ(secret.size(), 43u);
  EXPECT_TRUE(IsBase64Url(secret)) << secret;
  EXPECT_NE(secret, "chosen-secret");
  ASSERT_TRUE(json.Int("client_id_issued_at").has_value());
  EXPECT_NEAR(static_cast<double>(*json.Int("client_id_issued_at")), static_cast<double>(now), 60);
  EXPECT_EQ(json.Int("client_secret_expires_at"), 0);

  EXPECT_EQ(json.Strings("redirect_uris"),
            (std::vector<std::string>{"https://App.example.com/cb/?q=1&x=%2F", "http://127.0.0.1:8080/callback"}));
  EXPECT_EQ(json.String("token_endpoint_auth_method"), "client_secret_post");
  EXPECT_EQ(json.Strings("grant_types"), (std::vector<std::string>{"authorization_code", "refresh_token"}));
  EXPECT_EQ(json.Strings("response_types"), (std::vector<std::string>{"code"}));
  EXPECT_EQ(json.String("client_name"), "Ünïcode クライアント \"quoted\"");
  EXPECT_EQ(json.String("client_name#ja-Jpan-JP"), "クライアント名");
  EXPECT_EQ(json.String("client_name#en"), "Client");
  EXPECT_EQ(json.String("client_uri"), "https://app.example.com/");
  EXPECT_EQ(json.String("logo_uri"), "https://cdn.example.net/logo.png");
  EXPECT_EQ(json.String("scope"), "openid profile offline_access");
  EXPECT_EQ(json.Strings("contacts"), (std::vector<std::string>{"ops@example.com", "dev@example.com"}));
  EXPECT_EQ(json.String("tos_uri"), "https://app.example.com/tos");
  EXPECT_EQ(json.String("policy_uri"), "https://app.example.com/privacy");
  EXPECT_EQ(json.String("jwks_uri"), "https://app.example.com/jwks.json");
  EXPECT_EQ(json.String("software_id"), "4NRB1-0XZABZI9E6-5SM3R");
  EXPECT_EQ(json.String("software_version"), "2.1");
  EXPECT_EQ(json.String("application_type"), "web");
  EXPECT_FALSE(json.Has("example_extension_parameter"));
  EXPECT_FALSE(json.Has("jwks"));
}

TEST_F(RegistrationE2eTest, OmittedMembersGetTheDefaults) {
  const RawResponse response = Post(R"({"redirect_uris":["https://c.example/cb"]})");
  ASSERT_EQ(response.status, 201) << response.body;
  const JsonView json(response.body);
  EXPECT_EQ(json.Strings("grant_types"), (std::vector<std::string>{"authorization_code"}));
  EXPECT_EQ(json.Strings("response_types"), (std::vector<std::string>{"code"}));
  EXPECT_EQ(json.String("token_endpoint_auth_method"), "client_secret_basic");
  EXPECT_TRUE(json.Has("client_secret"));
  EXPECT_EQ(json.Int("client_secret_expires_at"), 0);
}

TEST_F(RegistrationE2eTest, PublicClaudeStyleClientGetsNoSecret) {
  const RawResponse response = Post(
      R"({"client_name":"Claude","token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],)"
      R"("response_types":["code"],"redirect_uris":["https://claude.ai/api/mcp/auth_callback"]})");
  ASSERT_EQ(response.status, 201) << response.body;
  const JsonView json(response.body);
  EXPECT_EQ(json.String("token_endpoint_auth_method"), "none");
  EXPECT_FALSE(json.Has("client_secret"));
  EXPECT_FALSE(json.Has("client_secret_expires_at"));
  EXPECT_EQ(response.Header("cache-control"), "no-store");
}

TEST_F(RegistrationE2eTest, ClientCredentialsWithoutRedirectUris) {
  const RawResponse response = Post(R"({"grant_types":["client_credentials"],"response_types":[]})");
  ASSERT_EQ(response.status, 201) << response.body;
  const JsonView json(response.body);
  EXPECT_EQ(json.Strings("response_types"), std::vector<std::string>{});
  EXPECT_FALSE(json.Has("redirect_uris"));
}

TEST_F(RegistrationE2eTest, LoopbackRedirectInfersNative) {
  const RawResponse response =
      Post(R"({"redirect_uris":["http://localhost:3000/callback"],"token_endpoint_auth_method":"none"})");
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(JsonView(response.body).String("application_type"), "native");
}

struct ErrorCase {
  std::string body;
  std::string content_type;
  int status;
  std::string error;
  std::string field;  // empty: not checked
};

TEST_F(RegistrationE2eTest, EachErrorClassHasItsStatusCodeAndField) {
  const std::vector<ErrorCase> cases = {
      {"{", "application/json", 400, "invalid_request", ""},
      {"", "application/json", 400, "invalid_request", ""},
      {"[]", "application/json", 400, "invalid_request", ""},
      {R"({"a":1} x)", "application/json", 400, "invalid_request", ""},
      {R"({"client_name":"a","client_name":"b"})", "application/json", 400, "invalid_request", ""},
      {"{\"client_name\":\"\xff\"}", "application/json", 400, "invalid_request", ""},
      {R"({"redirect_uris":["https://c.example/cb#x"]})", "application/json", 400, "invalid_redirect_uri",
       "redirect_uris[0]"},
      {R"({"redirect_uris":["https://c.example/cb","http://c.example/cb"]})", "application/json", 400,
       "invalid_redirect_uri", "redirect_uris[1]"},
      {R"({"redirect_uris":"https://c.example/cb"})", "application/json", 400, "invalid_redirect_uri", "redirect_uris"},
      {R"({"redirect_uris":[]})", "application/json", 400, "invalid_redirect_uri", ""},
      {R"({"redirect_uris":["https://c.example/cb"],"grant_types":["password"]})", "application/json", 400,
       "invalid_client_metadata", "grant_types[0]"},
      {R"({"redirect_uris":["https://c.example/cb"],"client_name":1})", "application/json", 400,
       "invalid_client_metadata", "client_name"},
      {R"({"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"magic"})", "application/json", 400,
       "invalid_client_metadata", "token_endpoint_auth_method"},
      {R"({"redirect_uris":["https://c.example/cb"],"response_types":["token"]})", "application/json", 400,
       "invalid_client_metadata", ""},
      {R"({"redirect_uris":["https://c.example/cb"]})", "text/plain", 415, "invalid_request", ""},
      {R"({"redirect_uris":["https://c.example/cb"]})", "application/x-www-form-urlencoded", 415, "invalid_request",
       ""},
      {R"({"redirect_uris":["https://c.example/cb"]})", "", 415, "invalid_request", ""},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.body + " as " + c.content_type);
    const RawResponse response = Post(c.body, c.content_type);
    EXPECT_EQ(response.status, c.status) << response.body;
    ExpectErrorHeaders(response);
    const JsonView json(response.body);
    ASSERT_TRUE(json.valid()) << response.body;
    EXPECT_EQ(json.String("error"), c.error);
    EXPECT_TRUE(json.String("error_description").has_value());
    if (!c.field.empty()) {
      EXPECT_EQ(json.String("error_field"), c.field);
    }
    EXPECT_FALSE(json.Has("client_id"));
  }
}

TEST_F(RegistrationE2eTest, JsonMediaTypeIsCaseInsensitiveWithParameters) {
  const RawResponse response = Post(R"({"redirect_uris":["https://c.example/cb"]})", "Application/JSON; charset=utf-8");
  EXPECT_EQ(response.status, 201) << response.body;
}

TEST_F(RegistrationE2eTest, OtherMethodsAre405AndOtherPaths404) {
  for (const char* method : {"GET", "PUT", "DELETE", "PATCH"}) {
    SCOPED_TRACE(method);
    const auto response = RoundTrip(
        http_port(), std::string(method) + " /oauth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 405);
    EXPECT_EQ(response->Header("allow"), "POST, OPTIONS");
    ExpectErrorHeaders(*response);
    EXPECT_EQ(JsonView(response->body).String("error"), "invalid_request");
  }
  const auto missing = RoundTrip(http_port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  ExpectErrorHeaders(*missing);
  EXPECT_TRUE(JsonView(missing->body).valid());
}

TEST_F(RegistrationE2eTest, OversizedBodiesAre413BeforeTheBodyIsRead) {
  RawConnection connection(http_port());
  ASSERT_TRUE(
      connection.Send("POST /oauth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                      "1000000000\r\n\r\n"));
  const auto response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  ExpectErrorHeaders(*response);
  EXPECT_EQ(JsonView(response->body).String("error"), "invalid_request");

  const std::string big(4 << 20, ' ');
  const auto second = RoundTrip(http_port(), PostRequest(kPath, big));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 413);
  // The gateway is still up.
  EXPECT_EQ(Post(R"({"redirect_uris":["https://c.example/cb"]})").status, 201);
}

TEST_F(RegistrationE2eTest, CorsPreflightAndSimpleResponse) {
  const auto preflight =
      RoundTrip(http_port(),
                "OPTIONS /oauth/register HTTP/1.1\r\nHost: x\r\nOrigin: https://inspector.example\r\n"
                "Access-Control-Request-Method: POST\r\n"
                "Access-Control-Request-Headers: content-type\r\n\r\n");
  ASSERT_TRUE(preflight.has_value());
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->Header("access-control-allow-origin"), "*");
  EXPECT_NE(preflight->Header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(preflight->Header("access-control-allow-headers").find("Content-Type"), std::string::npos);

  const RawResponse response = Post(R"({"redirect_uris":["https://c.example/cb"]})", "application/json",
                                    "Origin: https://inspector.example\r\n");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.Header("access-control-allow-origin"), "*");
}

TEST_F(RegistrationE2eTest, ChunkedBodyAndKeepAlive) {
  const std::string body = R"({"redirect_uris":["https://c.example/cb"]})";
  std::string chunked =
      "POST /oauth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
      "chunked\r\n\r\n";
  const std::size_t half = body.size() / 2;
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", half);
  chunked += size_line + body.substr(0, half) + "\r\n";
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", body.size() - half);
  chunked += size_line + body.substr(half) + "\r\n0\r\n\r\n";
  const auto response = RoundTrip(http_port(), chunked);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 201) << response->body;

  RawConnection connection(http_port());
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(connection.Send(PostRequest(kPath, body)));
    const auto each = connection.Read();
    ASSERT_TRUE(each.has_value()) << "request " << i;
    EXPECT_EQ(each->status, 201);
    ids.insert(JsonView(each->body).String("client_id").value_or(""));
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(RegistrationE2eTest, TwoHundredConcurrentRegistrationsAllSucceedWithDistinctCredentials) {
  constexpr int kClients = 200;
  std::vector<std::string> ids(kClients), secrets(kClients);
  std::vector<int> statuses(kClients, 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      RawConnection connection(http_port(), 30);
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      if (!connection.Send(PostRequest(
              kPath, R"({"redirect_uris":["https://c.example/cb"],"client_name":"c)" + std::to_string(i) + "\"}"))) {
        return;
      }
      const auto response = connection.Read();
      if (!response.has_value()) return;
      statuses[i] = response->status;
      const JsonView json(response->body);
      ids[i] = json.String("client_id").value_or("");
      secrets[i] = json.String("client_secret").value_or("");
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201) << "client " << i;
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kClients));
  EXPECT_EQ(std::set<std::string>(secrets.begin(), secrets.end()).size(), static_cast<std::size_t>(kClients));
}

TEST_F(RegistrationE2eTest, RestartedServerFindsEveryRegisteredClient) {
  struct Registered {
    std::string id, secret, name;
  };
  std::vector<Registered> registered;
  for (int i = 0; i < 30; ++i) {
    const std::string name = "restart client " + std::to_string(i);
    const RawResponse response = Post(R"({"redirect_uris":["https://c.example/cb"],"client_name":")" + name + "\"}");
    ASSERT_EQ(response.status, 201);
    const JsonView json(response.body);
    registered.push_back({*json.String("client_id"), *json.String("client_secret"), name});
  }
  StopGateway();
  StopServer();

  // A new server on the same data dir serves again ...
  StartServer();
  StartGateway();
  EXPECT_EQ(Post(R"({"redirect_uris":["https://c.example/cb"]})").status, 201);
  StopGateway();
  StopServer();

  // ... and every client is in the store, its secret only as the HMAC under the server key.
  ASSERT_OK_AND_ASSIGN(const std::string key, common::LoadOrCreateServerKey(data_dir() + "/server.key"));
  ASSERT_OK_AND_ASSIGN(auto store, storage::OpenRocksDbClientStore(store_path()));
  for (const Registered& client : registered) {
    ASSERT_OK_AND_ASSIGN(const auto stored, store->Get(client.id));
    EXPECT_EQ(stored.metadata().client_name(), client.name);
    ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(key, client.secret));
    EXPECT_EQ(stored.client_secret_digest(), digest);
  }
  int count = 0;
  ASSERT_OK(store->ForEach([&](const clientreg::v1::StoredClient&) {
    ++count;
    return absl::OkStatus();
  }));
  EXPECT_EQ(count, 31);
}

}  // namespace
}  // namespace clientreg::testing
