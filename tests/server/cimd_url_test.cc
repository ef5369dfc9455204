#include "server/cimd_url.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr CimdUrlRules kStrict{};
constexpr CimdUrlRules kWithQuery{.allow_query = true};
constexpr CimdUrlRules kLoopbackHttp{.allow_loopback_http = true};

TEST(CimdUrlTest, RecognisesMetadataDocumentClientIds) {
  EXPECT_TRUE(IsCimdClientId("https://client.example/meta.json", kStrict));
  EXPECT_TRUE(IsCimdClientId("HTTPS://client.example/meta.json", kStrict));
  EXPECT_FALSE(IsCimdClientId("http://127.0.0.1:8000/meta.json", kStrict));
  EXPECT_TRUE(IsCimdClientId("http://127.0.0.1:8000/meta.json", kLoopbackHttp));
  // Issued client ids are 22 base64url characters; nothing else starts with a scheme.
  EXPECT_FALSE(IsCimdClientId("s6BhdRkqt3XkKzPz2PuDoA", kStrict));
  EXPECT_FALSE(IsCimdClientId("https:/client.example/x", kStrict));
  EXPECT_FALSE(IsCimdClientId("", kStrict));
}

TEST(CimdUrlTest, AcceptsHttpsUrlsWithAPathAndReturnsTheLowerCasedHost) {
  struct Case {
    const char* url;
    const char* host;
  };
  for (const Case& c :
       {Case{"https://client.example/oauth/metadata.json", "client.example"},
        Case{"https://Client.Example/m", "client.example"}, Case{"https://client.example/", "client.example"},
        Case{"https://client.example:8443/m.json", "client.example"}, Case{"https://203.0.113.7/m", "203.0.113.7"},
        Case{"https://[2001:db8::1]/m", "[2001:db8::1]"},
        Case{"https://claude.ai/oauth/claude-code-client-metadata", "claude.ai"},
        Case{"https://client.example/a%2Fb/c.json", "client.example"}}) {
    ASSERT_OK_AND_ASSIGN(const std::string host, CheckCimdUrl(c.url, kStrict));
    EXPECT_EQ(host, c.host) << c.url;
  }
}

TEST(CimdUrlTest, RefusesWhatCimdSection3Forbids) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {
           Case{"https://client.example", "must have a path"},
           Case{"https://client.example/m#", "fragment"},
           Case{"https://client.example/m#frag", "fragment"},
           Case{"https://user@client.example/m", "userinfo"},
           Case{"https://user:pw@client.example/m", "userinfo"},
           Case{"https://client.example/a/../m", "dot segments"},
           Case{"https://client.example/./m", "dot segments"},
           Case{"https://client.example/a/..", "dot segments"},
           Case{"https://client.example/a/%2e%2E/m", "dot segments"},
           Case{"https://client.example/a/.%2e/m", "dot segments"},
           Case{"https://client.example/%2E/m", "dot segments"},
           Case{"https://client.example/m?x=1", "query"},
           Case{"https://client.example/m?", "query"},
           Case{"http://client.example/m", "https"},
           Case{"HTTPS://client.example/m", "lower case"},
           Case{"https://client.example:0/m", "port"},
           Case{"https://client.example:65536/m", "port"},
           Case{"https://client.example:/m", "port"},
           Case{"https:///m", "host"},
           Case{"https://-bad-.example/m", "DNS name"},
           Case{"https://client.example/m m", "not a valid URL"},
           Case{"https://[v1.x]/m", "host"},
       }) {
    const absl::StatusOr<std::string> host = CheckCimdUrl(c.url, kStrict);
    ASSERT_FALSE(host.ok()) << c.url;
    EXPECT_EQ(host.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(host.status().message(), HasSubstr(c.why)) << c.url;
    // The refusal goes to the authorization server's log: it never repeats the URL.
    EXPECT_THAT(host.status().message(), Not(HasSubstr("client.example"))) << c.url;
  }
}

TEST(CimdUrlTest, AQueryPassesOnlyWhenAllowed) {
  EXPECT_OK(CheckCimdUrl("https://client.example/m?tenant=1", kWithQuery).status());
  EXPECT_FALSE(CheckCimdUrl("https://client.example/m?tenant=1", kStrict).ok());
}

TEST(CimdUrlTest, LoopbackHttpOnlyOnTheTestingFlagWithAPort) {
  ASSERT_OK_AND_ASSIGN(const std::string ip, CheckCimdUrl("http://127.0.0.1:8000/meta.json", kLoopbackHttp));
  EXPECT_EQ(ip, "127.0.0.1");
  ASSERT_OK_AND_ASSIGN(const std::string name, CheckCimdUrl("http://localhost:8000/meta.json", kLoopbackHttp));
  EXPECT_EQ(name, "localhost");
  EXPECT_FALSE(CheckCimdUrl("http://127.0.0.1:8000/meta.json", kStrict).ok());
  EXPECT_FALSE(CheckCimdUrl("http://127.0.0.1/meta.json", kLoopbackHttp).ok());
  EXPECT_FALSE(CheckCimdUrl("http://[::1]:8000/meta.json", kLoopbackHttp).ok());
  EXPECT_FALSE(CheckCimdUrl("http://client.example:8000/meta.json", kLoopbackHttp).ok());
  EXPECT_FALSE(CheckCimdUrl("http://127.0.0.2:8000/meta.json", kLoopbackHttp).ok());
  // https stays as it is under the flag.
  EXPECT_OK(CheckCimdUrl("https://client.example/m", kLoopbackHttp).status());
}

}  // namespace
}  // namespace clientreg::server
