#include "server/metadata_validator.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/limits.h"
#include "common/registration_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/registration_policy.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using clientreg::config::v1::MetadataLimits;
using clientreg::config::v1::RegistrationPolicy;
using clientreg::v1::ClientMetadata;
using google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kInvalidRedirectUri[] = "invalid_redirect_uri";
constexpr char kInvalidClientMetadata[] = "invalid_client_metadata";

// RFC 6749 §5.2 NQSCHAR: what an error_description may hold.
bool IsNqsChars(const std::string& s) {
  for (const char c : s) {
    if (!(c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E))) return false;
  }
  return true;
}

// INVALID_ARGUMENT with a RegistrationError {error, error_field: field} whose description is NQSCHAR-only ASCII.
MATCHER_P2(IsRegistrationError, error, field, "") {
  const absl::Status& status = ::clientreg::testing::StatusOf(arg);
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    *result_listener << "status is " << status;
    return false;
  }
  const auto detail = common::GetRegistrationError(status);
  if (!detail.has_value()) {
    *result_listener << "no RegistrationError payload";
    return false;
  }
  *result_listener << "error=" << detail->error() << " error_field=" << detail->error_field()
                   << " error_description=" << detail->error_description();
  return detail->error() == std::string(error) && detail->error_field() == std::string(field) &&
         IsNqsChars(detail->error_description()) && !detail->error_description().empty();
}

std::string DescriptionOf(const absl::StatusOr<ClientMetadata>& result) {
  const auto detail = common::GetRegistrationError(result.status());
  return detail.has_value() ? detail->error_description() : "";
}

ClientMetadata Parse(const std::string& textproto) {
  ClientMetadata metadata;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(textproto, &metadata)) << textproto;
  return metadata;
}

google::protobuf::Struct Json(const std::string& json) {
  google::protobuf::Struct value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &value).ok()) << json;
  return value;
}

constexpr char kWebClient[] = R"pb(redirect_uris { values: "https://c.example/cb" })pb";
constexpr char kRsaKey[] = R"({"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"0vx7agoebGc","e":"AQAB"})";

class MetadataValidatorTest : public ::testing::Test {
 protected:
  absl::StatusOr<ClientMetadata> Validate(const ClientMetadata& requested) const {
    return MetadataValidator(limits_, policy_).Validate(requested);
  }
  absl::StatusOr<ClientMetadata> Validate(const std::string& textproto) const { return Validate(Parse(textproto)); }

  // A valid web client plus `textproto`.
  absl::StatusOr<ClientMetadata> ValidateWeb(const std::string& textproto) const {
    return Validate(std::string(kWebClient) + textproto);
  }

  MetadataLimits limits_ = common::DefaultMetadataLimits();
  RegistrationPolicy policy_ = DefaultRegistrationPolicy();
};

// --- Success paths and defaults (checklist 1, 4-8, 12, 13) ---

TEST_F(MetadataValidatorTest, MinimalRequestGetsEveryDefault) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(kWebClient));
  EXPECT_THAT(result.redirect_uris().values(), ElementsAre("https://c.example/cb"));
  EXPECT_EQ(result.application_type(), "web");
  EXPECT_EQ(result.token_endpoint_auth_method(), "client_secret_basic");
  EXPECT_THAT(result.grant_types().values(), ElementsAre("authorization_code"));
  EXPECT_THAT(result.response_types().values(), ElementsAre("code"));
  EXPECT_FALSE(result.has_scope());
  EXPECT_FALSE(result.has_client_name());
  EXPECT_FALSE(result.has_contacts());
  EXPECT_FALSE(result.has_jwks());
}

TEST_F(MetadataValidatorTest, EchoesEverySubmittedFieldVerbatim) {
  const ClientMetadata requested = Parse(R"pb(
    redirect_uris { values: "https://c.example/cb" values: "http://127.0.0.1:8080/cb" }
    token_endpoint_auth_method: "client_secret_post"
    grant_types { values: "authorization_code" values: "refresh_token" }
    response_types { values: "code" }
    client_name: "Exämple クライアント 🚀"
    client_uri: "https://c.example/"
    logo_uri: "https://cdn.c.example/logo.png"
    scope: "openid mcp:tools read/write"
    contacts { values: "admin@c.example" values: "Ops Team <ops@c.example>" }
    tos_uri: "https://c.example/tos"
    policy_uri: "http://c.example/privacy#top"
    jwks_uri: "https://c.example/jwks.json"
    software_id: "4NRB1-0XZABZI9E6-5SM3R"
    software_version: "2.1.0-beta+ä"
    application_type: "web"
  )pb");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(requested));
  EXPECT_TRUE(MessageDifferencer::Equals(result, requested)) << result.DebugString();
}

TEST_F(MetadataValidatorTest, EchoesJwks) {
  ClientMetadata requested = Parse(R"pb(
    redirect_uris { values: "https://c.example/cb" }
    token_endpoint_auth_method: "private_key_jwt"
  )pb");
  *requested.mutable_jwks() = Json(std::string(R"({"keys":[)") + kRsaKey +
                                   R"(,{"kty":"EC","crv":"P-256","x":"f83O","y":"x_FE"}],"extra":{"a":[1,2]}})");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(requested));
  EXPECT_TRUE(MessageDifferencer::Equals(result.jwks(), requested.jwks()));
  EXPECT_EQ(result.token_endpoint_auth_method(), "private_key_jwt");
}

TEST_F(MetadataValidatorTest, EchoesLanguageTaggedVariants) {
  ClientMetadata requested = Parse(kWebClient);
  (*requested.mutable_client_name_localized())["ja-Jpan-JP"] = "クライアント名";
  (*requested.mutable_client_name_localized())["en"] = "Client";
  (*requested.mutable_client_uri_localized())["fr"] = "https://c.example/fr/";
  (*requested.mutable_logo_uri_localized())["de-CH-1901"] = "https://c.example/de.png";
  (*requested.mutable_tos_uri_localized())["x-private"] = "https://c.example/tos";
  (*requested.mutable_policy_uri_localized())["i-klingon"] = "https://c.example/tlh";
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(requested));
  EXPECT_EQ(result.client_name_localized().at("ja-Jpan-JP"), "クライアント名");
  EXPECT_EQ(result.client_name_localized().at("en"), "Client");
  EXPECT_EQ(result.client_name_localized().size(), 2u);
  EXPECT_EQ(result.client_uri_localized().at("fr"), "https://c.example/fr/");
  EXPECT_EQ(result.logo_uri_localized().at("de-CH-1901"), "https://c.example/de.png");
  EXPECT_EQ(result.tos_uri_localized().at("x-private"), "https://c.example/tos");
  EXPECT_EQ(result.policy_uri_localized().at("i-klingon"), "https://c.example/tlh");
}

