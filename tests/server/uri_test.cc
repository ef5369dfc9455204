#include "server/uri.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::std::string_literals::operator""s;
using ::testing::HasSubstr;

TEST(ParseUriTest, SplitsEveryComponentWithoutNormalizing) {
  ASSERT_OK_AND_ASSIGN(const Uri uri, ParseUri("HTTPS://us%65r:pw@C.Example:0443/a/./B%2f?q=1&r=/?#frag/?"));
  EXPECT_EQ(uri.scheme, "HTTPS");
  EXPECT_EQ(uri.userinfo, "us%65r:pw");
  EXPECT_EQ(uri.host_kind, HostKind::kRegName);
  EXPECT_EQ(uri.host, "C.Example");
  EXPECT_EQ(uri.port, "0443");
  EXPECT_EQ(uri.path, "/a/./B%2f");
  EXPECT_EQ(uri.query, "q=1&r=/?");
  EXPECT_EQ(uri.fragment, "frag/?");
}

TEST(ParseUriTest, AbsentAndEmptyComponentsDiffer) {
  ASSERT_OK_AND_ASSIGN(const Uri bare, ParseUri("https://c.example"));
  EXPECT_FALSE(bare.userinfo.has_value());
  EXPECT_FALSE(bare.port.has_value());
  EXPECT_EQ(bare.path, "");
  EXPECT_FALSE(bare.query.has_value());
  EXPECT_FALSE(bare.fragment.has_value());

  ASSERT_OK_AND_ASSIGN(const Uri empty, ParseUri("https://@c.example:?#"));
  EXPECT_EQ(empty.userinfo, "");
  EXPECT_EQ(empty.port, "");
  EXPECT_EQ(empty.query, "");
  EXPECT_EQ(empty.fragment, "");
}

TEST(ParseUriTest, PathForms) {
  ASSERT_OK_AND_ASSIGN(const Uri absolute, ParseUri("com.example.app:/oauth2redirect"));
  EXPECT_EQ(absolute.host_kind, HostKind::kNone);
  EXPECT_EQ(absolute.path, "/oauth2redirect");

  ASSERT_OK_AND_ASSIGN(const Uri rootless, ParseUri("urn:ietf:params:oauth"));
  EXPECT_EQ(rootless.scheme, "urn");
  EXPECT_EQ(rootless.path, "ietf:params:oauth");

  ASSERT_OK_AND_ASSIGN(const Uri empty_host, ParseUri("file:///etc/hosts"));
  EXPECT_EQ(empty_host.host_kind, HostKind::kRegName);
  EXPECT_EQ(empty_host.host, "");
  EXPECT_EQ(empty_host.path, "/etc/hosts");
}

TEST(ParseUriTest, ClassifiesHosts) {
  ASSERT_OK_AND_ASSIGN(Uri uri, ParseUri("http://127.0.0.1:8080/cb"));
  EXPECT_EQ(uri.host_kind, HostKind::kIpv4);
  EXPECT_EQ(uri.host, "127.0.0.1");
  EXPECT_EQ(uri.port, "8080");

  ASSERT_OK_AND_ASSIGN(uri, ParseUri("http://[::1]:80/cb"));
  EXPECT_EQ(uri.host_kind, HostKind::kIpv6);
  EXPECT_EQ(uri.host, "[::1]");
  EXPECT_EQ(uri.port, "80");

  ASSERT_OK_AND_ASSIGN(uri, ParseUri("http://[v1.fe80::a+en1]/"));
  EXPECT_EQ(uri.host_kind, HostKind::kIpvFuture);

  // Not dec-octets, so RFC 3986 reads them as registered names.
  ASSERT_OK_AND_ASSIGN(uri, ParseUri("http://127.000.0.1/"));
  EXPECT_EQ(uri.host_kind, HostKind::kRegName);
  ASSERT_OK_AND_ASSIGN(uri, ParseUri("http://256.0.0.1/"));
  EXPECT_EQ(uri.host_kind, HostKind::kRegName);
}

