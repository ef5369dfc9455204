// End to end for issue 9: the registration requests that today's AI agents (MCP clients) send, over raw HTTP/1.1 to
// the real gateway, gRPC to the real server, RocksDB in a temp dir. Each agent registers on the first try, its
// redirect URIs echoed byte for byte, and the hostile redirect URIs stay refused. spec.md §6, §10; checklist items
// 13, 22-27, 36.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

constexpr char kRegisterPath[] = "/oauth/register";
constexpr char kDeviceCodeGrant[] = "urn:ietf:params:oauth:grant-type:device_code";

// Cursor's set: a private-use scheme without a period, beside an https URI and a localhost loopback URI.
std::vector<std::string> CursorUris() {
  return {"cursor://anysphere.cursor-mcp/oauth/callback", "https://cursor.example/oauth/callback",
          "http://localhost:8787/callback"};
}

// `values` as a JSON array of strings, without spaces.
std::string JsonArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const std::string& value : values) {
    if (out.size() > 1) out += ",";
    out += "\"";
    for (const char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "]";
}

// The members (without braces) of a public client's registration as MCP clients send it: PKCE with no secret
// (token_endpoint_auth_method "none"), authorization_code with refresh_token, and no application_type.
// `extra_members`, when not empty, is appended after a comma.
std::string AgentMembers(const std::string& client_name, const std::vector<std::string>& redirect_uris,
                         const std::string& extra_members = "") {
  std::string members = R"("client_name":")" + client_name + R"(","redirect_uris":)" + JsonArray(redirect_uris) +
                        R"(,"grant_types":["authorization_code","refresh_token"],"response_types":["code"],)"
                        R"("token_endpoint_auth_method":"none")";
  if (!extra_members.empty()) members += "," + extra_members;
  return members;
}

std::string AgentBody(const std::string& client_name, const std::vector<std::string>& redirect_uris,
                      const std::string& extra_members = "") {
  return "{" + AgentMembers(client_name, redirect_uris, extra_members) + "}";
}

class AgentRegistrationE2eTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    Configure();
    StartServer();
    StartGateway();
  }
  // Changes server_config_ before the server starts.
  virtual void Configure() {}

  // One request on a fresh connection; a body is sent as application/json.
  RawResponse Send(const std::string& method, const std::string& target, const std::string& headers = "",
                   const std::optional<std::string>& body = std::nullopt) {
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers;
    if (body.has_value()) {
      request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
    }
    request += "\r\n";
    if (body.has_value()) request += *body;
    auto response = RoundTrip(http_port(), request);
    EXPECT_TRUE(response.has_value()) << "no response to " << method << " " << target;
    return response.value_or(RawResponse{});
  }

  RawResponse Register(const std::string& body) { return Send("POST", kRegisterPath, "", body); }

  // RFC 7592 PUT of `members` (with the client's client_id added) to the configuration URL of the client that
  // `registration` (a 201 body) describes, authorized by its registration access token.
  RawResponse Put(const std::string& registration, const std::string& members) {
    const JsonView json(registration);
    const std::string client_id = json.String("client_id").value_or("");
    const std::string token = json.String("registration_access_token").value_or("");
    EXPECT_FALSE(client_id.empty() || token.empty()) << registration;
    return Send("PUT", std::string(kRegisterPath) + "/" + client_id, "Authorization: Bearer " + token + "\r\n",
                R"({"client_id":")" + client_id + R"(",)" + members + "}");
  }

  // A 201 for a public client: its redirect URIs echoed exactly as sent (none sent: none echoed), "none" echoed,
  // and no secret.
  static void ExpectRegistered(const RawResponse& response, const std::vector<std::string>& redirect_uris,
                               int status = 201) {
    ASSERT_EQ(response.status, status) << response.body;
    EXPECT_EQ(response.Header("content-type"), "application/json");
    EXPECT_EQ(response.Header("cache-control"), "no-store");
    const JsonView json(response.body);
    ASSERT_TRUE(json.valid()) << response.body;
    EXPECT_FALSE(json.String("client_id").value_or("").empty()) << response.body;
    if (redirect_uris.empty()) {
      EXPECT_FALSE(json.Has("redirect_uris")) << response.body;
    } else {
      EXPECT_EQ(json.Strings("redirect_uris"), redirect_uris) << response.body;
      // The same bytes, compared as JSON text too: nothing folded, trimmed or re-encoded.
      EXPECT_EQ(json.Minified("redirect_uris"), JsonArray(redirect_uris));
    }
    EXPECT_EQ(json.String("token_endpoint_auth_method"), "none");
    EXPECT_FALSE(json.Has("client_secret")) << response.body;
    EXPECT_FALSE(json.Has("client_secret_expires_at")) << response.body;
  }

  // A 400 with `error`, a description, and `error_field` when `field` is not empty. Returns the description.
  static std::string ExpectRefused(const RawResponse& response, const std::string& error,
                                   const std::string& field = "") {
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(response.Header("cache-control"), "no-store");
    const JsonView json(response.body);
    EXPECT_TRUE(json.valid()) << response.body;
    EXPECT_EQ(json.String("error"), error) << response.body;
    const std::string description = json.String("error_description").value_or("");
    EXPECT_FALSE(description.empty()) << response.body;
    if (!field.empty()) {
      EXPECT_EQ(json.String("error_field"), field) << response.body;
    }
    EXPECT_FALSE(json.Has("client_id")) << response.body;
    return description;
  }
};