TEST_F(MetadataValidatorTest, AcceptsEachAllowedAuthMethod) {
  for (const char* method : {"none", "client_secret_post", "client_secret_basic"}) {
    const absl::StatusOr<ClientMetadata> result =
        ValidateWeb(std::string("token_endpoint_auth_method: \"") + method + "\"");
    ASSERT_OK(result);
    EXPECT_EQ(result->token_endpoint_auth_method(), method);
  }
  ASSERT_OK(ValidateWeb(R"pb(token_endpoint_auth_method: "private_key_jwt" jwks_uri: "https://c.example/jwks")pb"));
}

TEST_F(MetadataValidatorTest, ClientCredentialsWithoutRedirectUris) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(R"pb(grant_types { values: "client_credentials" }
                                                                  response_types {})pb"));
  EXPECT_FALSE(result.has_redirect_uris());
  EXPECT_TRUE(result.has_response_types());
  EXPECT_THAT(result.response_types().values(), IsEmpty());
  EXPECT_EQ(result.application_type(), "web");
  EXPECT_EQ(result.token_endpoint_auth_method(), "client_secret_basic");
}

TEST_F(MetadataValidatorTest, ResponseTypesDefaultFollowsTheGrantTypes) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(R"pb(grant_types { values: "client_credentials" })pb"));
  EXPECT_TRUE(result.has_response_types());
  EXPECT_THAT(result.response_types().values(), IsEmpty());

  ASSERT_OK_AND_ASSIGN(const ClientMetadata code,
                       ValidateWeb(R"pb(grant_types { values: "refresh_token" values: "authorization_code" })pb"));
  EXPECT_THAT(code.response_types().values(), ElementsAre("code"));
}

TEST_F(MetadataValidatorTest, ClaudeRegistration) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(R"pb(
                         client_name: "Claude"
                         redirect_uris { values: "https://claude.ai/api/mcp/auth_callback" }
                         grant_types { values: "authorization_code" values: "refresh_token" }
                         response_types { values: "code" }
                         token_endpoint_auth_method: "none"
                       )pb"));
  EXPECT_EQ(result.token_endpoint_auth_method(), "none");
  EXPECT_EQ(result.application_type(), "web");
}

TEST_F(MetadataValidatorTest, PolicyDefaultsAreApplied) {
  policy_.add_default_grant_types("refresh_token");
  policy_.set_default_token_endpoint_auth_method("none");
  policy_.set_default_scope("mcp");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(kWebClient));
  EXPECT_THAT(result.grant_types().values(), ElementsAre("authorization_code", "refresh_token"));
  EXPECT_EQ(result.token_endpoint_auth_method(), "none");
  EXPECT_EQ(result.scope(), "mcp");

  ASSERT_OK_AND_ASSIGN(const ClientMetadata own_scope, ValidateWeb(R"pb(scope: "openid")pb"));
  EXPECT_EQ(own_scope.scope(), "openid");
}

TEST_F(MetadataValidatorTest, ValidatingTheResultAgainChangesNothing) {
  // PUT sends back what POST returned; the same function must accept it unchanged.
  for (const char* textproto : {kWebClient, R"pb(redirect_uris { values: "com.example.app:/cb" })pb",
                                R"pb(grant_types { values: "client_credentials" })pb"}) {
    ASSERT_OK_AND_ASSIGN(const ClientMetadata first, Validate(textproto));
    ASSERT_OK_AND_ASSIGN(const ClientMetadata second, Validate(first));
    EXPECT_TRUE(MessageDifferencer::Equals(first, second)) << textproto;
  }
}

// --- Redirect URIs (checklist 16-27) ---

TEST_F(MetadataValidatorTest, RefusesFragments) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "https://c.example/cb#x" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "https://c.example/cb#" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

TEST_F(MetadataValidatorTest, RefusesRelativeUris) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "/cb" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "c.example/cb" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

TEST_F(MetadataValidatorTest, OneBadUriAmongGoodOnesIsNamedByIndex) {
  const absl::StatusOr<ClientMetadata> result = Validate(R"pb(
    redirect_uris {
      values: "https://c.example/a"
      values: "http://127.0.0.1/b"
      values: "http://c.example/c"
      values: "https://c.example/d#"
    }
  )pb");
  EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[2]"));
  EXPECT_THAT(DescriptionOf(result), HasSubstr("'http://c.example/c'"));
}

// The deny list holds whatever require_reverse_domain_schemes says, for native clients too.
TEST_F(MetadataValidatorTest, RefusesDangerousSchemes) {
  for (const bool reverse_domain_only : {false, true}) {
    policy_.set_require_reverse_domain_schemes(reverse_domain_only);
    for (const char* uri :
         {"javascript:alert(1)", "JAVASCRIPT://c.example/%0aalert(1)", "data:text/html,hi", "vbscript:msgbox",
          "file:///etc/passwd", "about:blank", "blob:https://c.example/1", "filesystem:https://c.example/t/x",
          "view-source:https://c.example/", "ws://127.0.0.1/cb", "WSS://c.example/cb", "ftp://c.example/cb"}) {
      ClientMetadata requested;
      requested.mutable_redirect_uris()->add_values(uri);
      requested.set_application_type("native");
      const absl::StatusOr<ClientMetadata> result = Validate(requested);
      EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]")) << uri;
      EXPECT_THAT(DescriptionOf(result), HasSubstr("never allowed")) << uri;
    }
  }
}

TEST_F(MetadataValidatorTest, AuthorizationCodeNeedsARedirectUri) {
  EXPECT_THAT(Validate(""), IsRegistrationError(kInvalidRedirectUri, "redirect_uris"));
  EXPECT_THAT(Validate("redirect_uris {}"), IsRegistrationError(kInvalidRedirectUri, "redirect_uris"));
  EXPECT_THAT(Validate(R"pb(grant_types { values: "authorization_code" }
                            token_endpoint_auth_method: "none")pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris"));
  // Without authorization_code an empty list is fine, and echoed as empty.
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(R"pb(redirect_uris {}
                                                                  grant_types { values: "client_credentials" })pb"));
  EXPECT_TRUE(result.has_redirect_uris());
  EXPECT_THAT(result.redirect_uris().values(), IsEmpty());
}

TEST_F(MetadataValidatorTest, PlainHttpOnlyOnLoopback) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "http://c.example/cb" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  // The scheme compares ignoring case, so an upper-case HTTP gets the http rules, not the private-use ones.
  for (const char* application_type : {"native", "web"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values("HTTP://evil.example/cb");
    requested.set_application_type(application_type);
    const absl::StatusOr<ClientMetadata> result = Validate(requested);
    EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]")) << application_type;
    EXPECT_THAT(DescriptionOf(result), HasSubstr("127.0.0.1")) << application_type;
  }
  // Host names compare ignoring case too; the URI is stored as sent.
  ASSERT_OK_AND_ASSIGN(const ClientMetadata upper, Validate(R"pb(redirect_uris { values: "http://LOCALHOST/cb" })pb"));
  EXPECT_THAT(upper.redirect_uris().values(), ElementsAre("http://LOCALHOST/cb"));
  EXPECT_EQ(upper.application_type(), "native");
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "http://c.example/cb" }
                            application_type: "native")pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  for (const char* uri : {"http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost:3000/callback"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values(uri);
    EXPECT_OK(Validate(requested)) << uri;
    requested.set_application_type("web");  // web-based developer tools register loopback URIs too
    EXPECT_OK(Validate(requested)) << uri;
  }
}

TEST_F(MetadataValidatorTest, RefusesUserinfo) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "http://user:pw@127.0.0.1/cb" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "http://127.0.0.1:1@evil.example/cb" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

// spec.md §6 step 5: with or without a period by default; RFC 8252 §8.4's period when the deployment asks for it.
TEST_F(MetadataValidatorTest, PrivateUseSchemesWithOrWithoutAPeriod) {
  for (const char* uri :
       {"com.example.app:/oauth2redirect", "myapp://cb", "cursor://anysphere.cursor-mcp/oauth/callback",
        "vscode://publisher.extension/cb", "zed://auth"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values(uri);
    ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(requested));
    EXPECT_EQ(result.application_type(), "native") << uri;
    EXPECT_THAT(result.redirect_uris().values(), ElementsAre(uri));
  }
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "cursor:" })pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