TEST(ParseUriTest, AcceptsEveryIpv6Form) {
  for (const char* host : {"[1:2:3:4:5:6:7:8]", "[::]", "[::1]", "[1::]", "[1:2:3:4:5:6:7::]", "[::2:3:4:5:6:7:8]",
                           "[1::8]", "[::ffff:192.0.2.1]", "[1:2:3:4:5:6:192.0.2.1]", "[FE80::aBcD]"}) {
    const absl::StatusOr<Uri> uri = ParseUri(std::string("https://") + host + "/");
    ASSERT_OK(uri);
    EXPECT_EQ(uri->host_kind, HostKind::kIpv6) << host;
  }
}

TEST(ParseUriTest, RefusesMalformedIpLiterals) {
  for (const char* host : {"[1:2:3:4:5:6:7:8:9]", "[1:2:3:4:5:6:7]", "[1::2::3]", "[:::]", "[12345::]", "[1:]", "[:1]",
                           "[::g]", "[192.0.2.1::]", "[::1%25eth0]", "[::1", "[]", "[v1]", "[v.x]", "[::1]x",
                           "[1:2:3:4:5:6:7:192.0.2.1]", "[::256.0.0.1]"}) {
    EXPECT_FALSE(ParseUri(std::string("https://") + host + "/").ok()) << host;
  }
}

TEST(ParseUriTest, RefusesRelativeReferences) {
  for (const char* text : {"/cb", "c.example/cb", "//c.example/cb", "?x", "#x", "", ":cb", "cb"}) {
    const absl::StatusOr<Uri> uri = ParseUri(text);
    ASSERT_FALSE(uri.ok()) << text;
    EXPECT_NE(uri.status().message().find("no scheme"), absl::string_view::npos) << uri.status();
  }
}

TEST(ParseUriTest, RefusesMalformedSchemes) {
  for (const char* text : {"1https://c.example/", "ht_tp://c.example/", "-x:/a", "h%74tp://c.example/"}) {
    EXPECT_FALSE(ParseUri(text).ok()) << text;
  }
  EXPECT_OK(ParseUri("a+b-c.d:/x"));
}

TEST(ParseUriTest, RefusesCharactersOutsideTheUriSet) {
  for (const std::string& text :
       {"https://c.example/a b"s, "https://c.example/\tb"s, "https://c.example/\nb"s, "https://c.example/a\0b"s,
        "https://c.example/\x7f"s, "https://c.example/caf\xc3\xa9"s, "https://c.example/<x>"s,
        "https://c.example/\"x\""s, "https://c.example/a\\b"s, "https://c.example/^"s, "https://c.example/`"s,
        "https://c.example/{}"s, "https://c.example/|"s, " https://c.example/"s, "https://c.example/ "s}) {
    const absl::StatusOr<Uri> uri = ParseUri(text);
    ASSERT_FALSE(uri.ok()) << text;
    EXPECT_NE(uri.status().message().find("not allowed in a URI"), absl::string_view::npos) << uri.status();
  }
}

TEST(ParseUriTest, RefusesInvalidPercentEncoding) {
  for (const char* text : {"https://c.example/%", "https://c.example/%2", "https://c.example/%zz",
                           "https://c.example/%2g", "https://c.example/?a=%"}) {
    const absl::StatusOr<Uri> uri = ParseUri(text);
    ASSERT_FALSE(uri.ok()) << text;
    EXPECT_NE(uri.status().message().find("two hex digits"), absl::string_view::npos) << uri.status();
  }
  EXPECT_OK(ParseUri("https://c.example/%2F%c3%A9"));
}

TEST(ParseUriTest, RefusesCharactersOutsideTheirComponent) {
  for (const char* text :
       {"https://c.example/a[b]", "https://a@b@c.example/", "https://c.example:8x/", "https://c.example:80:81/",
        "https://c[.example/", "https://c.example/#a#b", "https://c.example/?a[0]=1", "https://us[er@c.example/"}) {
    EXPECT_FALSE(ParseUri(text).ok()) << text;
  }
}

TEST(IsDnsHostNameTest, AcceptsNames) {
  for (const char* host : {"c.example", "localhost", "C.EXAMPLE", "a-b.c-d.example", "xn--bcher-kva.example",
                           "1.example", "a.b2", "123abc"}) {
    EXPECT_TRUE(IsDnsHostName(host)) << host;
  }
  EXPECT_TRUE(IsDnsHostName(std::string(63, 'a') + ".example"));
}