class DefaultScopeE2eTest : public AgentRegistrationE2eTest {
 protected:
  void Configure() override { server_config_.mutable_registration()->set_default_scope("openid"); }
};

class DeviceCodeE2eTest : public AgentRegistrationE2eTest {
 protected:
  void Configure() override { server_config_.mutable_registration()->add_allowed_grant_types(kDeviceCodeGrant); }
};

class ReverseDomainSchemesE2eTest : public AgentRegistrationE2eTest {
 protected:
  void Configure() override { server_config_.mutable_registration()->set_require_reverse_domain_schemes(true); }
};

// Item 25: a private-use scheme without a period beside an https URI, no application_type: native.
TEST_F(AgentRegistrationE2eTest, CursorRegistersAsNative) {
  const RawResponse response = Register(AgentBody("Cursor", CursorUris()));
  ExpectRegistered(response, CursorUris());
  const JsonView json(response.body);
  EXPECT_EQ(json.String("application_type"), "native");
  EXPECT_EQ(json.String("client_name"), "Cursor");
  EXPECT_EQ(json.Strings("grant_types"), (std::vector<std::string>{"authorization_code", "refresh_token"}));
  EXPECT_EQ(json.Strings("response_types"), std::vector<std::string>{"code"});
}

// Item 25: older Cline (vscode://<publisher>.<extension>/...) and older Zed (zed://...) schemes have no period.
TEST_F(AgentRegistrationE2eTest, OlderClineAndZedRegisterAsNative) {
  for (const auto& [name, uri] :
       std::vector<std::pair<std::string, std::string>>{{"Cline", "vscode://saoudrizwan.claude-dev/oauth/callback"},
                                                        {"Zed", "zed://oauth/callback"},
                                                        {"My App", "myapp://cb"}}) {
    SCOPED_TRACE(uri);
    const RawResponse response = Register(AgentBody(name, {uri}));
    ExpectRegistered(response, {uri});
    EXPECT_EQ(JsonView(response.body).String("application_type"), "native");
  }
}