TEST_F(MetadataValidatorTest, RequireReverseDomainSchemes) {
  policy_.set_require_reverse_domain_schemes(true);
  EXPECT_OK(Validate(R"pb(redirect_uris { values: "com.example.app:/oauth2redirect" })pb"));
  for (const char* uri : {"myapp://cb", "cursor://anysphere.cursor-mcp/oauth/callback", "zed://auth"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values(uri);
    requested.set_application_type("native");
    const absl::StatusOr<ClientMetadata> result = Validate(requested);
    EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]")) << uri;
    EXPECT_THAT(DescriptionOf(result), HasSubstr("period")) << uri;
  }
  // https and loopback http are untouched by the option.
  EXPECT_OK(Validate(R"pb(redirect_uris { values: "https://c.example/cb" values: "http://127.0.0.1/cb" })pb"));
}

TEST_F(MetadataValidatorTest, RefusesTheSameUriTwiceNamingBoth) {
  const absl::StatusOr<ClientMetadata> result = Validate(R"pb(
    redirect_uris { values: "https://c.example/cb" values: "http://127.0.0.1/cb" values: "https://c.example/cb" }
  )pb");
  EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[2]"));
  EXPECT_THAT(DescriptionOf(result), HasSubstr("redirect_uris[0]"));
  // Only an identical URI repeats: the authorization server compares byte for byte.
  EXPECT_OK(Validate(R"pb(redirect_uris { values: "https://c.example/cb" values: "HTTPS://c.example/cb" })pb"));
}

TEST_F(MetadataValidatorTest, RefusesAPercentEncodedNul) {
  for (const char* uri : {"https://c.example/cb%00", "http://127.0.0.1/cb?x=%00", "myapp://cb/%00"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values(uri);
    const absl::StatusOr<ClientMetadata> result = Validate(requested);
    EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]")) << uri;
    EXPECT_THAT(DescriptionOf(result), HasSubstr("NUL")) << uri;
  }
  EXPECT_OK(Validate(R"pb(redirect_uris { values: "https://c.example/cb%0A%20" })pb"));
}

TEST_F(MetadataValidatorTest, RefusesWildcardsAndOtherBadHosts) {
  for (const char* uri :
       {"https://*.example.org/cb", "https://under_score.example/cb", "https://a..b/cb", "https://c.example:65536/cb",
        "https://c.example/a b", "https://c.example/%zz", "https:///cb"}) {
    ClientMetadata requested;
    requested.mutable_redirect_uris()->add_values(uri);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]")) << uri;
  }
  ClientMetadata nul;
  nul.mutable_redirect_uris()->add_values(std::string("https://c.example/\0cb", 21));
  EXPECT_THAT(Validate(nul), IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

TEST_F(MetadataValidatorTest, WebClientsMayNotUsePrivateUseSchemes) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "com.example.app:/cb" }
                            application_type: "web")pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(Validate(R"pb(
                redirect_uris { values: "https://c.example/cb" values: "com.example.app:/cb" }
                application_type: "web"
              )pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[1]"));
}

TEST_F(MetadataValidatorTest, ExplicitWebRefusesSchemesWithoutAPeriodToo) {
  EXPECT_THAT(Validate(R"pb(redirect_uris { values: "cursor://anysphere.cursor-mcp/oauth/callback" }
                            application_type: "web")pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

TEST_F(MetadataValidatorTest, SyntaxFaultsComeBeforeTheWebRule) {
  // URI [0] breaks the web rule, URI [1] is malformed: every URI is parsed before the application_type rule.
  EXPECT_THAT(Validate(R"pb(
                redirect_uris { values: "com.example.app:/cb" values: "https://c.example/cb#" }
                application_type: "web"
              )pb"),
              IsRegistrationError(kInvalidRedirectUri, "redirect_uris[1]"));
}

TEST_F(MetadataValidatorTest, NativeClientsMayUseEveryKind) {
  ASSERT_OK_AND_ASSIGN(
      const ClientMetadata result, Validate(R"pb(
        redirect_uris { values: "https://c.example/cb" values: "http://[::1]:1234/cb" values: "com.example.app:/cb" }
        application_type: "native"
      )pb"));
  EXPECT_EQ(result.application_type(), "native");
}

// spec.md §10: the inference table, every mix of https (H), loopback http (L) and private-use (P) redirect URIs,
// without an explicit type and with each explicit one. An explicit web refuses P; everything else is accepted and
// keeps the explicit type.
TEST_F(MetadataValidatorTest, InfersApplicationType) {
  constexpr char kHttps[] = "https://c.example/cb";
  constexpr char kLoopback[] = "http://localhost:8787/callback";
  constexpr char kPrivate[] = "cursor://anysphere.cursor-mcp/oauth/callback";
  struct Case {
    std::vector<std::string> uris;
    const char* inferred;
  };
  const Case cases[] = {
      {{kHttps}, "web"},
      {{kLoopback}, "native"},
      {{kPrivate}, "native"},
      {{kHttps, kLoopback}, "web"},
      {{kLoopback, kHttps}, "web"},
      {{kHttps, kPrivate}, "native"},
      {{kPrivate, kHttps}, "native"},
      {{kLoopback, kPrivate}, "native"},
      {{kPrivate, kHttps, kLoopback}, "native"},  // Cursor's set
      {{kLoopback, "http://127.0.0.1:3000/cb", "http://[::1]/cb"}, "native"},
  };
  for (const Case& c : cases) {
    ClientMetadata requested;
    for (const std::string& uri : c.uris) requested.mutable_redirect_uris()->add_values(uri);
    const std::string label = absl::StrJoin(c.uris, " ");
    ASSERT_OK_AND_ASSIGN(const ClientMetadata inferred, Validate(requested));
    EXPECT_EQ(inferred.application_type(), c.inferred) << label;

    requested.set_application_type("native");
    ASSERT_OK_AND_ASSIGN(const ClientMetadata native, Validate(requested));
    EXPECT_EQ(native.application_type(), "native") << label;

    requested.set_application_type("web");
    const bool has_private = std::find(c.uris.begin(), c.uris.end(), kPrivate) != c.uris.end();
    if (has_private) {
      const int index = static_cast<int>(std::find(c.uris.begin(), c.uris.end(), kPrivate) - c.uris.begin());
      EXPECT_THAT(Validate(requested),
                  IsRegistrationError(kInvalidRedirectUri, "redirect_uris[" + std::to_string(index) + "]"))
          << label;
    } else {
      ASSERT_OK_AND_ASSIGN(const ClientMetadata web, Validate(requested));
      EXPECT_EQ(web.application_type(), "web") << label;
    }
  }
  // No redirect URI at all: web.
  for (const char* textproto : {R"pb(grant_types { values: "client_credentials" })pb",
                                R"pb(redirect_uris {}
                                     grant_types { values: "client_credentials" })pb"}) {
    ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(textproto));
    EXPECT_EQ(result.application_type(), "web") << textproto;
  }
}

TEST_F(MetadataValidatorTest, RefusesUnknownApplicationType) {
  for (const char* type : {"desktop", "Web", "NATIVE", ""}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.set_application_type(type);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "application_type")) << type;
  }
}

TEST_F(MetadataValidatorTest, EchoesUrisByteForByte) {
  const ClientMetadata requested = Parse(R"pb(
    redirect_uris {
      values: "HTTPS://C.Example:443/A/../b/?Q=%7e&x=%7E"
      values: "https://c.example/cb/"
      values: "https://c.example/cb"
      values: "http://LOCALHOST:80/cb"
      values: "Com.Example.App:/Cb"
    }
    application_type: "native"
  )pb");
  // Schemes and loopback names compare ignoring case, yet nothing is folded in what is stored.
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(requested));
  EXPECT_TRUE(MessageDifferencer::Equals(result.redirect_uris(), requested.redirect_uris()));
}

TEST_F(MetadataValidatorTest, RedirectUriLimitsAtTheBoundary) {
  ClientMetadata requested;
  for (uint32_t i = 0; i < limits_.max_redirect_uris(); ++i) {
    requested.mutable_redirect_uris()->add_values("https://c.example/cb" + std::to_string(i));
  }
  EXPECT_OK(Validate(requested));
  requested.mutable_redirect_uris()->add_values("https://c.example/one-too-many");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidRedirectUri, "redirect_uris"));

  const std::string prefix = "https://c.example/";
  ClientMetadata longest;
  longest.mutable_redirect_uris()->add_values(prefix +
                                              std::string(limits_.max_redirect_uri_bytes() - prefix.size(), 'a'));
  EXPECT_OK(Validate(longest));
  longest.mutable_redirect_uris()->set_values(0, longest.redirect_uris().values(0) + "a");
  EXPECT_THAT(Validate(longest), IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
}

// --- Auth method, grant and response types (checklist 28-32) ---

TEST_F(MetadataValidatorTest, RefusesUnsupportedAuthMethods) {
  for (const char* method : {"magic", "client_secret_jwt", "tls_client_auth", "self_signed_tls_client_auth",
                             "urn:example:auth", "https://c.example/auth", "", "NONE"}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.set_token_endpoint_auth_method(method);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "token_endpoint_auth_method"))
        << method;
  }
}

TEST_F(MetadataValidatorTest, PolicyNarrowsAuthMethods) {
  policy_.clear_allowed_token_endpoint_auth_methods();
  policy_.add_allowed_token_endpoint_auth_methods("client_secret_basic");
  EXPECT_THAT(ValidateWeb(R"pb(token_endpoint_auth_method: "none")pb"),
              IsRegistrationError(kInvalidClientMetadata, "token_endpoint_auth_method"));
  EXPECT_OK(ValidateWeb(R"pb(token_endpoint_auth_method: "client_secret_basic")pb"));
}

TEST_F(MetadataValidatorTest, PrivateKeyJwtNeedsKeys) {
  EXPECT_THAT(ValidateWeb(R"pb(token_endpoint_auth_method: "private_key_jwt")pb"),
              IsRegistrationError(kInvalidClientMetadata, "token_endpoint_auth_method"));
}

TEST_F(MetadataValidatorTest, RefusesUnknownGrantTypes) {
  for (const char* grant : {"foo", "urn:ietf:params:oauth:grant-type:jwt-bearer",
                            "urn:ietf:params:oauth:grant-type:device_code", "Authorization_Code", ""}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.mutable_grant_types()->add_values("authorization_code");
    requested.mutable_grant_types()->add_values(grant);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "grant_types[1]")) << grant;
  }
}

