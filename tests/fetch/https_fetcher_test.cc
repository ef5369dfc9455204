#include "fetch/https_fetcher.h"

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/ip_network.h"
#include "common/special_use_address.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"
#include "tests/support/test_files.h"
#include "tests/support/test_https_server.h"
#include "tests/support/test_pki.h"

namespace clientreg::fetch {
namespace {

using ::clientreg::testing::MakeTestDir;
using ::clientreg::testing::TestCertificate;
using ::clientreg::testing::TestHttpResponse;
using ::clientreg::testing::TestHttpsServer;
using ::clientreg::testing::TestPki;

common::IpAddress Ip(const std::string& text) {
  const absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? *address : common::IpAddress{};
}

// Answers each name from a script: the n-th question about a name gets its n-th answer (the last one repeats), so
// a test can play a DNS server whose answer changes. Counts the questions.
class ScriptedResolver : public Resolver {
 public:
  void Answer(const std::string& host, std::vector<std::vector<std::string>> answers) {
    absl::MutexLock lock(&mu_);
    answers_[host] = std::move(answers);
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::StatusOr<std::vector<common::IpAddress>> Resolve(std::string_view host) override {
    absl::MutexLock lock(&mu_);
    const int call = calls_by_host_[std::string(host)]++;
    ++calls_;
    const auto it = answers_.find(std::string(host));
    if (it == answers_.end() || it->second.empty()) return absl::NotFoundError("no such name in the script");
    std::vector<common::IpAddress> addresses;
    for (const std::string& text : it->second[std::min<std::size_t>(call, it->second.size() - 1)]) {
      addresses.push_back(Ip(text));
    }
    return addresses;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<std::vector<std::string>>> answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_by_host_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// Stands in for the public internet, which tests cannot reach: 127.0.0.1 is allowed, every other address refused.
std::optional<std::string> OnlyTestLoopback(const common::IpAddress& address) {
  if (address == Ip("127.0.0.1")) return std::nullopt;
  return "not the test server";
}

TestHttpResponse Json(std::string body, std::string content_type = "application/json") {
  TestHttpResponse response;
  response.headers = {{"Content-Type", std::move(content_type)}};
  response.body = std::move(body);
  return response;
}

class HttpsFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("https_fetcher_test_");
    ASSERT_FALSE(dir_.empty());
    ASSERT_OK_AND_ASSIGN(TestPki pki, TestPki::Create(dir_));
    pki_.emplace(std::move(pki));
    ASSERT_OK_AND_ASSIGN(leaf_, Issue(*pki_, "client.example", "client"));
    ASSERT_OK_AND_ASSIGN(server_, TestHttpsServer::Start({leaf_.chain_file, leaf_.private_key_file}));
    resolver_ = std::make_shared<ScriptedResolver>();
    resolver_->Answer("client.example", {{"127.0.0.1"}});
  }

  static absl::StatusOr<TestCertificate> Issue(const TestPki& pki, const std::string& dns_name,
                                               const std::string& stem) {
    testing::LeafOptions leaf;
    leaf.common_name = dns_name;
    leaf.dns_names = {dns_name};
    leaf.file_stem = stem;
    return pki.Issue(leaf);
  }

  // The positive set-up: trusts the test CA, resolves client.example to 127.0.0.1 and may connect there only.
  FetcherOptions Options() const {
    FetcherOptions options;
    options.connect_timeout = absl::Seconds(1);
    options.total_timeout = absl::Seconds(2);
    options.ca_file = pki_->ca().certificate_file;
    options.user_agent = "clientreg-test";
    options.resolver = resolver_;
    options.address_policy = OnlyTestLoopback;
    return options;
  }

  // Options() with the production address policy.
  FetcherOptions DefaultPolicyOptions() const {
    FetcherOptions options = Options();
    options.address_policy = nullptr;
    return options;
  }

  // A server presenting `leaf` is reached (one connection) but the handshake fails, so no request is sent.
  void ExpectHandshakeRefused(const TestCertificate& leaf) const {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestHttpsServer> server,
                         TestHttpsServer::Start({leaf.chain_file, leaf.private_key_file}));
    const FetchResult result =
        HttpsFetcher(Options()).Fetch("https://client.example:" + std::to_string(server->port()) + "/");
    EXPECT_EQ(result.outcome, FetchOutcome::kTlsFailed) << result.detail;
    EXPECT_EQ(server->connections(), 1);
    EXPECT_EQ(server->requests(), 0);
  }