// Gemini CLI and MCP Inspector send "scope": "" when discovery published no scopes: no scope, nothing echoed.
TEST_F(AgentRegistrationE2eTest, EmptyOrNullScopeIsNoScope) {
  const std::vector<std::string> gemini_uris = {"http://localhost:7777/oauth/callback"};
  const std::vector<std::string> inspector_uris = {"http://localhost:6274/oauth/callback"};
  for (const std::string& body : {AgentBody("Gemini CLI MCP Client", gemini_uris, R"("scope":"")"),
                                  AgentBody("Gemini CLI MCP Client", gemini_uris, R"("scope":null)")}) {
    SCOPED_TRACE(body);
    const RawResponse response = Register(body);
    ExpectRegistered(response, gemini_uris);
    EXPECT_FALSE(JsonView(response.body).Has("scope")) << response.body;
    EXPECT_EQ(JsonView(response.body).String("application_type"), "native");
  }
  for (const std::string& body :
       {AgentBody("MCP Inspector", inspector_uris,
                  R"("client_uri":"https://github.com/modelcontextprotocol/inspector","scope":"")"),
        AgentBody("MCP Inspector", inspector_uris,
                  R"("client_uri":"https://github.com/modelcontextprotocol/inspector","scope":null)")}) {
    SCOPED_TRACE(body);
    const RawResponse response = Register(body);
    ExpectRegistered(response, inspector_uris);
    EXPECT_FALSE(JsonView(response.body).Has("scope")) << response.body;
  }
}

// With a configured default scope, an empty or null scope gets the default, as an absent one does.
TEST_F(DefaultScopeE2eTest, EmptyOrNullScopeGetsTheDefault) {
  const std::vector<std::string> uris = {"http://localhost:7777/oauth/callback"};
  for (const std::string scope_member : {R"("scope":"")", R"("scope":null)"}) {
    SCOPED_TRACE(scope_member);
    const RawResponse response = Register(AgentBody("Gemini CLI MCP Client", uris, scope_member));
    ExpectRegistered(response, uris);
    EXPECT_EQ(JsonView(response.body).String("scope"), "openid") << response.body;
  }
  const RawResponse absent = Register(AgentBody("Gemini CLI MCP Client", uris));
  ExpectRegistered(absent, uris);
  EXPECT_EQ(JsonView(absent.body).String("scope"), "openid") << absent.body;
}

std::string VsCodeBody() {
  return R"({"client_name":"Visual Studio Code","client_uri":"https://code.visualstudio.com",)"
         R"("application_type":"native",)"
         R"("grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],)"
         R"("response_types":["code"],"redirect_uris":["https://vscode.dev/redirect","http://127.0.0.1:33418/"],)"
         R"("token_endpoint_auth_method":"none"})";
}

// device_code is not enabled by default: refused, naming the allowed set.
TEST_F(AgentRegistrationE2eTest, VsCodeDeviceCodeIsRefusedUnlessEnabled) {
  const std::string description = ExpectRefused(Register(VsCodeBody()), "invalid_client_metadata", "grant_types[2]");
  for (const char* allowed : {"authorization_code", "refresh_token", "client_credentials"}) {
    EXPECT_NE(description.find(allowed), std::string::npos) << allowed << " not in: " << description;
  }
  const JsonView discovery(Send("GET", "/.well-known/oauth-authorization-server").body);
  const auto grants = discovery.Strings("grant_types_supported").value_or(std::vector<std::string>{});
  EXPECT_EQ(std::find(grants.begin(), grants.end(), kDeviceCodeGrant), grants.end());
}

TEST_F(DeviceCodeE2eTest, VsCodeRegistersWhenDeviceCodeIsEnabled) {
  const RawResponse response = Register(VsCodeBody());
  ExpectRegistered(response, {"https://vscode.dev/redirect", "http://127.0.0.1:33418/"});
  const JsonView json(response.body);
  EXPECT_EQ(json.Strings("grant_types"),
            (std::vector<std::string>{"authorization_code", "refresh_token", kDeviceCodeGrant}));
  EXPECT_EQ(json.String("application_type"), "native");

  // Discovery lists exactly the enabled set.
  const RawResponse metadata = Send("GET", "/.well-known/oauth-authorization-server");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  auto grants = JsonView(metadata.body).Strings("grant_types_supported").value_or(std::vector<std::string>{});
  std::sort(grants.begin(), grants.end());
  EXPECT_EQ(grants,
            (std::vector<std::string>{"authorization_code", "client_credentials", "refresh_token", kDeviceCodeGrant}));
}

// device_code needs no redirect URI; without authorization_code the response types are [].
TEST_F(DeviceCodeE2eTest, DeviceOnlyClientNeedsNoRedirectUris) {
  for (const std::string& body : {std::string(R"({"client_name":"Device","grant_types":[")") + kDeviceCodeGrant +
                                      R"("],"response_types":[],"token_endpoint_auth_method":"none"})",
                                  std::string(R"({"client_name":"Device","grant_types":[")") + kDeviceCodeGrant +
                                      R"("],"token_endpoint_auth_method":"none"})"}) {
    SCOPED_TRACE(body);
    const RawResponse response = Register(body);
    ExpectRegistered(response, {});
    const JsonView json(response.body);
    EXPECT_EQ(json.Strings("grant_types"), std::vector<std::string>{kDeviceCodeGrant});
    EXPECT_EQ(json.Strings("response_types"), std::vector<std::string>{}) << response.body;
  }
}