TEST_F(MetadataValidatorTest, RefusesPasswordAndImplicitSayingWhy) {
  const absl::StatusOr<ClientMetadata> password =
      ValidateWeb(R"pb(grant_types { values: "authorization_code" values: "password" })pb");
  EXPECT_THAT(password, IsRegistrationError(kInvalidClientMetadata, "grant_types[1]"));
  EXPECT_THAT(DescriptionOf(password), HasSubstr("password credentials"));

  const absl::StatusOr<ClientMetadata> implicit = ValidateWeb(R"pb(grant_types { values: "implicit" }
                                                                   response_types { values: "code" })pb");
  EXPECT_THAT(implicit, IsRegistrationError(kInvalidClientMetadata, "grant_types[0]"));
  EXPECT_THAT(DescriptionOf(implicit), HasSubstr("implicit grant"));

  // Refused even by a policy that would allow them.
  policy_.add_allowed_grant_types("password");
  EXPECT_THAT(ValidateWeb(R"pb(grant_types { values: "password" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types[0]"));
}

TEST_F(MetadataValidatorTest, GrantTypesMustBeNonEmptyDistinctAndFew) {
  EXPECT_THAT(ValidateWeb("grant_types {}"), IsRegistrationError(kInvalidClientMetadata, "grant_types"));
  EXPECT_THAT(ValidateWeb(R"pb(grant_types { values: "authorization_code" values: "authorization_code" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types[1]"));

  limits_.set_max_type_entries(3);
  EXPECT_OK(ValidateWeb(
      R"pb(grant_types { values: "authorization_code" values: "refresh_token" values: "client_credentials" })pb"));
  EXPECT_THAT(ValidateWeb(R"pb(grant_types {
                                 values: "authorization_code"
                                 values: "refresh_token"
                                 values: "client_credentials"
                                 values: "password"
                               })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types"));
}

TEST_F(MetadataValidatorTest, PolicyNarrowsGrantTypes) {
  policy_.clear_allowed_grant_types();
  policy_.add_allowed_grant_types("authorization_code");
  EXPECT_THAT(ValidateWeb(R"pb(grant_types { values: "authorization_code" values: "refresh_token" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types[1]"));
}