  std::string Url(const std::string& path = "/", const std::string& host = "client.example") const {
    return "https://" + host + ":" + std::to_string(server_->port()) + path;
  }

  std::string dir_;
  std::optional<TestPki> pki_;
  TestCertificate leaf_;
  std::unique_ptr<TestHttpsServer> server_;
  std::shared_ptr<ScriptedResolver> resolver_;
};

TEST_F(HttpsFetcherTest, FetchesJsonDocumentWithCacheHeadersAndPeer) {
  TestHttpResponse response = Json(R"({"jwks_uri":"x"})");
  response.headers.insert(response.headers.end(), {{"Cache-Control", "max-age=60"},
                                                   {"Cache-Control", "public"},
                                                   {"Expires", "Thu, 01 Jan 2099 00:00:00 GMT"},
                                                   {"Date", "Wed, 01 Jan 2025 00:00:00 GMT"},
                                                   {"Age", "7"}});
  server_->SetResponse(response);

  const FetchResult result = HttpsFetcher(Options()).Fetch(Url("/.well-known/doc?x=1"));

  ASSERT_EQ(result.outcome, FetchOutcome::kOk) << result.detail;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.document.body, R"({"jwks_uri":"x"})");
  EXPECT_EQ(result.document.content_type, "application/json");
  EXPECT_EQ(result.document.cache_control, "max-age=60, public");
  EXPECT_EQ(result.document.expires, "Thu, 01 Jan 2099 00:00:00 GMT");
  EXPECT_EQ(result.document.date, "Wed, 01 Jan 2025 00:00:00 GMT");
  EXPECT_EQ(result.document.age, "7");
  EXPECT_EQ(result.document.peer, Ip("127.0.0.1"));
  EXPECT_GT(result.elapsed, absl::ZeroDuration());
  EXPECT_EQ(resolver_->calls(), 1);

  const std::optional<testing::TestHttpRequest> request = server_->last_request();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->target, "/.well-known/doc?x=1");
  EXPECT_EQ(request->Header("Accept"), "application/json");
  EXPECT_EQ(request->Header("User-Agent"), "clientreg-test");
  EXPECT_EQ(request->Header("Accept-Encoding"), "");
  EXPECT_EQ(request->Header("Host"), "client.example:" + std::to_string(server_->port()));
}

TEST_F(HttpsFetcherTest, AcceptsStructuredJsonTypeWithParameters) {
  server_->SetResponse(Json("{}", "application/vnd.foo+json; charset=utf-8"));
  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());
  ASSERT_EQ(result.outcome, FetchOutcome::kOk) << result.detail;
  EXPECT_EQ(result.document.content_type, "application/vnd.foo+json; charset=utf-8");
}

TEST_F(HttpsFetcherTest, RefusesNonJsonContentType) {
  server_->SetResponse(Json("<html></html>", "text/html"));
  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());
  EXPECT_EQ(result.outcome, FetchOutcome::kNotJson) << result.detail;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_NE(result.detail.find("text/html"), std::string::npos) << result.detail;
  EXPECT_EQ(result.detail.find("<html>"), std::string::npos) << "the body must not reach the detail";
}

TEST_F(HttpsFetcherTest, RefusesAnEncodedBody) {
  // The fetcher asks for no encoding; a gzip body would pass the cap compressed and be no JSON to the caller.
  TestHttpResponse response = Json("{}");
  response.headers.emplace_back("Content-Encoding", "gzip");
  server_->SetResponse(response);
  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());
  EXPECT_EQ(result.outcome, FetchOutcome::kNotJson) << result.detail;
  EXPECT_NE(result.detail.find("gzip"), std::string::npos) << result.detail;
}