TEST(IsDnsHostNameTest, RefusesOtherRegisteredNames) {
  for (const char* host :
       {"", "*.example.org", "under_score.example", "a..b", ".example", "example.", "-a.example", "a-.example", "127.1",
        "0x7f000001", "1.2.3.256", "c.0X1F", "caf%C3%A9.example", "a!.example", "a~b.example"}) {
    EXPECT_FALSE(IsDnsHostName(host)) << host;
  }
  EXPECT_FALSE(IsDnsHostName(std::string(64, 'a') + ".example"));
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  long_name.resize(254);
  long_name.back() = 'x';
  EXPECT_FALSE(IsDnsHostName(long_name));
}

TEST(IsLoopbackHostTest, OnlyTheThreeNamesInAnyCase) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("LOCALHOST"));
  EXPECT_TRUE(IsLoopbackHost("LocalHost"));
  for (const char* host :
       {"127.0.0.2", "127.1", "[0:0:0:0:0:0:0:1]", "localhost.", "localhost.example", "::1", "localhos", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ClassifyRedirectUriTest, AcceptedKinds) {
  const std::pair<const char*, RedirectUriKind> cases[] = {
      {"https://c.example/cb", RedirectUriKind::kHttps},
      {"https://c.example:8443/cb?x=1", RedirectUriKind::kHttps},
      {"HTTPS://C.Example/CB", RedirectUriKind::kHttps},
      {"https://192.0.2.1/cb", RedirectUriKind::kHttps},
      {"https://[2001:db8::1]:443/cb", RedirectUriKind::kHttps},
      {"https://c.example", RedirectUriKind::kHttps},
      {"https://c.example/cb%20x%2F", RedirectUriKind::kHttps},
      {"http://127.0.0.1:8080/cb", RedirectUriKind::kLoopbackHttp},
      {"http://[::1]/cb", RedirectUriKind::kLoopbackHttp},
      {"http://localhost:3000/callback", RedirectUriKind::kLoopbackHttp},
      {"Http://localhost:65535/", RedirectUriKind::kLoopbackHttp},
      {"http://localhost:0/", RedirectUriKind::kLoopbackHttp},
      {"http://LOCALHOST/cb", RedirectUriKind::kLoopbackHttp},
      {"HTTP://LocalHost:8787/callback", RedirectUriKind::kLoopbackHttp},
      {"com.example.app:/oauth2redirect", RedirectUriKind::kPrivateUse},
      {"com.example.app://callback", RedirectUriKind::kPrivateUse},
      {"Com.Example.App:/cb?x=1", RedirectUriKind::kPrivateUse},
  };
  for (const auto& [text, kind] : cases) {
    for (const PrivateUseSchemes private_use : {PrivateUseSchemes::kAny, PrivateUseSchemes::kReverseDomainOnly}) {
      const absl::StatusOr<RedirectUriKind> result = ClassifyRedirectUri(text, private_use);
      ASSERT_OK(result);
      EXPECT_EQ(*result, kind) << text;
    }
  }
}

// spec.md §6 step 5: what agents register, accepted unless the deployment requires reverse-domain schemes.
TEST(ClassifyRedirectUriTest, SchemesWithoutAPeriodOnlyWhenAllowed) {
  for (const char* text : {"cursor://anysphere.cursor-mcp/oauth/callback", "vscode://saoudrizwan.claude-dev/cb",
                           "zed://auth/callback", "myapp://cb", "myapp:/cb", "MyApp://cb", "x-app+v2://cb"}) {
    const absl::StatusOr<RedirectUriKind> accepted = ClassifyRedirectUri(text, PrivateUseSchemes::kAny);
    ASSERT_OK(accepted);
    EXPECT_EQ(*accepted, RedirectUriKind::kPrivateUse) << text;
    const absl::StatusOr<RedirectUriKind> refused = ClassifyRedirectUri(text, PrivateUseSchemes::kReverseDomainOnly);
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("period")) << text;
  }
}