TEST_F(MetadataValidatorTest, RefusesUnsupportedResponseTypes) {
  for (const char* response :
       {"bar", "token", "id_token", "code id_token", "id_token code", "code token", "code ", " code", "CODE", ""}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.mutable_response_types()->add_values("code");
    requested.mutable_response_types()->add_values(response);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "response_types[1]")) << response;
  }
  EXPECT_THAT(ValidateWeb(R"pb(response_types { values: "code" values: "code" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "response_types[1]"));
}

TEST_F(MetadataValidatorTest, GrantAndResponseTypesMustAgree) {
  // authorization_code without code, both explicitly and through the default grant types.
  EXPECT_THAT(ValidateWeb(R"pb(grant_types { values: "authorization_code" }
                               response_types {})pb"),
              IsRegistrationError(kInvalidClientMetadata, "response_types"));
  EXPECT_THAT(ValidateWeb("response_types {}"), IsRegistrationError(kInvalidClientMetadata, "response_types"));
  // code without authorization_code.
  EXPECT_THAT(Validate(R"pb(grant_types { values: "client_credentials" }
                            response_types { values: "code" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "response_types"));
  // The RFC 7591 §2.1 example: authorization_code with only the implicit response type.
  EXPECT_THAT(ValidateWeb(R"pb(grant_types { values: "authorization_code" }
                               response_types { values: "token" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "response_types[0]"));
}

TEST_F(MetadataValidatorTest, RefreshTokenNeedsAuthorizationCodeOrDeviceCode) {
  EXPECT_THAT(Validate(R"pb(grant_types { values: "client_credentials" values: "refresh_token" })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types"));
  policy_.add_allowed_grant_types(std::string(kDeviceCodeGrant));
  policy_.add_allowed_grant_types(std::string(kTokenExchangeGrant));
  EXPECT_OK(Validate(R"pb(grant_types { values: "urn:ietf:params:oauth:grant-type:device_code" values: "refresh_token" }
                          token_endpoint_auth_method: "none")pb"));
  EXPECT_THAT(Validate(R"pb(grant_types {
                              values: "urn:ietf:params:oauth:grant-type:token-exchange"
                              values: "refresh_token"
                            })pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types"));
}

// spec.md §10: the URN grants exist only where the deployment enables them, and the refusal names the allowed set.
TEST_F(MetadataValidatorTest, UrnGrantTypesOnlyWhenEnabled) {
  for (const std::string_view grant : {kDeviceCodeGrant, kTokenExchangeGrant, kJwtBearerGrant}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.mutable_grant_types()->add_values("authorization_code");
    requested.mutable_grant_types()->add_values(std::string(grant));
    const absl::StatusOr<ClientMetadata> refused = Validate(requested);
    EXPECT_THAT(refused, IsRegistrationError(kInvalidClientMetadata, "grant_types[1]")) << grant;
    EXPECT_THAT(DescriptionOf(refused), HasSubstr("authorization_code, refresh_token, client_credentials")) << grant;

    policy_ = DefaultRegistrationPolicy();
    policy_.add_allowed_grant_types(std::string(grant));
    ASSERT_OK_AND_ASSIGN(const ClientMetadata accepted, Validate(requested));
    EXPECT_THAT(accepted.grant_types().values(), ElementsAre("authorization_code", std::string(grant)));
    EXPECT_THAT(accepted.response_types().values(), ElementsAre("code"));
    policy_ = DefaultRegistrationPolicy();
  }
}

// VS Code's request: the device grant beside the code grant, a public client, https and loopback redirect URIs.
TEST_F(MetadataValidatorTest, DeviceCodeRules) {
  policy_.add_allowed_grant_types(std::string(kDeviceCodeGrant));
  ASSERT_OK_AND_ASSIGN(const ClientMetadata vscode, Validate(R"pb(
                         redirect_uris { values: "https://vscode.dev/redirect" values: "http://127.0.0.1:33418/" }
                         grant_types {
                           values: "authorization_code"
                           values: "refresh_token"
                           values: "urn:ietf:params:oauth:grant-type:device_code"
                         }
                         token_endpoint_auth_method: "none"
                       )pb"));
  EXPECT_THAT(vscode.response_types().values(), ElementsAre("code"));
  EXPECT_EQ(vscode.application_type(), "web");
  // The device flow needs no redirect URI and no response type.
  ASSERT_OK_AND_ASSIGN(const ClientMetadata device, Validate(R"pb(
                         grant_types { values: "urn:ietf:params:oauth:grant-type:device_code" }
                         token_endpoint_auth_method: "none"
                       )pb"));
  EXPECT_THAT(device.response_types().values(), IsEmpty());
  EXPECT_FALSE(device.has_redirect_uris());
  // ... and the code response type needs the code grant, whatever else is there.
  EXPECT_THAT(Validate(R"pb(grant_types { values: "urn:ietf:params:oauth:grant-type:device_code" }
                            response_types { values: "code" }
                            token_endpoint_auth_method: "none")pb"),
              IsRegistrationError(kInvalidClientMetadata, "response_types"));
}

TEST_F(MetadataValidatorTest, TokenExchangeAndJwtBearerNeedNoRedirectUri) {
  policy_.add_allowed_grant_types(std::string(kTokenExchangeGrant));
  policy_.add_allowed_grant_types(std::string(kJwtBearerGrant));
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(R"pb(
                         grant_types {
                           values: "urn:ietf:params:oauth:grant-type:token-exchange"
                           values: "urn:ietf:params:oauth:grant-type:jwt-bearer"
                         }
                       )pb"));
  EXPECT_THAT(result.response_types().values(), IsEmpty());
  EXPECT_EQ(result.token_endpoint_auth_method(), "client_secret_basic");
  // client_credentials still needs a confidential client beside them.
  EXPECT_THAT(Validate(R"pb(grant_types {
                              values: "urn:ietf:params:oauth:grant-type:token-exchange"
                              values: "client_credentials"
                            }
                            token_endpoint_auth_method: "none")pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types"));
}

TEST_F(MetadataValidatorTest, ClientCredentialsNeedsAConfidentialClient) {
  EXPECT_THAT(Validate(R"pb(grant_types { values: "client_credentials" }
                            token_endpoint_auth_method: "none")pb"),
              IsRegistrationError(kInvalidClientMetadata, "grant_types"));
  EXPECT_OK(Validate(R"pb(grant_types { values: "client_credentials" }
                          token_endpoint_auth_method: "client_secret_post")pb"));
}

// --- Other metadata (checklist 33-38) ---

TEST_F(MetadataValidatorTest, JwksAndJwksUriAreExclusive) {
  ClientMetadata requested = Parse(std::string(kWebClient) + R"pb(jwks_uri: "https://c.example/jwks")pb");
  *requested.mutable_jwks() = Json(std::string(R"({"keys":[)") + kRsaKey + "]}");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "jwks"));
}

TEST_F(MetadataValidatorTest, JwksMustBeAPublicJwkSet) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({})", "jwks"},
      {R"({"keys":{}})", "jwks"},
      {R"({"keys":"x"})", "jwks"},
      {R"({"key":[]})", "jwks"},
      {R"({"keys":[]})", "jwks.keys"},
      {R"({"keys":["RSA"]})", "jwks.keys[0]"},
      {std::string(R"({"keys":[)") + kRsaKey + R"(,{"n":"x","e":"AQAB"}]})", "jwks.keys[1].kty"},
      {R"({"keys":[{"kty":1}]})", "jwks.keys[0].kty"},
      {R"({"keys":[{"kty":""}]})", "jwks.keys[0].kty"},
      {R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})", "jwks.keys[0].kty"},
      {R"({"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]})", "jwks.keys[0].d"},
      {R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"a","d":"c"}]})", "jwks.keys[0].d"},
  };
  for (const auto& [json, field] : cases) {
    ClientMetadata requested = Parse(kWebClient);
    *requested.mutable_jwks() = Json(json);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, field)) << json;
  }
  for (const char* member : {"p", "q", "dp", "dq", "qi", "oth", "k"}) {
    ClientMetadata requested = Parse(kWebClient);
    *requested.mutable_jwks() =
        Json(std::string(R"({"keys":[{"kty":"RSA","n":"a","e":"AQAB",")") + member + R"(":"x"}]})");
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, std::string("jwks.keys[0].") + member))
        << member;
  }
}