TEST_F(HttpsFetcherTest, ReportsStatusOtherThan200) {
  const HttpsFetcher fetcher(Options());
  for (const int status : {404, 500}) {
    TestHttpResponse response = Json(R"({"error":"x"})");
    response.status = status;
    server_->SetResponse(response);
    const FetchResult result = fetcher.Fetch(Url());
    EXPECT_EQ(result.outcome, FetchOutcome::kHttpStatus) << result.detail;
    EXPECT_EQ(result.http_status, status);
    EXPECT_NE(result.detail.find(std::to_string(status)), std::string::npos) << result.detail;
  }
}

TEST_F(HttpsFetcherTest, NeverFollowsRedirects) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestHttpsServer> target,
                       TestHttpsServer::Start({leaf_.chain_file, leaf_.private_key_file}));
  const std::string location = "https://client.example:" + std::to_string(target->port()) + "/moved";
  const HttpsFetcher fetcher(Options());
  int requests = 0;
  for (const int status : {301, 302}) {
    TestHttpResponse response = Json("{}");
    response.status = status;
    response.headers.emplace_back("Location", location);
    server_->SetResponse(response);
    const FetchResult result = fetcher.Fetch(Url());
    EXPECT_EQ(result.outcome, FetchOutcome::kRedirect) << result.detail;
    EXPECT_EQ(result.http_status, status);
    EXPECT_NE(result.detail.find(std::to_string(status)), std::string::npos) << result.detail;
    EXPECT_EQ(result.detail.find("moved"), std::string::npos) << result.detail;
    EXPECT_EQ(server_->requests(), ++requests);
  }
  EXPECT_EQ(target->connections(), 0);
}

TEST_F(HttpsFetcherTest, RefusesContentLengthOverCapWithoutReadingTheBody) {
  // The announced length is never sent: a fetcher that waited for the body would time out instead.
  TestHttpResponse response = Json("{}");
  response.headers.emplace_back("Content-Length", "100000");
  server_->SetResponse(response);
  FetcherOptions options = Options();
  options.max_body_bytes = 1024;

  const FetchResult result = HttpsFetcher(options).Fetch(Url());

  EXPECT_EQ(result.outcome, FetchOutcome::kTooLarge) << result.detail;
  EXPECT_NE(result.detail.find("Content-Length 100000"), std::string::npos) << result.detail;
  EXPECT_LT(result.elapsed, absl::Seconds(1));
}

TEST_F(HttpsFetcherTest, StopsReadingChunkedBodyOverCap) {
  TestHttpResponse response = Json(std::string(8 << 20, ' '));
  response.chunked = true;
  response.trickle_bytes = 16 * 1024;
  response.trickle_interval = absl::Milliseconds(1);
  server_->SetResponse(response);
  FetcherOptions options = Options();
  options.max_body_bytes = 5 * 1024;

  const FetchResult result = HttpsFetcher(options).Fetch(Url());

  EXPECT_EQ(result.outcome, FetchOutcome::kTooLarge) << result.detail;
  EXPECT_LT(result.elapsed, absl::Seconds(1));
  ASSERT_TRUE(server_->WaitUntilIdle(absl::Seconds(5)));
  EXPECT_GT(server_->body_bytes_sent(), 0u);
  EXPECT_LT(server_->body_bytes_sent(), response.body.size() / 4) << "the client kept reading";
}

TEST_F(HttpsFetcherTest, CapsTheResponseHead) {
  TestHttpResponse response = Json("{}");
  for (int i = 0; i < 40; ++i) response.headers.emplace_back("X-Padding-" + std::to_string(i), std::string(500, 'a'));
  server_->SetResponse(response);
  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());
  EXPECT_EQ(result.outcome, FetchOutcome::kTooLarge) << result.detail;
  EXPECT_NE(result.detail.find("head"), std::string::npos) << result.detail;
}

TEST_F(HttpsFetcherTest, TimesOutOnSlowHead) {
  TestHttpResponse response = Json("{}");
  response.delay_before_head = absl::Seconds(10);
  server_->SetResponse(response);

  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());

  EXPECT_EQ(result.outcome, FetchOutcome::kTimeout) << result.detail;
  EXPECT_GE(result.elapsed, absl::Milliseconds(1900));
  EXPECT_LT(result.elapsed, absl::Seconds(3));
}