// Item 13 and its neighbours: Claude, Claude Code and ChatGPT.
TEST_F(AgentRegistrationE2eTest, ClaudeClaudeCodeAndChatGptRegister) {
  for (const auto& [name, uri] : std::vector<std::pair<std::string, std::string>>{
           {"Claude", "https://claude.ai/api/mcp/auth_callback"},
           {"Claude Code", "http://localhost:54321/callback"},
           {"ChatGPT", "https://chatgpt.com/connector_platform_oauth_redirect"}}) {
    SCOPED_TRACE(name);
    const RawResponse response = Register(AgentBody(name, {uri}));
    ExpectRegistered(response, {uri});
    EXPECT_EQ(JsonView(response.body).String("client_name"), name);
  }
}

// Items 23 and 27: schemes and loopback host names compare case-insensitively; the URI is stored as sent.
TEST_F(AgentRegistrationE2eTest, SchemeAndLoopbackHostCaseIsIgnoredButKept) {
  for (const std::string uri : {"http://LOCALHOST:3000/cb", "HTTPS://A.EXAMPLE/cb"}) {
    SCOPED_TRACE(uri);
    ExpectRegistered(Register(AgentBody("Case", {uri})), {uri});
  }
  // An upper-case HTTP is http, with the http rules: off loopback, refused.
  ExpectRefused(Register(AgentBody("Case", {"HTTP://evil.example/cb"})), "invalid_redirect_uri", "redirect_uris[0]");
}

TEST_F(AgentRegistrationE2eTest, RepeatedRedirectUriIsRefusedNamingBothPositions) {
  const std::string description =
      ExpectRefused(Register(AgentBody("Twice", {"https://c.example/cb", "https://c.example/cb"})),
                    "invalid_redirect_uri", "redirect_uris[1]");
  EXPECT_NE(description.find("redirect_uris[0]"), std::string::npos) << description;
}

TEST_F(AgentRegistrationE2eTest, PercentEncodedNulIsRefused) {
  ExpectRefused(Register(AgentBody("Nul", {"https://c.example/cb%00"})), "invalid_redirect_uri", "redirect_uris[0]");
}

TEST_F(AgentRegistrationE2eTest, BidiControlInClientNameIsRefused) {
  // U+202E RIGHT-TO-LEFT OVERRIDE, which would show "Evil<RLO>gnp.exe" as "Evilexe.png".
  ExpectRefused(Register(AgentBody("Evil\xE2\x80\xAE"
                                   "gnp.exe",
                                   {"https://c.example/cb"})),
                "invalid_client_metadata", "client_name");
}

TEST_F(AgentRegistrationE2eTest, PrivateUseSchemeNeedsSomethingAfterTheColon) {
  ExpectRefused(Register(AgentBody("Bare", {"cursor:"})), "invalid_redirect_uri", "redirect_uris[0]");
}

// Item 26: an explicit application_type is enforced only this far.
TEST_F(AgentRegistrationE2eTest, ExplicitApplicationTypeRules) {
  ExpectRefused(Register(AgentBody("Web", {"cursor://x/cb"}, R"("application_type":"web")")), "invalid_redirect_uri",
                "redirect_uris[0]");
  const RawResponse native = Register(AgentBody("Native", {"https://c.example/cb"}, R"("application_type":"native")"));
  ExpectRegistered(native, {"https://c.example/cb"});
  EXPECT_EQ(JsonView(native.body).String("application_type"), "native");
}

