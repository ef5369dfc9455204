// End to end for RFC 7592 management, RFC 8414 / OIDC discovery and the OpenAPI document: raw HTTP/1.1 to the real
// gateway, gRPC to the real server, RocksDB in a temp dir. Test names carry the spec.md §11 checklist item.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

// An issuer whose host is not the gateway's: every URL in a response must come from it, never from Host.
constexpr char kOrigin[] = "https://as.example";
constexpr char kRegisterBody[] =
    R"({"redirect_uris":["https://c.example/cb"],"client_name":"Old","logo_uri":"https://c.example/logo.png",)"
    R"("grant_types":["authorization_code","refresh_token"],"response_types":["code"]})";

// The JSON members of an object, each re-serialized by simdjson, by name; nullopt if `text` is not an object.
std::optional<std::map<std::string, std::string>> Members(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(text).get(object) != simdjson::SUCCESS) return std::nullopt;
  std::map<std::string, std::string> members;
  for (const auto field : object) members[std::string(field.key)] = simdjson::minify(field.value);
  return members;
}

struct Registered {
  std::string client_id;
  std::string client_secret;
  std::string token;
  std::string uri;
  std::string body;
};

class ManagementE2eTest : public ServiceFixture {
 protected:
  virtual std::string IssuerPath() const { return ""; }
  std::string Issuer() const { return kOrigin + IssuerPath(); }
  std::string RegisterPath() const { return IssuerPath() + "/oauth/register"; }
  std::string ConfigPath(const std::string& client_id) const { return RegisterPath() + "/" + client_id; }

  void SetUp() override {
    ServiceFixture::SetUp();
    server_config_.set_issuer(Issuer());
    Configure();
    StartServer();
    StartGateway();
  }
  virtual void Configure() {}

  // One request on a fresh connection. A body is sent with `content_type` (when not empty) and a Content-Length.
  RawResponse Send(const std::string& method, const std::string& target, const std::string& headers = "",
                   const std::optional<std::string>& body = std::nullopt,
                   const std::string& content_type = "application/json") {
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n" + headers;
    if (body.has_value()) {
      if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
      request += "Content-Length: " + std::to_string(body->size()) + "\r\n";
    }
    request += "\r\n";
    if (body.has_value()) request += *body;
    auto response = RoundTrip(http_port(), request);
    EXPECT_TRUE(response.has_value()) << "no response to " << method << " " << target;
    return response.value_or(RawResponse{});
  }
  static std::string Bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

  RawResponse Get(const Registered& client, const std::string& token) {
    return Send("GET", ConfigPath(client.client_id), Bearer(token));
  }
  RawResponse Put(const Registered& client, const std::string& body) {
    return Send("PUT", ConfigPath(client.client_id), Bearer(client.token), body);
  }

  Registered Register(const std::string& body = kRegisterBody) {
    const RawResponse response = Send("POST", RegisterPath(), "", body);
    EXPECT_EQ(response.status, 201) << response.body;
    const JsonView json(response.body);
    Registered client;
    client.client_id = json.String("client_id").value_or("");
    client.client_secret = json.String("client_secret").value_or("");
    client.token = json.String("registration_access_token").value_or("");
    client.uri = json.String("registration_client_uri").value_or("");
    client.body = response.body;
    EXPECT_FALSE(client.client_id.empty());
    EXPECT_FALSE(client.token.empty());
    return client;
  }

  // A PUT body: the registered metadata with `client_id` and the given replacements.
  static std::string UpdateBody(const Registered& client, const std::string& members) {
    return R"({"client_id":")" + client.client_id + R"(","redirect_uris":["https://c.example/cb"],)" + members + "}";
  }

  void ExpectUnchanged(const Registered& client) {
    const RawResponse response = Get(client, client.token);
    ASSERT_EQ(response.status, 200) << response.body;
    const JsonView json(response.body);
    EXPECT_EQ(json.String("client_name"), "Old");
    EXPECT_EQ(json.String("logo_uri"), "https://c.example/logo.png");
    EXPECT_EQ(json.Strings("redirect_uris"), std::vector<std::string>{"https://c.example/cb"});
  }

  static void ExpectInvalidRequest(const RawResponse& response) {
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(JsonView(response.body).String("error"), "invalid_request") << response.body;
    EXPECT_EQ(response.Header("cache-control"), "no-store");
  }