TEST_F(MetadataValidatorTest, JwksLimitsAtTheBoundary) {
  ClientMetadata requested = Parse(kWebClient);
  std::string keys = std::string(R"({"keys":[)") + kRsaKey;
  for (uint32_t i = 1; i < limits_.max_jwks_keys(); ++i) keys += std::string(",") + kRsaKey;
  *requested.mutable_jwks() = Json(keys + "]}");
  EXPECT_OK(Validate(requested));
  *requested.mutable_jwks() = Json(keys + "," + kRsaKey + "]}");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "jwks.keys"));

  *requested.mutable_jwks() = Json(std::string(R"({"keys":[)") + kRsaKey + "]}");
  limits_.set_max_jwks_bytes(static_cast<uint32_t>(requested.jwks().ByteSizeLong()));
  EXPECT_OK(Validate(requested));
  limits_.set_max_jwks_bytes(limits_.max_jwks_bytes() - 1);
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "jwks"));
}

// A direct gRPC caller is not held to the gateway's JSON depth: a jwks nested deeper than the cap would make the
// stored record too deep for protobuf to read back.
TEST_F(MetadataValidatorTest, JwksNestingIsCapped) {
  const auto jwks = [](uint32_t arrays) {
    std::string nested = "1";
    for (uint32_t i = 0; i < arrays; ++i) nested = "[" + nested + "]";
    return Json(std::string(R"({"keys":[{"kty":"EC","crv":"P-256","x":"f83O","y":"x_FE","ext":)") + nested + "}]}");
  };
  ClientMetadata requested = Parse(kWebClient);
  *requested.mutable_jwks() = jwks(common::kMaxStructNestingDepth - 3);  // depth 3 + arrays
  EXPECT_OK(Validate(requested));
  *requested.mutable_jwks() = jwks(common::kMaxStructNestingDepth - 2);
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "jwks"));
}

TEST_F(MetadataValidatorTest, JwksUriMustBeHttps) {
  EXPECT_THAT(ValidateWeb(R"pb(jwks_uri: "http://c.example/jwks")pb"),
              IsRegistrationError(kInvalidClientMetadata, "jwks_uri"));
  EXPECT_THAT(ValidateWeb(R"pb(jwks_uri: "https://c.example/jwks#k1")pb"),
              IsRegistrationError(kInvalidClientMetadata, "jwks_uri"));
  EXPECT_THAT(ValidateWeb(R"pb(jwks_uri: "")pb"), IsRegistrationError(kInvalidClientMetadata, "jwks_uri"));
  EXPECT_OK(ValidateWeb(R"pb(jwks_uri: "http://127.0.0.1:8080/jwks")pb"));
}

TEST_F(MetadataValidatorTest, WebUrlFieldsMustBeAbsoluteHttpUrls) {
  for (const char* field : {"client_uri", "logo_uri", "tos_uri", "policy_uri"}) {
    for (const char* value : {"c.example", "/tos", "ftp://c.example/", "javascript:alert(1)", "https://",
                              "https://u:p@c.example/", "https://*.c.example/", "", "https://c.example/a b"}) {
      ClientMetadata requested = Parse(kWebClient);
      const auto* descriptor = requested.GetDescriptor()->FindFieldByName(field);
      requested.GetReflection()->SetString(&requested, descriptor, value);
      EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, field)) << field << " " << value;
    }
  }
}

TEST_F(MetadataValidatorTest, UriVariantsGetTheFieldsUriRules) {
  ClientMetadata requested = Parse(std::string(kWebClient) + R"pb(logo_uri: "https://c.example/logo.png")pb");
  (*requested.mutable_logo_uri_localized())["fr"] = "ftp://c.example/logo.png";
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "logo_uri#fr"));

  ClientMetadata policy = Parse(kWebClient);
  (*policy.mutable_policy_uri_localized())["de"] = "https://c.example/de";
  (*policy.mutable_policy_uri_localized())["en"] = "http://c.example/en#frag";
  (*policy.mutable_policy_uri_localized())["ja"] = "c.example/ja";
  EXPECT_THAT(Validate(policy), IsRegistrationError(kInvalidClientMetadata, "policy_uri#ja"));
}

TEST_F(MetadataValidatorTest, WebUrlLengthAtTheBoundary) {
  const std::string prefix = "https://c.example/";
  ClientMetadata requested = Parse(kWebClient);
  requested.set_tos_uri(prefix + std::string(limits_.max_uri_bytes() - prefix.size(), 't'));
  EXPECT_OK(Validate(requested));
  requested.mutable_tos_uri()->push_back('t');
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "tos_uri"));
}

TEST_F(MetadataValidatorTest, RefusesMalformedScopes) {
  for (const char* scope : {"a\"b", "a\\b", "a  b", " a", "a ", " ", "a\tb", "caf\xc3\xa9", "a\nb"}) {
    ClientMetadata requested = Parse(kWebClient);
    requested.set_scope(scope);
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "scope")) << scope;
  }
}

// spec.md §10: "scope": "" (and null, which the gateway drops) is no scope: the default applies, or none.
TEST_F(MetadataValidatorTest, EmptyScopeIsNoScope) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata without_default, ValidateWeb(R"pb(scope: "")pb"));
  EXPECT_FALSE(without_default.has_scope());
  policy_.set_default_scope("openid profile");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata with_default, ValidateWeb(R"pb(scope: "")pb"));
  EXPECT_EQ(with_default.scope(), "openid profile");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata absent, Validate(kWebClient));
  EXPECT_EQ(absent.scope(), "openid profile");
  // An allowlist does not refuse the empty scope either.
  policy_.add_scope_allowlist("openid");
  policy_.add_scope_allowlist("profile");
  EXPECT_OK(ValidateWeb(R"pb(scope: "")pb"));
}