// Items 22, 24 and §6: none of the hostile redirect URIs is accepted, whether the client says it is native or not.
TEST_F(AgentRegistrationE2eTest, HostileRedirectUrisStayRefused) {
  const std::vector<std::string> hostile = {
      "http://user:pw@127.0.0.1/cb",
      "myapp://cb#x",
      "https://*.example.org/cb",
      "http://c.example/cb",
      "javascript:alert(1)",
      "JavaScript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "about:blank",
      "blob:https://c.example/0b5c7c1e-5d5a-4f2a-9d38-0e4a1b2c3d4e",
      "filesystem:https://c.example/temporary/cb",
      "view-source:https://c.example/cb",
      "ws://127.0.0.1/cb",
      "wss://c.example/cb",
      "ftp://c.example/cb",
  };
  for (const std::string& uri : hostile) {
    for (const std::string application_type : {"", R"("application_type":"native")"}) {
      SCOPED_TRACE(uri + (application_type.empty() ? "" : " as native"));
      ExpectRefused(Register(AgentBody("Hostile", {uri}, application_type)), "invalid_redirect_uri",
                    "redirect_uris[0]");
    }
  }
  // One hostile URI among good ones refuses the whole request.
  ExpectRefused(Register(AgentBody("Hostile", {CursorUris()[0], "ws://127.0.0.1/cb"})), "invalid_redirect_uri",
                "redirect_uris[1]");
}

// RFC 7592 PUT goes through the same validator: the Cursor set stays native, an empty scope is no scope.
TEST_F(AgentRegistrationE2eTest, PutKeepsTheSameRules) {
  const RawResponse registered = Register(AgentBody("Cursor", CursorUris()));
  ExpectRegistered(registered, CursorUris());

  const RawResponse same = Put(registered.body, AgentMembers("Cursor", CursorUris()));
  ExpectRegistered(same, CursorUris(), 200);
  EXPECT_EQ(JsonView(same.body).String("application_type"), "native");

  const RawResponse scoped = Put(registered.body, AgentMembers("Cursor", CursorUris(), R"("scope":"openid")"));
  ExpectRegistered(scoped, CursorUris(), 200);
  EXPECT_EQ(JsonView(scoped.body).String("scope"), "openid");

  const RawResponse empty = Put(registered.body, AgentMembers("Cursor", CursorUris(), R"("scope":"")"));
  ExpectRegistered(empty, CursorUris(), 200);
  EXPECT_FALSE(JsonView(empty.body).Has("scope")) << empty.body;
  EXPECT_EQ(JsonView(empty.body).String("application_type"), "native");

  // And PUT refuses what POST refuses.
  const RawResponse hostile = Put(registered.body, AgentMembers("Cursor", {"javascript:alert(1)"}));
  ExpectRefused(hostile, "invalid_redirect_uri", "redirect_uris[0]");
}

// Item 25 with require_reverse_domain_schemes: RFC 8252 §8.4's SHOULD, for deployments that want it.
TEST_F(ReverseDomainSchemesE2eTest, SchemesWithoutAPeriodAreRefused) {
  for (const std::string uri : {"myapp://cb", "cursor://anysphere.cursor-mcp/oauth/callback"}) {
    SCOPED_TRACE(uri);
    ExpectRefused(Register(AgentBody("Strict", {uri})), "invalid_redirect_uri", "redirect_uris[0]");
  }
  const RawResponse accepted = Register(AgentBody("Strict", {"com.example.app:/cb"}));
  ExpectRegistered(accepted, {"com.example.app:/cb"});
  EXPECT_EQ(JsonView(accepted.body).String("application_type"), "native");
  // The deny list holds whatever the config says.
  ExpectRefused(Register(AgentBody("Strict", {"ws://127.0.0.1/cb"})), "invalid_redirect_uri", "redirect_uris[0]");
}

}  // namespace
}  // namespace clientreg::testing