TEST_F(HttpsFetcherTest, TimesOutOnTrickledBody) {
  TestHttpResponse response = Json(std::string(1000, ' '));
  response.trickle_bytes = 10;
  response.trickle_interval = absl::Milliseconds(100);
  server_->SetResponse(response);

  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());

  EXPECT_EQ(result.outcome, FetchOutcome::kTimeout) << result.detail;
  EXPECT_GE(result.elapsed, absl::Milliseconds(1900));
  EXPECT_LT(result.elapsed, absl::Seconds(3));
  EXPECT_GT(server_->body_bytes_sent(), 0u);
}

TEST_F(HttpsFetcherTest, ReportsConnectionClosedWithoutAnswer) {
  TestHttpResponse response;
  response.close_without_answer = true;
  server_->SetResponse(response);
  const FetchResult result = HttpsFetcher(Options()).Fetch(Url());
  EXPECT_EQ(result.outcome, FetchOutcome::kNetworkError) << result.detail;
  EXPECT_EQ(server_->requests(), 1);
}

TEST_F(HttpsFetcherTest, RefusesCertificateFromAnotherCa) {
  const std::string other_dir = MakeTestDir("https_fetcher_other_ca_");
  ASSERT_FALSE(other_dir.empty());
  ASSERT_OK_AND_ASSIGN(TestPki other, TestPki::Create(other_dir, "another CA"));
  ASSERT_OK_AND_ASSIGN(TestCertificate leaf, Issue(other, "client.example", "client"));
  ExpectHandshakeRefused(leaf);
}

TEST_F(HttpsFetcherTest, RefusesCertificateForAnotherName) {
  ASSERT_OK_AND_ASSIGN(TestCertificate leaf, Issue(*pki_, "other.example", "other"));
  ExpectHandshakeRefused(leaf);
}

