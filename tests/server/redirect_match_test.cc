#include "server/redirect_match.h"

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include "clientreg/v1/directory.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "gtest/gtest.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::StoredClient;

constexpr CheckRedirectUriResponse::Reason kExact = CheckRedirectUriResponse::REASON_EXACT_MATCH;
constexpr CheckRedirectUriResponse::Reason kLoopbackPort = CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH;
constexpr CheckRedirectUriResponse::Reason kNotRegistered = CheckRedirectUriResponse::REASON_NOT_REGISTERED;
constexpr CheckRedirectUriResponse::Reason kInvalidUri = CheckRedirectUriResponse::REASON_INVALID_URI;

struct Case {
  const char* name;
  std::vector<std::string> registered;
  // "native", "web" or "" (absent, which means web).
  const char* application_type;
  const char* candidate;
  CheckRedirectUriResponse::Reason reason;
  // The registered URI an allowed candidate matched.
  const char* matched = "";
};

const Case kCases[] = {
    // Exact string comparison (RFC 3986 §6.2.1), for every kind of client.
    {"exact https", {"https://app.example/cb"}, "web", "https://app.example/cb", kExact, "https://app.example/cb"},
    {"exact, second of two",
     {"https://app.example/a", "https://app.example/b"},
     "",
     "https://app.example/b",
     kExact,
     "https://app.example/b"},
    {"exact private-use scheme",
     {"com.example.app:/oauth2redirect"},
     "native",
     "com.example.app:/oauth2redirect",
     kExact,
     "com.example.app:/oauth2redirect"},
    {"exact with query",
     {"https://app.example/cb?x=1"},
     "web",
     "https://app.example/cb?x=1",
     kExact,
     "https://app.example/cb?x=1"},
    {"trailing slash added", {"https://app.example/cb"}, "web", "https://app.example/cb/", kNotRegistered},
    {"trailing slash removed", {"https://app.example/"}, "web", "https://app.example", kNotRegistered},
    {"host case differs", {"https://app.example/cb"}, "web", "https://App.Example/cb", kNotRegistered},
    {"scheme case differs", {"https://app.example/cb"}, "web", "HTTPS://app.example/cb", kNotRegistered},
    {"path case differs", {"https://app.example/cb"}, "web", "https://app.example/CB", kNotRegistered},
    {"percent-encoding differs", {"https://app.example/a%7Eb"}, "web", "https://app.example/a~b", kNotRegistered},
    {"default port added", {"https://app.example/cb"}, "web", "https://app.example:443/cb", kNotRegistered},
    {"query differs", {"https://app.example/cb?x=1"}, "web", "https://app.example/cb?x=2", kNotRegistered},
    {"query added", {"https://app.example/cb"}, "web", "https://app.example/cb?x=1", kNotRegistered},
    {"query removed", {"https://app.example/cb?x=1"}, "web", "https://app.example/cb", kNotRegistered},
    {"empty query added", {"https://app.example/cb"}, "web", "https://app.example/cb?", kNotRegistered},
    {"no registered URI", {}, "native", "http://127.0.0.1/cb", kNotRegistered},

    // RFC 8252 §7.3: a native client's loopback URI may come back on any port.
    {"native 127.0.0.1 other port",
     {"http://127.0.0.1:3000/cb"},
     "native",
     "http://127.0.0.1:49152/cb",
     kLoopbackPort,
     "http://127.0.0.1:3000/cb"},
    {"web 127.0.0.1 other port", {"http://127.0.0.1:3000/cb"}, "web", "http://127.0.0.1:49152/cb", kNotRegistered},
    {"absent type is web", {"http://127.0.0.1:3000/cb"}, "", "http://127.0.0.1:49152/cb", kNotRegistered},
    {"web 127.0.0.1 same port",
     {"http://127.0.0.1:3000/cb"},
     "web",
     "http://127.0.0.1:3000/cb",
     kExact,
     "http://127.0.0.1:3000/cb"},
    {"registered without port, candidate with one (VS Code)",
     {"http://127.0.0.1/"},
     "native",
     "http://127.0.0.1:33418/",
     kLoopbackPort,
     "http://127.0.0.1/"},
    {"registered with port, candidate without one",
     {"http://127.0.0.1:8080/cb"},
     "native",
     "http://127.0.0.1/cb",
     kLoopbackPort,
     "http://127.0.0.1:8080/cb"},
    {"empty candidate port",
     {"http://127.0.0.1:8080/cb"},
     "native",
     "http://127.0.0.1:/cb",
     kLoopbackPort,
     "http://127.0.0.1:8080/cb"},
    {"[::1] other port",
     {"http://[::1]:1234/cb"},
     "native",
     "http://[::1]:5678/cb",
     kLoopbackPort,
     "http://[::1]:1234/cb"},
    {"[::1] without port", {"http://[::1]/cb"}, "native", "http://[::1]:5678/cb", kLoopbackPort, "http://[::1]/cb"},
    {"localhost other port (native)",
     {"http://localhost:3000/callback"},
     "native",
     "http://localhost:61234/callback",
     kLoopbackPort,
     "http://localhost:3000/callback"},
    {"localhost other port (web)",
     {"http://localhost:3000/callback"},
     "web",
     "http://localhost:61234/callback",
     kNotRegistered},
    {"port 0", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:0/cb", kLoopbackPort, "http://127.0.0.1/cb"},
    {"port 65535",
     {"http://127.0.0.1/cb"},
     "native",
     "http://127.0.0.1:65535/cb",
     kLoopbackPort,
     "http://127.0.0.1/cb"},
    {"port 65536", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:65536/cb", kInvalidUri},
    {"port with leading zeros",
     {"http://127.0.0.1/cb"},
     "native",
     "http://127.0.0.1:000080/cb",
     kLoopbackPort,
     "http://127.0.0.1/cb"},
    {"port beyond 64 bits",
     {"http://127.0.0.1/cb"},
     "native",
     "http://127.0.0.1:99999999999999999999999/cb",
     kInvalidUri},

    // Only the port: every other part must be the same string.
    {"loopback path differs", {"http://127.0.0.1:3000/cb"}, "native", "http://127.0.0.1:4000/cb2", kNotRegistered},
    {"loopback path case differs", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:4000/CB", kNotRegistered},
    {"loopback trailing slash", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:4000/cb/", kNotRegistered},
    {"loopback query differs", {"http://127.0.0.1/cb?a=1"}, "native", "http://127.0.0.1:4000/cb?a=2", kNotRegistered},
    {"loopback query added", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:4000/cb?a=1", kNotRegistered},
    {"loopback query kept",
     {"http://127.0.0.1/cb?a=1"},
     "native",
     "http://127.0.0.1:4000/cb?a=1",
     kLoopbackPort,
     "http://127.0.0.1/cb?a=1"},
    {"loopback scheme case differs", {"http://127.0.0.1/cb"}, "native", "HTTP://127.0.0.1:4000/cb", kNotRegistered},
    {"loopback https candidate", {"http://127.0.0.1/cb"}, "native", "https://127.0.0.1:4000/cb", kNotRegistered},
    {"localhost case differs", {"http://localhost/cb"}, "native", "http://LOCALHOST:4000/cb", kNotRegistered},

    // Three loopback hosts, never one for another.
    {"localhost for 127.0.0.1", {"http://127.0.0.1:3000/cb"}, "native", "http://localhost:3000/cb", kNotRegistered},
    {"127.0.0.1 for localhost", {"http://localhost:3000/cb"}, "native", "http://127.0.0.1:3000/cb", kNotRegistered},
    {"[::1] for 127.0.0.1", {"http://127.0.0.1/cb"}, "native", "http://[::1]:3000/cb", kNotRegistered},
    {"127.0.0.1 for [::1]", {"http://[::1]/cb"}, "native", "http://127.0.0.1:3000/cb", kNotRegistered},
    {"localhost for [::1]", {"http://[::1]/cb"}, "native", "http://localhost:3000/cb", kNotRegistered},
    {"other loopback spelling", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.2:3000/cb", kNotRegistered},
    {"long IPv6 loopback", {"http://[::1]/cb"}, "native", "http://[0:0:0:0:0:0:0:1]:3000/cb", kNotRegistered},

    // No port freedom anywhere else, native or not.
    {"native https other port", {"https://app.example/cb"}, "native", "https://app.example:8443/cb", kNotRegistered},
    {"native https exact",
     {"https://app.example/cb"},
     "native",
     "https://app.example/cb",
     kExact,
     "https://app.example/cb"},
    {"http non-loopback host other port",
     {"http://127.0.0.1/cb"},
     "native",
     "http://app.example:8080/cb",
     kNotRegistered},
    {"https port on a loopback host",
     {"https://localhost:8443/cb"},
     "native",
     "https://localhost:9443/cb",
     kNotRegistered},
    {"web client exact loopback",
     {"http://localhost:8080/cb"},
     "web",
     "http://localhost:8080/cb",
     kExact,
     "http://localhost:8080/cb"},

    // Userinfo tricks: the host is what follows the '@'.
    {"userinfo names loopback", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1@evil.example/cb", kNotRegistered},
    {"userinfo with port", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:80@evil.example/cb", kNotRegistered},
    {"userinfo before loopback",
     {"http://127.0.0.1/cb"},
     "native",
     "http://evil.example@127.0.0.1:4000/cb",
     kNotRegistered},
    {"loopback as a subdomain",
     {"http://127.0.0.1/cb"},
     "native",
     "http://127.0.0.1.evil.example:4000/cb",
     kNotRegistered},

    // Not a URI the authorization server may redirect to (RFC 6749 §3.1.2).
    {"fragment", {"https://app.example/cb"}, "web", "https://app.example/cb#x", kInvalidUri},
    {"empty fragment", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:4000/cb#", kInvalidUri},
    {"relative", {"https://app.example/cb"}, "web", "/cb", kInvalidUri},
    {"no scheme", {"https://app.example/cb"}, "web", "app.example/cb", kInvalidUri},
    {"space", {"https://app.example/cb"}, "web", "https://app.example/c b", kInvalidUri},
    {"non-numeric port", {"http://127.0.0.1/cb"}, "native", "http://127.0.0.1:http/cb", kInvalidUri},
    {"NUL byte", {"https://app.example/cb"}, "web", "https://app.example/cb%00", kInvalidUri},
};

// Test names and failure messages name the case, not its bytes.
void PrintTo(const Case& test, std::ostream* out) { *out << test.name; }

google::protobuf::RepeatedPtrField<std::string> Uris(const std::vector<std::string>& uris) {
  return google::protobuf::RepeatedPtrField<std::string>(uris.begin(), uris.end());
}

class MatchRedirectUriTest : public ::testing::TestWithParam<Case> {};

TEST_P(MatchRedirectUriTest, Answers) {
  const Case& test = GetParam();
  const CheckRedirectUriResponse answer =
      MatchRedirectUri(Uris(test.registered), test.application_type, test.candidate);
  EXPECT_EQ(answer.reason(), test.reason)
      << CheckRedirectUriResponse::Reason_Name(answer.reason()) << ": " << answer.explanation();
  EXPECT_EQ(answer.allowed(), test.reason == kExact || test.reason == kLoopbackPort);
  EXPECT_EQ(answer.matched_redirect_uri(), test.matched);
  EXPECT_FALSE(answer.explanation().empty());
  // For people, not an echo: a caller may log it.
  EXPECT_EQ(answer.explanation().find(test.candidate), std::string::npos) << answer.explanation();
}

INSTANTIATE_TEST_SUITE_P(Table, MatchRedirectUriTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (const char* c = info.param.name; *c != '\0'; ++c) {
                             name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
                           }
                           return name;
                         });

TEST(MatchRedirectUriTest, WebRefusalOfALoopbackPortSaysWhy) {
  const google::protobuf::RepeatedPtrField<std::string> registered = Uris({"http://127.0.0.1:3000/cb"});
  const CheckRedirectUriResponse web = MatchRedirectUri(registered, "web", "http://127.0.0.1:4000/cb");
  EXPECT_NE(web.explanation().find("native"), std::string::npos) << web.explanation();
  const CheckRedirectUriResponse other = MatchRedirectUri(registered, "web", "https://app.example/cb");
  EXPECT_EQ(other.explanation().find("native"), std::string::npos) << other.explanation();
}

TEST(MatchRedirectUriTest, InvalidUriSaysWhatIsWrong) {
  const google::protobuf::RepeatedPtrField<std::string> registered = Uris({"https://app.example/cb"});
  EXPECT_EQ(MatchRedirectUri(registered, "web", "/cb").explanation(),
            "the redirect URI is not an absolute URI: it has no scheme (RFC 3986 Section 4.3)");
  EXPECT_EQ(MatchRedirectUri(registered, "web", "https://app.example/cb#x").explanation(),
            "the redirect URI has a fragment, which RFC 6749 Section 3.1.2 forbids");
  EXPECT_EQ(MatchRedirectUri(registered, "native", "http://127.0.0.1:70000/cb").explanation(),
            "the redirect URI has a port above 65535");
}

TEST(MatchClientRedirectUriTest, DisabledClientIsRefusedWhateverTheUri) {
  StoredClient client;
  client.mutable_metadata()->mutable_redirect_uris()->add_values("http://127.0.0.1/cb");
  client.mutable_metadata()->set_application_type("native");
  client.set_state(StoredClient::STATE_ACTIVE);
  EXPECT_TRUE(MatchClientRedirectUri(client, "http://127.0.0.1:4000/cb").allowed());

  for (const StoredClient::State state : {StoredClient::STATE_DISABLED, StoredClient::STATE_UNSPECIFIED}) {
    client.set_state(state);
    for (const char* candidate : {"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb", "not a uri"}) {
      SCOPED_TRACE(candidate);
      const CheckRedirectUriResponse answer = MatchClientRedirectUri(client, candidate);
      EXPECT_FALSE(answer.allowed());
      EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_CLIENT_DISABLED);
      EXPECT_EQ(answer.matched_redirect_uri(), "");
      EXPECT_EQ(answer.explanation(), "the client is disabled");
    }
  }
}

TEST(MatchClientRedirectUriTest, UsesTheClientsApplicationType) {
  StoredClient client;
  client.mutable_metadata()->mutable_redirect_uris()->add_values("http://[::1]:80/cb");
  client.set_state(StoredClient::STATE_ACTIVE);
  EXPECT_FALSE(MatchClientRedirectUri(client, "http://[::1]:81/cb").allowed()) << "absent: web";
  client.mutable_metadata()->set_application_type("web");
  EXPECT_FALSE(MatchClientRedirectUri(client, "http://[::1]:81/cb").allowed());
  client.mutable_metadata()->set_application_type("native");
  EXPECT_TRUE(MatchClientRedirectUri(client, "http://[::1]:81/cb").allowed());
}

}  // namespace
}  // namespace clientreg::server