// Each refused URI with a word its reason must contain, so a test fails if the URI is refused for the wrong reason.
// Every one is refused with or without require_reverse_domain_schemes.
TEST(ClassifyRedirectUriTest, RefusedWithTheRightReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://c.example/cb#x", "fragment"},
      {"https://c.example/cb#", "fragment"},
      {"myapp://cb#x", "fragment"},
      {"/cb", "no scheme"},
      {"c.example/cb", "no scheme"},
      {"1app://cb", "malformed scheme"},
      {"http://c.example/cb", "127.0.0.1"},
      {"HTTP://evil.example/cb", "127.0.0.1"},
      {"hTtP://evil.example/cb", "127.0.0.1"},
      {"http://127.0.0.2/cb", "127.0.0.1"},
      {"http://[0:0:0:0:0:0:0:1]/cb", "127.0.0.1"},
      {"http://localhost.c.example/cb", "127.0.0.1"},
      {"http://user:pw@127.0.0.1/cb", "userinfo"},
      {"http://127.0.0.1:1@evil.example/cb", "userinfo"},
      {"com.example.app://u@cb/", "userinfo"},
      {"myapp://u@cb/", "userinfo"},
      {"cursor:", "nothing after"},
      {"com.example.app:", "nothing after"},
      {"urn:ietf:wg:oauth:2.0:oob", "followed by '/'"},
      {"example.com:8080/cb", "followed by '/'"},
      {"localhost:3000/cb", "followed by '/'"},
      {"com.example.app:cb", "followed by '/'"},
      {"javascript:alert(1)", "never allowed"},
      {"JavaScript:alert(\"x\")", "never allowed"},
      {"data:text/html,<script>", "never allowed"},
      {"vbscript:msgbox", "never allowed"},
      {"file:///etc/passwd", "never allowed"},
      {"FILE://localhost/etc/passwd", "never allowed"},
      {"about:blank", "never allowed"},
      {"blob:https://c.example/uuid", "never allowed"},
      {"filesystem:https://c.example/temporary/x", "never allowed"},
      {"view-source:https://c.example/", "never allowed"},
      {"ws://127.0.0.1/cb", "never allowed"},
      {"wss://c.example/cb", "never allowed"},
      {"ftp://c.example/cb", "never allowed"},
      {"https://*.example.org/cb", "wildcards"},
      {"https://under_score.example/cb", "DNS name"},
      {"https://a..example/cb", "DNS name"},
      {"https://127.1/cb", "DNS name"},
      {"https://c.example:65536/cb", "above 65535"},
      {"https://c.example:999999/cb", "above 65535"},
      {"https://c.example:/cb", "empty port"},
      {"https:///cb", "empty host"},
      {"https:c.example/cb", "no host"},
      {"https://[v1.x]/cb", "IPvFuture"},
      {"https://c.example/a b", "not allowed in a URI"},
      {"https://c.example/%zz", "two hex digits"},
      {"https://c.example/cb%00", "NUL"},
      {"http://127.0.0.1/cb?x=%00", "NUL"},
      {"myapp://cb/%00", "NUL"},
  };
  for (const auto& [text, reason] : cases) {
    for (const PrivateUseSchemes private_use : {PrivateUseSchemes::kAny, PrivateUseSchemes::kReverseDomainOnly}) {
      const absl::StatusOr<RedirectUriKind> result = ClassifyRedirectUri(text, private_use);
      ASSERT_FALSE(result.ok()) << text;
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(result.status().message()), HasSubstr(reason)) << text;
    }
  }
}

TEST(CheckWebUrlTest, HttpAndHttpsWithAHost) {
  for (const char* text : {"https://c.example/", "http://c.example/tos", "https://c.example/p#section-2",
                           "https://192.0.2.1:8443/logo.png", "HTTP://C.EXAMPLE"}) {
    EXPECT_OK(CheckWebUrl(text)) << text;
  }
  for (const char* text :
       {"ftp://c.example/", "c.example", "/tos", "https://", "https://u@c.example/", "https://*.example/",
        "javascript:alert(1)", "data:image/png;base64,AAAA", "https://c.example:70000/", "https://c.example/%00"}) {
    EXPECT_FALSE(CheckWebUrl(text).ok()) << text;
  }
}

TEST(CheckJwksUriTest, HttpsOrLoopbackHttpWithoutFragment) {
  for (const char* text : {"https://c.example/jwks.json", "http://127.0.0.1:8080/jwks", "http://localhost/jwks"}) {
    EXPECT_OK(CheckJwksUri(text)) << text;
  }
  for (const char* text : {"http://c.example/jwks", "https://c.example/jwks#k", "https://u@c.example/jwks",
                           "ftp://c.example/jwks", "/jwks"}) {
    EXPECT_FALSE(CheckJwksUri(text).ok()) << text;
  }
}

}  // namespace
}  // namespace clientreg::server