  // What must be byte-identical between two 401s (spec.md §2.2): only Date and the request's own X-Request-Id may
  // differ, and neither depends on the token or the client.
  static void ExpectSame401(const RawResponse& expected, const RawResponse& actual, const std::string& what) {
    EXPECT_EQ(actual.status, 401) << what;
    EXPECT_EQ(actual.status, expected.status) << what;
    EXPECT_EQ(actual.body, expected.body) << what;
    auto strip_per_request = [](std::map<std::string, std::string> headers) {
      EXPECT_EQ(headers.count("x-request-id"), 1u);
      headers.erase("date");
      headers.erase("x-request-id");
      return headers;
    };
    EXPECT_EQ(strip_per_request(actual.headers), strip_per_request(expected.headers)) << what;
  }
};

class IssuerPathE2eTest : public ManagementE2eTest {
 protected:
  std::string IssuerPath() const override { return "/t1"; }
};

class RotationE2eTest : public ManagementE2eTest {
 protected:
  void Configure() override { server_config_.set_rotate_registration_access_token_on_update(true); }
};

// Item 54.
TEST_F(ManagementE2eTest, Item54RegistrationClientUriAndLocationComeFromIssuer) {
  const RawResponse response = Send("POST", RegisterPath(), "", std::string(kRegisterBody));
  ASSERT_EQ(response.status, 201) << response.body;
  const JsonView json(response.body);
  const std::string client_id = json.String("client_id").value_or("");
  EXPECT_EQ(json.String("registration_client_uri"), Issuer() + "/oauth/register/" + client_id);
  EXPECT_EQ(response.Header("location"), Issuer() + "/oauth/register/" + client_id);
  EXPECT_FALSE(json.String("registration_access_token").value_or("").empty());
}

TEST_F(IssuerPathE2eTest, Item54RegistrationClientUriCarriesIssuerPath) {
  const Registered client = Register();
  EXPECT_EQ(client.uri, "https://as.example/t1/oauth/register/" + client.client_id);
  EXPECT_EQ(Get(client, client.token).status, 200);
  // The path-less routes do not exist for an issuer with a path.
  EXPECT_EQ(Send("POST", "/oauth/register", "", std::string(kRegisterBody)).status, 404);
}

// Item 55.
TEST_F(ManagementE2eTest, Item55GetReturnsTheRegistrationWithoutSecret) {
  const Registered client = Register();
  const RawResponse response = Get(client, client.token);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Header("content-type"), "application/json");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_EQ(response.Header("pragma"), "no-cache");
  auto registered = Members(client.body);
  auto read = Members(response.body);
  ASSERT_TRUE(registered.has_value() && read.has_value());
  EXPECT_EQ(read->count("client_secret"), 0u);
  ASSERT_EQ(registered->count("client_secret"), 1u);
  registered->erase("client_secret");
  EXPECT_EQ(*read, *registered);
  EXPECT_EQ(JsonView(response.body).String("registration_access_token"), client.token);
}

// Item 56.
TEST_F(ManagementE2eTest, Item56WrongTokenIs401WithInvalidTokenChallenge) {
  const Registered client = Register();
  const RawResponse response = Get(client, "wrong-token");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.Header("www-authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  const JsonView json(response.body);
  EXPECT_EQ(json.String("error"), "invalid_token");
  EXPECT_FALSE(json.Has("client_id"));
  EXPECT_FALSE(json.Has("redirect_uris"));
}

// Item 57.
TEST_F(ManagementE2eTest, Item57NoAuthorizationIs401WithoutErrorAttribute) {
  const Registered client = Register();
  const RawResponse response = Send("GET", ConfigPath(client.client_id));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.Header("www-authenticate"), "Bearer");
  EXPECT_EQ(JsonView(response.body).String("error"), "invalid_token");
  // Only the challenge differs from an invalid-token 401.
  const RawResponse invalid = Get(client, "wrong-token");
  EXPECT_EQ(response.body, invalid.body);
}