TEST_F(MetadataValidatorTest, EchoesScopeExactly) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, ValidateWeb(R"pb(scope: "b a b mcp:Tools !#[]~")pb"));
  EXPECT_EQ(result.scope(), "b a b mcp:Tools !#[]~");
}

TEST_F(MetadataValidatorTest, ScopeAllowlistNamesTheToken) {
  policy_.add_scope_allowlist("openid");
  policy_.add_scope_allowlist("profile");
  EXPECT_OK(ValidateWeb(R"pb(scope: "profile openid")pb"));
  const absl::StatusOr<ClientMetadata> result = ValidateWeb(R"pb(scope: "openid admin profile")pb");
  EXPECT_THAT(result, IsRegistrationError(kInvalidClientMetadata, "scope"));
  EXPECT_THAT(DescriptionOf(result), HasSubstr("'admin'"));
  EXPECT_THAT(DescriptionOf(result), Not(HasSubstr("'openid'")));
}

TEST_F(MetadataValidatorTest, ScopeLimitsAtTheBoundary) {
  ClientMetadata requested = Parse(kWebClient);
  std::string scope = "s0";
  for (uint32_t i = 1; i < limits_.max_scope_tokens(); ++i) scope += " s" + std::to_string(i);
  requested.set_scope(scope);
  EXPECT_OK(Validate(requested));
  requested.set_scope(scope + " extra");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "scope"));

  requested.set_scope(std::string(limits_.max_scope_bytes(), 's'));
  EXPECT_OK(Validate(requested));
  requested.set_scope(std::string(limits_.max_scope_bytes() + 1, 's'));
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "scope"));
}

TEST_F(MetadataValidatorTest, ContactsRules) {
  ClientMetadata requested = Parse(kWebClient);
  for (uint32_t i = 0; i < limits_.max_contacts(); ++i) {
    requested.mutable_contacts()->add_values("c" + std::to_string(i) + "@c.example");
  }
  EXPECT_OK(Validate(requested));
  requested.mutable_contacts()->add_values("one-too-many@c.example");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "contacts"));

  ClientMetadata single = Parse(kWebClient);
  single.mutable_contacts()->add_values("ok@c.example");
  single.mutable_contacts()->add_values(std::string(limits_.max_contact_bytes(), 'x'));
  EXPECT_OK(Validate(single));
  single.mutable_contacts()->set_values(1, std::string(limits_.max_contact_bytes() + 1, 'x'));
  EXPECT_THAT(Validate(single), IsRegistrationError(kInvalidClientMetadata, "contacts[1]"));
  single.mutable_contacts()->set_values(1, "");
  EXPECT_THAT(Validate(single), IsRegistrationError(kInvalidClientMetadata, "contacts[1]"));
  single.mutable_contacts()->set_values(1, "a\r\nBcc: x@evil.example");
  EXPECT_THAT(Validate(single), IsRegistrationError(kInvalidClientMetadata, "contacts[1]"));

  ClientMetadata empty_list = Parse(std::string(kWebClient) + "contacts {}");
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result, Validate(empty_list));
  EXPECT_TRUE(result.has_contacts());
}

TEST_F(MetadataValidatorTest, TextFieldsRefuseControlCharactersAndBadUtf8) {
  for (const char* field : {"client_name", "software_id", "software_version"}) {
    for (const std::string& value :
         {std::string("a\0b", 3), std::string("a\x01"), std::string("tab\there"), std::string("a\x7f"),
          std::string("c1 \xc2\x85"), std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
          std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
      ClientMetadata requested = Parse(kWebClient);
      requested.GetReflection()->SetString(&requested, requested.GetDescriptor()->FindFieldByName(field), value);
      EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, field)) << field;
    }
  }
}

// U+202A-U+202E and U+2066-U+2069 reorder what a consent screen shows ("Trojan Source").
TEST_F(MetadataValidatorTest, TextFieldsRefuseBidirectionalControls) {
  for (const char* bidi : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
                           "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"}) {
    const std::string value = std::string("Good App") + bidi + "ppA liveE";
    for (const char* field : {"client_name", "software_id", "software_version"}) {
      ClientMetadata requested = Parse(kWebClient);
      requested.GetReflection()->SetString(&requested, requested.GetDescriptor()->FindFieldByName(field), value);
      const absl::StatusOr<ClientMetadata> result = Validate(requested);
      EXPECT_THAT(result, IsRegistrationError(kInvalidClientMetadata, field)) << field;
      EXPECT_THAT(DescriptionOf(result), HasSubstr("bidirectional")) << field;
    }
    ClientMetadata variant = Parse(kWebClient);
    (*variant.mutable_client_name_localized())["ar"] = value;
    EXPECT_THAT(Validate(variant), IsRegistrationError(kInvalidClientMetadata, "client_name#ar"));
    ClientMetadata contact = Parse(kWebClient);
    contact.mutable_contacts()->add_values(std::string("admin@c.example") + bidi);
    EXPECT_THAT(Validate(contact), IsRegistrationError(kInvalidClientMetadata, "contacts[0]"));
  }
  // Right-to-left text itself, and the neighbouring marks (U+200F, U+2069's neighbour U+206A), stay accepted.
  ASSERT_OK_AND_ASSIGN(
      const ClientMetadata arabic,
      ValidateWeb("client_name: \"\xd8\xaa\xd8\xb7\xd8\xa8\xd9\x8a\xd9\x82 \xe2\x80\x8f\xe2\x81\xaa\""));
  EXPECT_TRUE(arabic.has_client_name());
}

TEST_F(MetadataValidatorTest, TextFieldsAcceptAnyPrintableUtf8) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata result,
                       ValidateWeb(R"pb(client_name: "" software_id: "日本語 \"quoted\" \\" software_version: "𝄞")pb"));
  EXPECT_TRUE(result.has_client_name());
  EXPECT_EQ(result.client_name(), "");
  EXPECT_EQ(result.software_id(), "日本語 \"quoted\" \\");
}

TEST_F(MetadataValidatorTest, TextLengthAtTheBoundary) {
  ClientMetadata requested = Parse(kWebClient);
  // Multi-byte characters count in bytes: 341 x 3 bytes + 1 = 1024.
  std::string name;
  for (int i = 0; i < 341; ++i) name += "名";
  name += "x";
  ASSERT_EQ(name.size(), limits_.max_string_bytes());
  requested.set_client_name(name);
  EXPECT_OK(Validate(requested));
  requested.set_client_name(name + "x");
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "client_name"));

  requested.set_client_name("ok");
  requested.set_software_version(std::string(limits_.max_string_bytes() + 1, 'v'));
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "software_version"));
}