TEST_F(HttpsFetcherTest, UnreadableCaFileFailsEveryFetch) {
  FetcherOptions options = Options();
  options.ca_file = dir_ + "/missing.pem";
  const FetchResult result = HttpsFetcher(options).Fetch(Url());
  EXPECT_EQ(result.outcome, FetchOutcome::kTlsFailed) << result.detail;
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(HttpsFetcherTest, RefusesInvalidUrls) {
  const HttpsFetcher fetcher(Options());
  const std::string port = std::to_string(server_->port());
  for (const std::string& url : std::vector<std::string>{
           "http://127.0.0.1:" + port + "/",  // http without allow_loopback_http
           "https://user:secret@client.example:" + port + "/",
           "https://user@client.example:" + port + "/",
           "ftp://client.example/",
           "client.example/x",
           "https:///x",
           "https:/client.example/",
           "https:client.example/",
           "https://[::1%25eth0]:" + port + "/",
           std::string(""),
       }) {
    const FetchResult result = fetcher.Fetch(url);
    EXPECT_EQ(result.outcome, FetchOutcome::kInvalidUrl) << url << ": " << result.detail;
  }
  EXPECT_EQ(resolver_->calls(), 0);
  EXPECT_EQ(server_->connections(), 0);
  // The same server answers a valid URL: the refusals above were the fetcher's, not an unreachable server.
  EXPECT_EQ(fetcher.Fetch(Url()).outcome, FetchOutcome::kOk);
}

class LoopbackHttpTest : public HttpsFetcherTest {
 protected:
  void SetUp() override {
    HttpsFetcherTest::SetUp();
    ASSERT_OK_AND_ASSIGN(plain_, TestHttpsServer::Start());
  }

  // The production policy and resolver: loopback http must work without either being loosened.
  FetcherOptions LoopbackOptions() const {
    FetcherOptions options = Options();
    options.allow_loopback_http = true;
    options.resolver = nullptr;
    options.address_policy = nullptr;
    return options;
  }

  std::unique_ptr<TestHttpsServer> plain_;
};

TEST_F(LoopbackHttpTest, FetchesFrom127001) {
  const FetchResult result =
      HttpsFetcher(LoopbackOptions()).Fetch("http://127.0.0.1:" + std::to_string(plain_->port()) + "/doc");
  ASSERT_EQ(result.outcome, FetchOutcome::kOk) << result.detail;
  EXPECT_EQ(result.document.body, "{}");
  EXPECT_EQ(result.document.peer, Ip("127.0.0.1"));
  EXPECT_EQ(plain_->requests(), 1);
}

TEST_F(LoopbackHttpTest, FetchesFromLocalhostThroughTheSystemResolver) {
  const FetchResult result =
      HttpsFetcher(LoopbackOptions()).Fetch("http://localhost:" + std::to_string(plain_->port()) + "/x");
  ASSERT_EQ(result.outcome, FetchOutcome::kOk) << result.detail;
  EXPECT_EQ(plain_->last_request()->target, "/x");
}

TEST_F(LoopbackHttpTest, RefusesEveryOtherHttpUrl) {
  const HttpsFetcher fetcher(LoopbackOptions());
  for (const std::string& url :
       std::vector<std::string>{"http://example.com:80/", "http://127.0.0.1/", "http://localhost/",
                                "http://127.0.0.2:" + std::to_string(plain_->port()) + "/",
                                "http://[::1]:" + std::to_string(plain_->port()) + "/"}) {
    const FetchResult result = fetcher.Fetch(url);
    EXPECT_EQ(result.outcome, FetchOutcome::kInvalidUrl) << url << ": " << result.detail;
  }
  EXPECT_EQ(plain_->connections(), 0);
}

TEST_F(LoopbackHttpTest, HttpGoesToLoopbackOnlyWhateverThePolicySays) {
  auto resolver = std::make_shared<ScriptedResolver>();
  resolver->Answer("localhost", {{"10.0.0.1"}});
  FetcherOptions options = LoopbackOptions();
  options.resolver = resolver;
  options.address_policy = [](const common::IpAddress&) { return std::nullopt; };

  const FetchResult result = HttpsFetcher(options).Fetch("http://localhost:" + std::to_string(plain_->port()) + "/");

  EXPECT_EQ(result.outcome, FetchOutcome::kForbiddenAddress) << result.detail;
  EXPECT_EQ(resolver->calls(), 1);
}

// SSRF: with the production policy, a name that resolves to any special-use address is refused before any connection.
TEST_F(HttpsFetcherTest, RefusesNamesResolvingToSpecialUseAddresses) {
  const struct {
    std::vector<std::string> addresses;
    std::string block;
  } cases[] = {
      {{"127.0.0.1"}, "loopback"},        {{"10.0.0.1"}, "private"},     {{"169.254.169.254"}, "link-local"},
      {{"::ffff:127.0.0.1"}, "loopback"}, {{"fd00::1"}, "unique local"}, {{"8.8.8.8", "127.0.0.1"}, "loopback"},
  };
  const HttpsFetcher fetcher(DefaultPolicyOptions());
  int calls = 0;
  for (const auto& c : cases) {
    resolver_->Answer("client.example", {c.addresses});
    const FetchResult result = fetcher.Fetch(Url());
    EXPECT_EQ(result.outcome, FetchOutcome::kForbiddenAddress) << c.block << ": " << result.detail;
    EXPECT_NE(result.detail.find(c.block), std::string::npos) << result.detail;
    EXPECT_EQ(resolver_->calls(), ++calls);
  }
  EXPECT_EQ(server_->connections(), 0);

  // The server was there to be reached: the test policy, which admits 127.0.0.1, gets through to it.
  resolver_->Answer("client.example", {{"127.0.0.1"}});
  EXPECT_EQ(HttpsFetcher(Options()).Fetch(Url()).outcome, FetchOutcome::kOk);
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(HttpsFetcherTest, RefusesSpecialUseIpLiterals) {
  const HttpsFetcher fetcher(DefaultPolicyOptions());
  const std::string port = std::to_string(server_->port());
  for (const std::string& url :
       {"https://127.0.0.1:" + port + "/", "https://[::1]:" + port + "/", std::string("https://169.254.169.254/")}) {
    const FetchResult result = fetcher.Fetch(url);
    EXPECT_EQ(result.outcome, FetchOutcome::kForbiddenAddress) << url << ": " << result.detail;
  }
  EXPECT_EQ(resolver_->calls(), 0);
  EXPECT_EQ(server_->connections(), 0);
}

// DNS rebinding: the name is resolved once per fetch, so an answer that turns private is seen and refused. The test
// policy lets 127.0.0.1 stand for the public address (tests cannot reach the internet); every other address gets the
// production policy.
TEST_F(HttpsFetcherTest, ResolvesOncePerFetchSoARebindingAnswerIsRefused) {
  resolver_->Answer("client.example", {{"127.0.0.1"}, {"10.0.0.1"}});
  FetcherOptions options = Options();
  options.address_policy = [](const common::IpAddress& address) -> std::optional<std::string> {
    if (address == Ip("127.0.0.1")) return std::nullopt;
    const std::optional<std::string_view> reason = common::SpecialUseReason(address);
    return reason ? std::optional<std::string>(*reason) : std::nullopt;
  };
  const HttpsFetcher fetcher(options);

  const FetchResult first = fetcher.Fetch(Url());
  EXPECT_EQ(first.outcome, FetchOutcome::kOk) << first.detail;
  EXPECT_EQ(resolver_->calls(), 1);

  const FetchResult second = fetcher.Fetch(Url());
  EXPECT_EQ(second.outcome, FetchOutcome::kForbiddenAddress) << second.detail;
  EXPECT_NE(second.detail.find("private"), std::string::npos) << second.detail;
  EXPECT_EQ(resolver_->calls(), 2);
  EXPECT_EQ(server_->connections(), 1);
}

// The check when the socket opens is a second, independent look: a policy that changes its mind between resolution
// and connect (as a rebinding race would look from inside) stops the connection.
TEST_F(HttpsFetcherTest, ChecksTheAddressAgainWhenTheSocketOpens) {
  auto policy_calls = std::make_shared<std::atomic<int>>(0);
  FetcherOptions options = Options();
  options.address_policy = [policy_calls](const common::IpAddress&) -> std::optional<std::string> {
    if (++*policy_calls == 1) return std::nullopt;
    return "refused on the second look";
  };

  const FetchResult result = HttpsFetcher(options).Fetch(Url());

  EXPECT_EQ(result.outcome, FetchOutcome::kForbiddenAddress) << result.detail;
  EXPECT_NE(result.detail.find("refused on the second look"), std::string::npos) << result.detail;
  EXPECT_EQ(*policy_calls, 2);
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(HttpsFetcherTest, OneFetcherServesConcurrentFetches) {
  const HttpsFetcher fetcher(Options());
  std::atomic<int> fetched{0};
  testing::RunConcurrently(8, [&](int i) {
    const FetchResult result = fetcher.Fetch(Url("/" + std::to_string(i)));
    EXPECT_EQ(result.outcome, FetchOutcome::kOk) << result.detail;
    if (result.outcome == FetchOutcome::kOk) ++fetched;
  });
  EXPECT_EQ(fetched, 8);
  EXPECT_EQ(server_->requests(), 8);
  EXPECT_EQ(resolver_->calls(), 8);
}

TEST_F(HttpsFetcherTest, ReportsNamesThatDoNotResolve) {
  const FetchResult result = HttpsFetcher(Options()).Fetch("https://unknown.example/");
  EXPECT_EQ(result.outcome, FetchOutcome::kResolveFailed) << result.detail;
}

TEST(SystemResolverTest, ResolvesLocalhostToLoopback) {
  const absl::StatusOr<std::vector<common::IpAddress>> addresses = SystemResolver()->Resolve("localhost");
  ASSERT_OK(addresses);
  ASSERT_FALSE(addresses->empty());
  for (const common::IpAddress& address : *addresses) {
    EXPECT_TRUE(address == Ip("127.0.0.1") || address == Ip("::1")) << address.ToString();
  }
}

TEST(FetchOutcomeNameTest, NamesAreStableMetricLabels) {
  EXPECT_EQ(FetchOutcomeName(FetchOutcome::kOk), "ok");
  EXPECT_EQ(FetchOutcomeName(FetchOutcome::kForbiddenAddress), "forbidden_address");
  EXPECT_EQ(FetchOutcomeName(FetchOutcome::kTooLarge), "too_large");
  EXPECT_EQ(FetchOutcomeName(FetchOutcome::kNetworkError), "network_error");
}

}  // namespace
}  // namespace clientreg::fetch
