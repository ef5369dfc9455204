#include "server/cimd_document.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/registration_policy.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUrl[] = "https://client.example/oauth/metadata.json";

class CimdDocumentTest : public ::testing::Test {
 protected:
  absl::StatusOr<clientreg::v1::ClientMetadata> Read(const std::string& body, const std::string& url = kUrl) {
    return ReadCimdDocument(body, url, mapper_, validator_);
  }

  // A document for kUrl with `members` (JSON members, each followed by a comma) before client_id.
  static std::string Document(const std::string& members) {
    return absl::StrCat("{", members, R"("client_id":")", kUrl, R"("})");
  }

  void ExpectRefused(const std::string& body, const std::string& why) {
    const absl::StatusOr<clientreg::v1::ClientMetadata> read = Read(body);
    ASSERT_FALSE(read.ok()) << body;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(read.status().message(), HasSubstr(why)) << body;
    // Never the document's content: no value from it appears in the refusal.
    EXPECT_THAT(read.status().message(), Not(HasSubstr("evil"))) << body;
  }

  common::JsonMapper mapper_{common::DefaultHttpLimits()};
  MetadataValidator validator_{common::DefaultMetadataLimits(), DefaultRegistrationPolicy()};
};

TEST_F(CimdDocumentTest, AValidDocumentIsAPublicClientWithTheRegistrationDefaults) {
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientMetadata metadata, Read(Document(R"("client_name":"Example Agent",
                                        "redirect_uris":["http://127.0.0.1:33418/callback","http://localhost/cb"],)")));
  EXPECT_EQ(metadata.client_name(), "Example Agent");
  EXPECT_EQ(metadata.token_endpoint_auth_method(), "none");
  EXPECT_EQ(metadata.application_type(), "native");
  EXPECT_THAT(metadata.grant_types().values(), ElementsAre("authorization_code"));
  EXPECT_THAT(metadata.response_types().values(), ElementsAre("code"));
}

TEST_F(CimdDocumentTest, PrivateKeyJwtWithJwksUriPasses) {
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientMetadata metadata, Read(Document(R"("client_name":"Connector",
                                        "redirect_uris":["https://chatgpt.com/connector/oauth/abc"],
                                        "grant_types":["authorization_code","refresh_token"],
                                        "token_endpoint_auth_method":"private_key_jwt",
                                        "jwks_uri":"https://client.example/jwks.json",)")));
  EXPECT_EQ(metadata.token_endpoint_auth_method(), "private_key_jwt");
  EXPECT_EQ(metadata.jwks_uri(), "https://client.example/jwks.json");
}

TEST_F(CimdDocumentTest, ClientIdMustBeTheUrlExactly) {
  const std::string members = R"("client_name":"n","redirect_uris":["https://client.example/cb"])";
  ExpectRefused(absl::StrCat("{", members, "}"), "has no client_id");
  ExpectRefused(absl::StrCat("{", members, R"(,"client_id":7})"), "not a string");
  for (const char* other : {"https://client.example/oauth/metadata.json/", "https://CLIENT.example/oauth/metadata.json",
                            "https://client.example:443/oauth/metadata.json", "https://evil.example/x"}) {
    ExpectRefused(absl::StrCat("{", members, R"(,"client_id":")", other, R"("})"), "differs from its URL");
  }
}

TEST_F(CimdDocumentTest, RequiredMembers) {
  ExpectRefused(Document(R"("redirect_uris":["https://client.example/cb"],)"), "has no client_name");
  ExpectRefused(Document(R"("client_name":"n",)"), "has no redirect_uris");
  ExpectRefused(Document(R"("client_name":"n","redirect_uris":[],)"), "has no redirect_uris");
}

TEST_F(CimdDocumentTest, NoSharedSecret) {
  const std::string members = R"("client_name":"n","redirect_uris":["https://client.example/cb"],)";
  for (const char* method : {"client_secret_basic", "client_secret_post", "client_secret_jwt"}) {
    ExpectRefused(Document(absl::StrCat(members, R"("token_endpoint_auth_method":")", method, R"(",)")),
                  "shared-secret token_endpoint_auth_method");
  }
  ExpectRefused(Document(absl::StrCat(members, R"("client_secret":"evil",)")), "must not have client_secret");
  ExpectRefused(Document(absl::StrCat(members, R"("client_secret_expires_at":0,)")),
                "must not have client_secret_expires_at");
}

TEST_F(CimdDocumentTest, EveryOtherMemberMeetsTheRegistrationRules) {
  // The validator's own fault, named by code and member but without the offending value.
  ExpectRefused(Document(R"("client_name":"n","redirect_uris":["https://evil.example/cb#frag"],)"),
                "invalid_redirect_uri at redirect_uris[0]");
  ExpectRefused(Document(R"("client_name":"n","redirect_uris":["javascript://evil/x"],)"),
                "invalid_redirect_uri at redirect_uris[0]");
  ExpectRefused(Document(R"("client_name":"n","redirect_uris":["https://client.example/cb"],
                            "logo_uri":"ftp://evil.example/logo.png",)"),
                "invalid_client_metadata at logo_uri");
  ExpectRefused(Document(R"("client_name":"n","redirect_uris":["https://client.example/cb"],
                            "token_endpoint_auth_method":"private_key_jwt",)"),
                "invalid_client_metadata");
}

TEST_F(CimdDocumentTest, NotOneJsonObject) {
  ExpectRefused("", "invalid_request");
  ExpectRefused("[]", "invalid_request");
  ExpectRefused(R"({"client_id":"evil")", "invalid_request");
  ExpectRefused(Document(R"("client_name":"a","client_name":"evil",)"), "invalid_request at client_name");
  ExpectRefused(Document(R"("client_name":7,"redirect_uris":["https://client.example/cb"],)"),
                "invalid_client_metadata at client_name");
}

}  // namespace
}  // namespace clientreg::server