TEST_F(MetadataValidatorTest, RefusesIllFormedLanguageTags) {
  for (const char* tag : {"!!", "", "en_US", "e", "en-", "ja-Jpan-Latn", "日本"}) {
    ClientMetadata requested = Parse(kWebClient);
    (*requested.mutable_client_name_localized())[tag] = "Name";
    EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, std::string("client_name#") + tag))
        << tag;
  }
}

TEST_F(MetadataValidatorTest, TagsDifferingOnlyInCaseAreDuplicates) {
  ClientMetadata requested = Parse(kWebClient);
  (*requested.mutable_client_name_localized())["EN"] = "Name";
  (*requested.mutable_client_name_localized())["en"] = "Name";
  // Tags are visited in byte order, so the second one is "en".
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "client_name#en"));

  ClientMetadata tos = Parse(kWebClient);
  (*tos.mutable_tos_uri_localized())["ja-jpan-jp"] = "https://c.example/ja";
  (*tos.mutable_tos_uri_localized())["ja-Jpan-JP"] = "https://c.example/ja";
  EXPECT_THAT(Validate(tos), IsRegistrationError(kInvalidClientMetadata, "tos_uri#ja-jpan-jp"));
}

TEST_F(MetadataValidatorTest, VariantValuesGetTheFieldsRules) {
  ClientMetadata requested = Parse(kWebClient);
  (*requested.mutable_client_name_localized())["ja-Jpan-JP"] = std::string("a\0b", 3);
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "client_name#ja-Jpan-JP"));
}

TEST_F(MetadataValidatorTest, LanguageVariantCountAtTheBoundary) {
  ClientMetadata requested = Parse(kWebClient);
  for (uint32_t i = 0; i < limits_.max_language_variants(); ++i) {
    (*requested.mutable_client_name_localized())["x-v" + std::to_string(i)] = "Name";
  }
  EXPECT_OK(Validate(requested));
  (*requested.mutable_client_name_localized())["x-extra"] = "Name";
  EXPECT_THAT(Validate(requested), IsRegistrationError(kInvalidClientMetadata, "client_name"));
}

// --- Which fault wins, and how it is described ---

TEST_F(MetadataValidatorTest, FirstFaultWinsInTheDocumentedOrder) {
  // Each request carries two faults; the first named field is reported.
  const std::pair<const char*, const char*> cases[] = {
      {R"pb(redirect_uris { values: "http://c.example/cb" }
            application_type: "desktop")pb",
       "redirect_uris[0]"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            application_type: "desktop"
            token_endpoint_auth_method: "magic")pb",
       "application_type"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            token_endpoint_auth_method: "magic"
            grant_types { values: "password" })pb",
       "token_endpoint_auth_method"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            grant_types { values: "foo" }
            response_types { values: "token" })pb",
       "grant_types[0]"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            response_types { values: "token" }
            client_name: "\x01")pb",
       "response_types[0]"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            client_name: "\x01"
            client_uri: "x")pb",
       "client_name"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            client_name_localized { key: "!!" value: "n" }
            client_uri: "x")pb",
       "client_name#!!"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            client_uri: "x"
            logo_uri: "x")pb",
       "client_uri"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            logo_uri: "x"
            scope: "a  b")pb",
       "logo_uri"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            scope: "a  b"
            contacts { values: "" })pb",
       "scope"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            contacts { values: "" }
            tos_uri: "x")pb",
       "contacts[0]"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            tos_uri: "x"
            policy_uri: "x")pb",
       "tos_uri"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            policy_uri: "x"
            jwks_uri: "x")pb",
       "policy_uri"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            jwks_uri: "x"
            jwks {})pb",
       "jwks_uri"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            jwks {}
            software_id: "\x01")pb",
       "jwks"},
      {R"pb(redirect_uris { values: "https://c.example/cb" }
            software_id: "\x01"
            software_version: "\x01")pb",
       "software_id"},
      // A field fault comes before any check across fields.
      {R"pb(grant_types { values: "client_credentials" }
            token_endpoint_auth_method: "none"
            software_version: "\x01")pb",
       "software_version"},
      // Among the checks across fields, the documented order.
      {R"pb(token_endpoint_auth_method: "private_key_jwt"
            response_types {})pb",
       "token_endpoint_auth_method"},
      {R"pb(response_types {}
            grant_types { values: "authorization_code" values: "refresh_token" })pb",
       "response_types"},
      {R"pb(grant_types { values: "authorization_code" }
            response_types {})pb",
       "response_types"},
      {R"pb(grant_types { values: "refresh_token" values: "client_credentials" }
            token_endpoint_auth_method: "none")pb",
       "grant_types"},
  };
  for (const auto& [textproto, field] : cases) {
    const absl::StatusOr<ClientMetadata> result = Validate(textproto);
    ASSERT_FALSE(result.ok()) << textproto;
    const auto detail = common::GetRegistrationError(result.status());
    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->error_field(), field) << textproto;
  }
}

TEST_F(MetadataValidatorTest, DescriptionNamesTheFieldAndQuotesTheValue) {
  const absl::StatusOr<ClientMetadata> result = Validate(R"pb(redirect_uris { values: "myapp:cb" })pb");
  EXPECT_THAT(result, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(DescriptionOf(result), HasSubstr("redirect_uris[0] 'myapp:cb'"));
  EXPECT_EQ(std::string(result.status().message()), DescriptionOf(result));
}

TEST_F(MetadataValidatorTest, DescriptionEscapesNonAsciiAndTruncatesLongValues) {
  ClientMetadata requested;
  requested.mutable_redirect_uris()->add_values("https://c.example/caf\xc3\xa9\"'\\\n");
  const absl::StatusOr<ClientMetadata> escaped = Validate(requested);
  EXPECT_THAT(escaped, IsRegistrationError(kInvalidRedirectUri, "redirect_uris[0]"));
  EXPECT_THAT(DescriptionOf(escaped), HasSubstr("'https://c.example/caf%C3%A9%22%27%5C%0A'"));

  ClientMetadata long_name = Parse(kWebClient);
  long_name.set_client_name(std::string(5000, 'n'));
  const absl::StatusOr<ClientMetadata> truncated = Validate(long_name);
  EXPECT_THAT(truncated, IsRegistrationError(kInvalidClientMetadata, "client_name"));
  EXPECT_LT(DescriptionOf(truncated).size(), 300u);
  EXPECT_THAT(DescriptionOf(truncated), HasSubstr("nnn...'"));

  ClientMetadata bad_tag = Parse(kWebClient);
  (*bad_tag.mutable_client_name_localized())["日本"] = "x";
  const absl::StatusOr<ClientMetadata> tag = Validate(bad_tag);
  EXPECT_THAT(tag, IsRegistrationError(kInvalidClientMetadata, "client_name#日本"));
  EXPECT_THAT(DescriptionOf(tag), HasSubstr("client_name#%E6%97%A5%E6%9C%AC"));
}

}  // namespace
}  // namespace clientreg::server