// Item 58.
TEST_F(ManagementE2eTest, Item58OtherClientsTokenIsIdenticalToUnknownClientAndMalformedToken) {
  const Registered a = Register();
  const Registered b = Register();
  const Registered c = Register();
  // Probes that might revoke a misused token each use their own client's token (revoke_misused_registration_tokens).
  const RawResponse unknown = Send("GET", ConfigPath("no-such-client"), Bearer(c.token));
  ASSERT_EQ(unknown.status, 401) << unknown.body;
  const std::vector<std::pair<std::string, RawResponse>> probes = {
      {"A's token on B", Get(b, a.token)},
      {"wrong token", Get(b, "wrong-token")},
      {"malformed token", Send("GET", ConfigPath(b.client_id), "Authorization: Bearer a b\r\n")},
      {"bad token character", Send("GET", ConfigPath(b.client_id), "Authorization: Bearer a,b\r\n")},
      {"other scheme", Send("GET", ConfigPath(b.client_id), "Authorization: Basic YTpi\r\n")},
      {"empty bearer", Send("GET", ConfigPath(b.client_id), "Authorization: Bearer\r\n")},
      {"malformed client_id", Send("GET", ConfigPath("a%2Fb"), Bearer(b.token))},
      {"empty client_id", Send("GET", ConfigPath(""), Bearer(b.token))},
      {"nested path", Send("GET", ConfigPath(b.client_id + "/x"), Bearer(b.token))},
      {"PUT unknown", Send("PUT", ConfigPath("no-such-client"), Bearer(b.token),
                           std::string(R"({"client_id":"no-such-client","redirect_uris":["https://c.example/cb"]})"))},
      {"DELETE unknown", Send("DELETE", ConfigPath("no-such-client"), Bearer(b.token))},
  };
  for (const auto& [what, response] : probes) ExpectSame401(unknown, response, what);
  EXPECT_EQ(unknown.Header("www-authenticate"), "Bearer error=\"invalid_token\"");
}

// Item 56's other side: the scheme name is case-insensitive and may be followed by several spaces (RFC 6750 §2.1,
// RFC 9110 §11.1).
TEST_F(ManagementE2eTest, BearerSchemeIsCaseInsensitive) {
  const Registered client = Register();
  EXPECT_EQ(Send("GET", ConfigPath(client.client_id), "Authorization: bEaReR   " + client.token + "\r\n").status, 200);
}

// Item 59.
TEST_F(ManagementE2eTest, Item59TokenInQueryIsIgnored) {
  const Registered client = Register();
  const RawResponse response = Send("GET", ConfigPath(client.client_id) + "?access_token=" + client.token);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.Header("www-authenticate"), "Bearer");
  EXPECT_FALSE(JsonView(response.body).Has("client_id"));
  // A form body on DELETE is no credential either.
  const RawResponse form = Send("DELETE", ConfigPath(client.client_id), "", std::string("access_token=") + client.token,
                                "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 401);
  EXPECT_EQ(Get(client, client.token).status, 200);
}

// Item 60.
TEST_F(ManagementE2eTest, Item60PutReplacesClientName) {
  const Registered client = Register();
  const RawResponse response =
      Put(client, UpdateBody(client, R"("client_name":"New","logo_uri":"https://c.example/logo.png",)"
                                     R"("grant_types":["authorization_code","refresh_token"])"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_EQ(response.Header("pragma"), "no-cache");
  EXPECT_EQ(JsonView(response.body).String("client_name"), "New");
  EXPECT_EQ(JsonView(response.body).String("client_id"), client.client_id);
  const RawResponse read = Get(client, client.token);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(JsonView(read.body).String("client_name"), "New");
}

// Item 61.
TEST_F(ManagementE2eTest, Item61PutOmittingFieldsDeletesOrDefaultsThem) {
  const Registered client = Register();
  const RawResponse response = Put(client, UpdateBody(client, R"("client_name":"Old")"));
  ASSERT_EQ(response.status, 200) << response.body;
  const RawResponse read = Get(client, client.token);
  ASSERT_EQ(read.status, 200);
  const JsonView json(read.body);
  EXPECT_FALSE(json.Has("logo_uri"));
  EXPECT_EQ(json.Strings("grant_types"), std::vector<std::string>{"authorization_code"});
}

// Item 62.
TEST_F(ManagementE2eTest, Item62PutWithInvalidRedirectIs400AndChangesNothing) {
  const Registered client = Register();
  const RawResponse response =
      Put(client, R"({"client_id":")" + client.client_id + R"(","redirect_uris":["https://c.example/cb#x"]})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(JsonView(response.body).String("error"), "invalid_redirect_uri");
  ExpectUnchanged(client);
}

// Item 63.
TEST_F(ManagementE2eTest, Item63PutSecretMustMatch) {
  const Registered client = Register();
  const std::string keep = R"("client_name":"Old","logo_uri":"https://c.example/logo.png",)"
                           R"("grant_types":["authorization_code","refresh_token"])";
  ExpectInvalidRequest(Put(client, UpdateBody(client, keep + R"(,"client_secret":"not-the-secret")")));
  ExpectUnchanged(client);
  const RawResponse wrong_kind = Put(client, UpdateBody(client, keep + R"(,"client_secret":12)"));
  ExpectInvalidRequest(wrong_kind);
  EXPECT_EQ(JsonView(wrong_kind.body).String("error_field"), "client_secret");
  const RawResponse match =
      Put(client, UpdateBody(client, keep + R"(,"client_secret":")" + client.client_secret + "\""));
  EXPECT_EQ(match.status, 200) << match.body;
}

// Item 64.
TEST_F(ManagementE2eTest, Item64PutClientIdMustBePresentAndEqual) {
  const Registered client = Register();
  const Registered other = Register();
  ExpectInvalidRequest(Put(client, R"({"redirect_uris":["https://c.example/cb"],"client_name":"New"})"));
  ExpectInvalidRequest(Put(client, UpdateBody(other, R"("client_name":"New")")));
  const RawResponse wrong_kind = Put(client, R"({"client_id":7,"redirect_uris":["https://c.example/cb"]})");
  ExpectInvalidRequest(wrong_kind);
  EXPECT_EQ(JsonView(wrong_kind.body).String("error_field"), "client_id");
  ExpectUnchanged(client);
}

// Item 65.
TEST_F(ManagementE2eTest, Item65PutWithServerProvisionedMembersIs400) {
  const Registered client = Register();
  for (const std::string member : {R"("registration_access_token":"x")", R"("registration_client_uri":"https://x/")",
                                   R"("client_secret_expires_at":0)", R"("client_id_issued_at":1)"}) {
    ExpectInvalidRequest(Put(client, UpdateBody(client, R"("client_name":"New",)" + member)));
  }
  ExpectUnchanged(client);
}

// Item 66.
TEST_F(RotationE2eTest, Item66RotatedTokenReplacesTheOldOneAtOnce) {
  const Registered client = Register();
  const RawResponse response = Put(client, UpdateBody(client, R"("client_name":"New")"));
  ASSERT_EQ(response.status, 200) << response.body;
  const std::string rotated = JsonView(response.body).String("registration_access_token").value_or("");
  ASSERT_FALSE(rotated.empty());
  EXPECT_NE(rotated, client.token);
  EXPECT_EQ(Get(client, client.token).status, 401);
  EXPECT_EQ(Get(client, rotated).status, 200);
}

// Item 67.
TEST_F(ManagementE2eTest, Item67DeleteWithWrongTokenKeepsTheClient) {
  const Registered client = Register();
  const RawResponse response = Send("DELETE", ConfigPath(client.client_id), Bearer("wrong-token"));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.Header("www-authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(Get(client, client.token).status, 200);
}

// Item 68.
TEST_F(ManagementE2eTest, Item68DeleteIs204ThenEveryCallIs401) {
  const Registered client = Register();
  const Registered other = Register();
  const RawResponse response = Send("DELETE", ConfigPath(client.client_id), Bearer(client.token));
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
  EXPECT_FALSE(response.HasHeader("content-type"));
  const RawResponse unknown = Send("GET", ConfigPath("no-such-client"), Bearer(other.token));
  ExpectSame401(unknown, Get(client, client.token), "GET after delete");
  ExpectSame401(unknown, Put(client, UpdateBody(client, R"("client_name":"New")")), "PUT after delete");
  ExpectSame401(unknown, Send("DELETE", ConfigPath(client.client_id), Bearer(client.token)), "DELETE after delete");
}

// Item 69.
TEST_F(ManagementE2eTest, Item69DisabledClientIs403) {
  const Registered client = Register();
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
  auto admin = clientreg::v1::ClientAdmin::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  clientreg::v1::ClientIdRequest request;
  request.set_client_id(client.client_id);
  clientreg::v1::ClientRecord record;
  const grpc::Status status = admin->DisableClient(&context, request, &record);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const RawResponse& response :
       {Get(client, client.token), Put(client, UpdateBody(client, R"("client_name":"New")")),
        Send("DELETE", ConfigPath(client.client_id), Bearer(client.token))}) {
    EXPECT_EQ(response.status, 403) << response.body;
    const auto error = JsonView(response.body).String("error");
    EXPECT_TRUE(error == "access_denied" || error == "insufficient_scope") << response.body;
    EXPECT_EQ(response.Header("cache-control"), "no-store");
  }
}

// RFC 9110 §15.5.6 on the configuration endpoint, and its CORS preflight (spec.md §1.1).
TEST_F(ManagementE2eTest, ConfigurationEndpointOtherMethodsAre405WithAllow) {
  const Registered client = Register();
  for (const std::string method : {"POST", "PATCH"}) {
    const RawResponse response = Send(method, ConfigPath(client.client_id), Bearer(client.token), std::string("{}"));
    EXPECT_EQ(response.status, 405) << method;
    EXPECT_EQ(response.Header("allow"), "GET, HEAD, PUT, DELETE, OPTIONS") << method;
  }
  const RawResponse preflight = Send("OPTIONS", ConfigPath(client.client_id),
                                     "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("access-control-allow-methods"), "GET, HEAD, PUT, DELETE, OPTIONS");
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "*");
  EXPECT_EQ(Get(client, client.token).status, 200);
}

// The discovery documents served for the fixture's issuer, with what every one of them must satisfy.
void ExpectDiscoveryDocument(const RawResponse& response, const std::string& issuer, bool openid) {
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Header("content-type"), "application/json");
  EXPECT_EQ(response.Header("cache-control"), "public, max-age=3600");
  EXPECT_EQ(response.Header("access-control-allow-origin"), "*");
  const JsonView json(response.body);
  ASSERT_TRUE(json.valid()) << response.body;
  // Items 71, 72: byte-identical issuer.
  EXPECT_EQ(json.String("issuer"), issuer);
  // Item 73.
  EXPECT_EQ(json.String("registration_endpoint"), issuer + "/oauth/register");
  for (const char* member : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    EXPECT_FALSE(json.String(member).value_or("").empty()) << member;
  }
  for (const char* member : {"response_types_supported", "grant_types_supported"}) {
    EXPECT_TRUE(json.Strings(member).has_value()) << member;
  }
  const auto methods = json.Strings("token_endpoint_auth_methods_supported").value_or(std::vector<std::string>{});
  EXPECT_NE(std::find(methods.begin(), methods.end(), "none"), methods.end());
  EXPECT_NE(std::find(methods.begin(), methods.end(), "client_secret_basic"), methods.end());
  EXPECT_EQ(json.Strings("code_challenge_methods_supported"), std::vector<std::string>{"S256"});
  if (openid) {
    EXPECT_TRUE(json.Strings("subject_types_supported").has_value());
    const auto algs = json.Strings("id_token_signing_alg_values_supported").value_or(std::vector<std::string>{});
    EXPECT_NE(std::find(algs.begin(), algs.end(), "RS256"), algs.end());
  } else {
    EXPECT_FALSE(json.Has("subject_types_supported"));
  }
  // Item 74: no empty arrays; no CIMD claim, since CIMD URLs are not resolved.
  const auto members = Members(response.body);
  ASSERT_TRUE(members.has_value());
  for (const auto& [name, value] : *members) EXPECT_NE(value, "[]") << name;
  EXPECT_FALSE(json.Has("client_id_metadata_document_supported"));
}

// Items 71-74 without an issuer path: both styles are the same URL.
TEST_F(ManagementE2eTest, Items71To74DiscoveryDocuments) {
  ExpectDiscoveryDocument(Send("GET", "/.well-known/oauth-authorization-server"), Issuer(), false);
  ExpectDiscoveryDocument(Send("GET", "/.well-known/openid-configuration"), Issuer(), true);
  const RawResponse post = Send("POST", "/.well-known/openid-configuration", "", std::string("{}"));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD, OPTIONS");
}

// RFC 9110 §9.1, §9.3.2: HEAD wherever GET is, with the GET answer's status and fields and no content.
TEST_F(ManagementE2eTest, HeadAnswersLikeGetWithoutContent) {
  const Registered client = Register();
  for (const auto& [target, headers] :
       std::vector<std::pair<std::string, std::string>>{{"/.well-known/oauth-authorization-server", ""},
                                                        {"/.well-known/openid-configuration", ""},
                                                        {"/openapi.json", ""},
                                                        {ConfigPath(client.client_id), Bearer(client.token)}}) {
    SCOPED_TRACE(target);
    const RawResponse get = Send("GET", target, headers);
    ASSERT_EQ(get.status, 200);
    RawConnection connection(http_port());
    ASSERT_TRUE(connection.Send("HEAD " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n"));
    const std::optional<RawResponse> head = connection.Read(/*response_to_head=*/true);
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->Header("content-length"), std::to_string(get.body.size()));
    EXPECT_EQ(head->Header("content-type"), get.Header("content-type"));
    EXPECT_TRUE(head->body.empty());
    // The connection stays usable: no stray content was sent after the header.
    ASSERT_TRUE(connection.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n"));
    const std::optional<RawResponse> next = connection.Read();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->status, 200);
  }
}

// Items 71, 72 with issuer path /t1: RFC 8414 §3 insertion, OIDC appending, and the inserted OIDC form.
TEST_F(IssuerPathE2eTest, Items71To74DiscoveryWithIssuerPath) {
  ExpectDiscoveryDocument(Send("GET", "/.well-known/oauth-authorization-server/t1"), Issuer(), false);
  ExpectDiscoveryDocument(Send("GET", "/t1/.well-known/openid-configuration"), Issuer(), true);
  ExpectDiscoveryDocument(Send("GET", "/.well-known/openid-configuration/t1"), Issuer(), true);
  EXPECT_EQ(Send("GET", "/.well-known/oauth-authorization-server").status, 404);
  EXPECT_EQ(Send("GET", "/t1/.well-known/oauth-authorization-server").status, 404);
}

// Item 75.
TEST_F(ManagementE2eTest, Item75DefaultRegistrationIsCoveredByAdvertisedLists) {
  const JsonView document(Send("GET", "/.well-known/oauth-authorization-server").body);
  const Registered client = Register(R"({"redirect_uris":["https://c.example/cb"]})");
  const JsonView registered(client.body);
  const auto methods = document.Strings("token_endpoint_auth_methods_supported").value_or(std::vector<std::string>{});
  const std::string method = registered.String("token_endpoint_auth_method").value_or("?");
  EXPECT_NE(std::find(methods.begin(), methods.end(), method), methods.end()) << method;
  const auto grants = document.Strings("grant_types_supported").value_or(std::vector<std::string>{});
  for (const std::string& grant : registered.Strings("grant_types").value_or(std::vector<std::string>{"?"})) {
    EXPECT_NE(std::find(grants.begin(), grants.end(), grant), grants.end()) << grant;
  }
  const auto responses = document.Strings("response_types_supported").value_or(std::vector<std::string>{});
  for (const std::string& type : registered.Strings("response_types").value_or(std::vector<std::string>{"?"})) {
    EXPECT_NE(std::find(responses.begin(), responses.end(), type), responses.end()) << type;
  }
}

// Checks JSON values against the subset of JSON Schema that gateway/openapi.json uses: $ref (to this document),
// type, required, properties, items, patternProperties, additionalProperties (a boolean or a schema).
class SchemaChecker {
 public:
  explicit SchemaChecker(simdjson::dom::element root) : root_(root) {}

  // Follows "$ref": "#/a/b" pointers until a schema without one.
  simdjson::dom::element Resolve(simdjson::dom::element node) const {
    std::string_view ref;
    while (node["$ref"].get(ref) == simdjson::SUCCESS) {
      EXPECT_EQ(ref.substr(0, 2), "#/") << ref;
      node = root_.at_pointer(ref.substr(1)).value();
    }
    return node;
  }

  // Appends a message per violation to `errors`.
  void Check(simdjson::dom::element schema_node, simdjson::dom::element value, const std::string& where,
             std::vector<std::string>& errors) const {
    const simdjson::dom::element schema = Resolve(schema_node);
    std::string_view type;
    if (schema["type"].get(type) == simdjson::SUCCESS && !HasType(value, type)) {
      errors.push_back(where + ": not of type " + std::string(type));
      return;
    }
    simdjson::dom::object object;
    if (value.get(object) == simdjson::SUCCESS) CheckObject(schema, object, where, errors);
    simdjson::dom::array array;
    simdjson::dom::element items;
    if (value.get(array) == simdjson::SUCCESS && schema["items"].get(items) == simdjson::SUCCESS) {
      std::size_t i = 0;
      for (const auto element : array) Check(items, element, where + "[" + std::to_string(i++) + "]", errors);
    }
  }

 private:
  static bool HasType(simdjson::dom::element value, std::string_view type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_int64() || value.is_uint64();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_bool();
    if (type == "null") return value.is_null();
    ADD_FAILURE() << "unknown schema type " << type;
    return false;
  }

  void CheckObject(simdjson::dom::element schema, simdjson::dom::object object, const std::string& where,
                   std::vector<std::string>& errors) const {
    simdjson::dom::array required;
    if (schema["required"].get(required) == simdjson::SUCCESS) {
      for (const auto element : required) {
        std::string_view name;
        if (element.get(name) != simdjson::SUCCESS || object[name].error() != simdjson::SUCCESS) {
          errors.push_back(where + ": required member " + std::string(name) + " missing");
        }
      }
    }
    simdjson::dom::object properties;
    simdjson::dom::object patterns;
    const bool has_properties = schema["properties"].get(properties) == simdjson::SUCCESS;
    const bool has_patterns = schema["patternProperties"].get(patterns) == simdjson::SUCCESS;
    for (const auto member : object) {
      const std::string name(member.key);
      bool declared = false;
      simdjson::dom::element property;
      if (has_properties && properties[member.key].get(property) == simdjson::SUCCESS) {
        declared = true;
        Check(property, member.value, where + "." + name, errors);
      }
      if (has_patterns) {
        for (const auto pattern : patterns) {
          // JSON Schema patterns are ECMA-262 regexes, searched anywhere in the name.
          if (std::regex_search(name, std::regex(std::string(pattern.key), std::regex::ECMAScript))) {
            declared = true;
            Check(pattern.value, member.value, where + "." + name, errors);
          }
        }
      }
      if (declared) continue;
      simdjson::dom::element additional;
      if (schema["additionalProperties"].get(additional) != simdjson::SUCCESS) continue;
      bool allowed = true;
      if (additional.get(allowed) == simdjson::SUCCESS) {
        if (!allowed) errors.push_back(where + ": member " + name + " is not declared");
      } else {
        Check(additional, member.value, where + "." + name, errors);
      }
    }
  }

  simdjson::dom::element root_;
};

// The checker itself: a conformance test whose checker accepts everything would prove nothing.
TEST(SchemaCheckerTest, ReportsEachKindOfViolation) {
  const std::string schema_text = R"({"components":{"schemas":{"S":{"type":"object","required":["a"],
    "properties":{"a":{"type":"integer"},"b":{"type":"array","items":{"type":"string"}}},
    "patternProperties":{"^n#.+$":{"type":"string"}},"additionalProperties":false}}},
    "root":{"$ref":"#/components/schemas/S"}})";
  simdjson::dom::parser schema_parser;
  const simdjson::dom::element schema_root = schema_parser.parse(schema_text).value();
  const SchemaChecker checker(schema_root);
  auto errors_for = [&](const std::string& text) {
    simdjson::dom::parser parser;
    std::vector<std::string> errors;
    checker.Check(schema_root["root"].value(), parser.parse(text).value(), "$", errors);
    return errors.size();
  };
  EXPECT_EQ(errors_for(R"({"a":1,"b":["x"],"n#en":"y"})"), 0u);
  EXPECT_EQ(errors_for(R"({"b":[]})"), 1u);          // required
  EXPECT_EQ(errors_for(R"({"a":"1"})"), 1u);         // type
  EXPECT_EQ(errors_for(R"({"a":1,"b":[1]})"), 1u);   // items
  EXPECT_EQ(errors_for(R"({"a":1,"n#en":2})"), 1u);  // patternProperties
  EXPECT_EQ(errors_for(R"({"a":1,"c":true})"), 1u);  // additionalProperties
  EXPECT_EQ(errors_for(R"([])"), 1u);                // root type
}

class OpenApiE2eTest : public ManagementE2eTest {
 protected:
  void SetUp() override {
    ManagementE2eTest::SetUp();
    const RawResponse response = Send("GET", "/openapi.json");
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.Header("content-type"), "application/json");
    EXPECT_EQ(response.Header("cache-control"), "public, max-age=3600");
    document_text_ = response.body;
    ASSERT_EQ(parser_.parse(document_text_).get(document_), simdjson::SUCCESS);
  }

  // Checks that `response`, answered to `method` on the OpenAPI path `path`, is documented there: its status is
  // listed (looked up under `documented_method`, where a 405 of another method is described), and a JSON body
  // matches the schema, or there is no body when none is documented.
  void ExpectDocumented(const std::string& path, const std::string& documented_method, const RawResponse& response) {
    SCOPED_TRACE(documented_method + " " + path + " -> " + std::to_string(response.status));
    const SchemaChecker checker(document_);
    simdjson::dom::element operation;
    ASSERT_EQ(document_["paths"][path][documented_method].get(operation), simdjson::SUCCESS);
    simdjson::dom::element documented;
    ASSERT_EQ(operation["responses"][std::to_string(response.status)].get(documented), simdjson::SUCCESS)
        << "status not documented";
    documented = checker.Resolve(documented);
    simdjson::dom::element schema;
    if (documented["content"]["application/json"]["schema"].get(schema) != simdjson::SUCCESS) {
      EXPECT_TRUE(response.body.empty()) << response.body;
      return;
    }
    EXPECT_EQ(response.Header("content-type"), "application/json");
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    ASSERT_EQ(parser.parse(response.body).get(body), simdjson::SUCCESS) << response.body;
    std::vector<std::string> errors;
    checker.Check(schema, body, "$", errors);
    for (const std::string& error : errors) ADD_FAILURE() << error << " in " << response.body;
    // Headers the document promises for this response.
    simdjson::dom::object headers;
    if (documented["headers"].get(headers) == simdjson::SUCCESS) {
      for (const auto header : headers) {
        std::string name(header.key);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        if (name == "access-control-allow-origin" || name == "location") continue;  // conditional
        EXPECT_TRUE(response.HasHeader(name)) << name;
      }
    }
  }

  simdjson::dom::parser parser_;
  std::string document_text_;
  simdjson::dom::element document_;
};

TEST_F(OpenApiE2eTest, DocumentDescribesEveryRoute) {
  EXPECT_EQ(std::string_view(document_["openapi"].get_string().value()), "3.1.0");
  for (const char* path : {"/oauth/register", "/oauth/register/{client_id}", "/.well-known/oauth-authorization-server",
                           "/.well-known/openid-configuration", "/openapi.json"}) {
    EXPECT_EQ(document_["paths"][path].error(), simdjson::SUCCESS) << path;
  }
  std::string_view scheme;
  ASSERT_EQ(document_["components"]["securitySchemes"]["registrationAccessToken"]["scheme"].get(scheme),
            simdjson::SUCCESS);
  EXPECT_EQ(scheme, "bearer");
  for (const char* method : {"get", "put", "delete"}) {
    EXPECT_EQ(document_["paths"]["/oauth/register/{client_id}"][method]["security"].error(), simdjson::SUCCESS);
  }
  for (const char* status : {"400", "401", "403", "405", "411", "413", "415", "429", "431", "503", "504"}) {
    EXPECT_EQ(document_["paths"]["/oauth/register"]["post"]["responses"][status].error(), simdjson::SUCCESS) << status;
  }
}

TEST_F(OpenApiE2eTest, RegistrationResponsesMatchTheDocument) {
  constexpr char kPath[] = "/oauth/register";
  ExpectDocumented(kPath, "post", Send("POST", kPath, "", std::string(kRegisterBody)));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "", std::string("{")));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "", std::string(R"({"redirect_uris":["x"]})")));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "", std::string("{}"), "text/plain"));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "", std::string(70000, ' ')));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "Content-Type: application/json\r\n"));
  ExpectDocumented(kPath, "post", Send("GET", kPath));
  ExpectDocumented(kPath, "post", Send("POST", kPath, "X-Big: " + std::string(9000, 'a') + "\r\n", std::string("{}")));
}

TEST_F(OpenApiE2eTest, ManagementResponsesMatchTheDocument) {
  constexpr char kPath[] = "/oauth/register/{client_id}";
  const Registered client = Register(R"({"redirect_uris":["https://c.example/cb"],"client_name":"Old",)"
                                     R"("client_name#ja-Jpan-JP":"名前","jwks_uri":"https://c.example/jwks"})");
  ExpectDocumented(kPath, "get", Get(client, client.token));
  ExpectDocumented(kPath, "get", Get(client, "wrong"));
  ExpectDocumented(kPath, "get", Send("GET", ConfigPath(client.client_id)));
  ExpectDocumented(kPath, "get", Send("PATCH", ConfigPath(client.client_id), Bearer(client.token), std::string("{}")));
  ExpectDocumented(kPath, "put", Put(client, UpdateBody(client, R"("client_name#en":"Name")")));
  ExpectDocumented(kPath, "put", Put(client, R"({"client_id":")" + client.client_id + R"(","redirect_uris":7})"));
  ExpectDocumented(kPath, "put", Put(client, "[]"));
  ExpectDocumented(kPath, "put",
                   Send("PUT", ConfigPath(client.client_id), Bearer(client.token), std::string("{}"), "text/plain"));
  ExpectDocumented(kPath, "delete", Send("DELETE", ConfigPath(client.client_id), Bearer("wrong")));
  ExpectDocumented(kPath, "delete", Send("DELETE", ConfigPath(client.client_id), Bearer(client.token)));
  ExpectDocumented(kPath, "get", Get(client, client.token));
}

TEST_F(OpenApiE2eTest, DiscoveryResponsesMatchTheDocument) {
  for (const std::string path : {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}) {
    ExpectDocumented(path, "get", Send("GET", path));
    ExpectDocumented(path, "get", Send("DELETE", path));
  }
  ExpectDocumented("/openapi.json", "get", Send("GET", "/openapi.json"));
}

}  // namespace
}  // namespace clientreg::testing
