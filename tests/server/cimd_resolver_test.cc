// CimdResolver against a real HTTPS server on loopback (tests/server/cimd_site.h) with a CA the test makes, a fake
// clock and real metrics (issue 13).
#include "server/cimd_resolver.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/registration_policy.h"
#include "server/server_config.h"
#include "tests/server/cimd_site.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::CimdDocument;
using ::clientreg::testing::JsonResponse;
using ::clientreg::testing::kOtherCimdHost;
using ::clientreg::testing::kValidCimdMembers;
using ::clientreg::testing::TestHttpResponse;
using ::clientreg::v1::ResolvedClient;
using ::clientreg::v1::StoredClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'700'000'000;

// One Resolve's answer, shared with the callback so that an answer arriving after the test gave up is harmless.
struct Answer {
  absl::Notification done;
  absl::StatusOr<ResolvedClient> result = absl::UnknownError("no answer yet");
  std::atomic<int> calls{0};
};

class CimdResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(site_.Start("cimd_resolver_test_"));
    config_ = DefaultServerConfig().cimd();
    config_.set_enabled(true);
    config_.set_connect_timeout_ms(1000);
    config_.set_fetch_timeout_ms(2000);
  }

  // A resolver from config_ reaching the site; with the production address policy if `default_address_policy`.
  void StartResolver(bool default_address_policy = false) {
    resolver_.reset();
    fetch::FetcherOptions options = site_.FetcherOptions(config_);
    if (default_address_policy) options.address_policy = nullptr;
    ASSERT_OK_AND_ASSIGN(resolver_, CimdResolver::Create(config_, std::move(options), &validator_, &clock_, &metrics_));
  }

  std::shared_ptr<Answer> ResolveAsync(const std::string& url) {
    auto answer = std::make_shared<Answer>();
    resolver_->Resolve(url, [answer](absl::StatusOr<ResolvedClient> result) {
      if (++answer->calls > 1) {
        ADD_FAILURE() << "answered twice";
        return;
      }
      answer->result = std::move(result);
      answer->done.Notify();
    });
    return answer;
  }

  static absl::StatusOr<ResolvedClient> Wait(const Answer& answer, absl::Duration timeout = absl::Seconds(5)) {
    if (!answer.done.WaitForNotificationWithTimeout(timeout)) return absl::DeadlineExceededError("test: no answer");
    return answer.result;
  }

  absl::StatusOr<ResolvedClient> ResolveAndWait(const std::string& url) { return Wait(*ResolveAsync(url)); }

  // Expects `answer` to be `code` with a message containing `why`.
  static void ExpectRefused(const absl::StatusOr<ResolvedClient>& answer, absl::StatusCode code,
                            const std::string& why) {
    ASSERT_FALSE(answer.ok()) << answer->client_id();
    EXPECT_EQ(answer.status().code(), code) << answer.status();
    EXPECT_THAT(std::string(answer.status().message()), HasSubstr(why));
  }

  // The value of the sample `series` (name and labels as exposed), "0" if absent.
  std::string Sample(const std::string& series) const {
    for (const absl::string_view line : absl::StrSplit(registry_.Encode(), '\n')) {
      if (absl::StartsWith(line, absl::StrCat(series, " "))) return std::string(line.substr(series.size() + 1));
    }
    return "0";
  }
  std::string Fetches(const std::string& outcome) const {
    return Sample(absl::StrCat("clientreg_cimd_fetches_total{outcome=\"", outcome, "\"}"));
  }
  std::string Refusals(const std::string& reason) const {
    return Sample(absl::StrCat("clientreg_cimd_refusals_total{reason=\"", reason, "\"}"));
  }

  testing::CimdSite site_;
  clientreg::config::v1::CimdConfig config_;
  common::FakeClock clock_{kNow};
  common::MetricsRegistry registry_;
  CimdResolver::Metrics metrics_{registry_};
  const MetadataValidator validator_{common::DefaultMetadataLimits(), DefaultRegistrationPolicy()};
  // Last: stopped before anything it uses goes.
  std::unique_ptr<CimdResolver> resolver_;
};

TEST_F(CimdResolverTest, ResolvesAValidDocument) {
  site_.ServeValidDocuments({{"Cache-Control", "max-age=600"}});
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  EXPECT_TRUE(resolver_->Handles(url));

  ASSERT_OK_AND_ASSIGN(const ResolvedClient client, ResolveAndWait(url));

  EXPECT_EQ(client.client_id(), url);
  EXPECT_EQ(client.origin(), StoredClient::ORIGIN_METADATA_DOCUMENT);
  EXPECT_EQ(client.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(client.metadata().client_name(), "Example Agent");
  EXPECT_THAT(client.metadata().redirect_uris().values(), ElementsAre("http://127.0.0.1:3000/cb"));
  EXPECT_EQ(client.metadata().token_endpoint_auth_method(), "none");
  EXPECT_EQ(client.metadata().application_type(), "native");
  EXPECT_THAT(client.redirect_hosts(), ElementsAre("127.0.0.1"));
  EXPECT_TRUE(client.loopback_redirects_only());
  EXPECT_FALSE(client.has_client_secret());
  EXPECT_EQ(client.metadata_fetched_at(), kNow);
  EXPECT_EQ(client.metadata_expires_at(), kNow + 600);

  const std::optional<testing::TestHttpRequest> request = site_.server().last_request();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->target, "/meta.json");
  EXPECT_EQ(request->Header("Accept"), "application/json");
  EXPECT_EQ(site_.server().requests(), 1);
  EXPECT_EQ(Fetches("ok"), "1");
  EXPECT_EQ(Sample("clientreg_cimd_cache_misses_total"), "1");
  EXPECT_EQ(Sample("clientreg_cimd_fetch_duration_seconds_count"), "1");
  EXPECT_EQ(resolver_->cached_entries(), 1u);
}

TEST_F(CimdResolverTest, InvalidDocumentsAreNotFoundWithoutTheirContent) {
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  struct Case {
    std::string members;
    std::string why;
    bool own_client_id = true;
  };
  const std::string good = kValidCimdMembers;
  const std::vector<Case> cases = {
      {good, "client_id that differs from its URL", false},
      {R"("redirect_uris":["http://127.0.0.1:3000/cb"],)", "has no client_name"},
      {R"("client_name":"evil agent",)", "has no redirect_uris"},
      {good + R"("token_endpoint_auth_method":"client_secret_basic",)", "shared-secret token_endpoint_auth_method"},
      {good + R"("client_secret":"evil-secret",)", "must not have client_secret"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string url = site_.Url(absl::StrCat("/doc", i, ".json"));
    SCOPED_TRACE(c.why);
    site_.server().SetResponse(
        JsonResponse(CimdDocument(c.own_client_id ? url : "https://evil.example/meta.json", c.members)));
    const absl::StatusOr<ResolvedClient> answer = ResolveAndWait(url);
    ASSERT_NO_FATAL_FAILURE(ExpectRefused(answer, absl::StatusCode::kNotFound, c.why));
    EXPECT_THAT(std::string(answer.status().message()), Not(HasSubstr("evil")));
  }
  EXPECT_EQ(site_.server().requests(), static_cast<int>(cases.size()));
  EXPECT_EQ(Fetches("invalid_document"), std::to_string(cases.size()));
  EXPECT_EQ(resolver_->cached_entries(), 0u);
}

TEST_F(CimdResolverTest, FailedFetchesAreNotFoundNamingTheOutcome) {
  config_.set_max_document_bytes(1024);
  config_.set_fetch_timeout_ms(1000);
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  struct Case {
    std::string name;
    TestHttpResponse response;
    std::string outcome;
  };
  std::vector<Case> cases;
  TestHttpResponse big = JsonResponse(
      CimdDocument(site_.Url("/big.json"), absl::StrCat(R"("client_name":")", std::string(2000, 'x'), R"(",)")));
  cases.push_back({"big", big, "too_large"});
  TestHttpResponse slow = JsonResponse(CimdDocument(site_.Url("/slow.json")));
  slow.delay_before_head = absl::Seconds(3);
  cases.push_back({"slow", slow, "timeout"});
  TestHttpResponse redirect = JsonResponse("{}", {{"Location", site_.Url("/elsewhere.json")}});
  redirect.status = 302;
  cases.push_back({"redirect", redirect, "redirect"});
  for (const int status : {404, 500}) {
    TestHttpResponse error = JsonResponse(R"({"error":"evil"})");
    error.status = status;
    cases.push_back({absl::StrCat("status", status), error, "http_status"});
  }
  TestHttpResponse html = JsonResponse("<html>evil</html>");
  html.headers = {{"Content-Type", "text/html"}};
  cases.push_back({"html", html, "not_json"});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    site_.server().SetResponse(c.response);
    const absl::Time start = absl::Now();
    const absl::StatusOr<ResolvedClient> answer = ResolveAndWait(site_.Url(absl::StrCat("/", c.name, ".json")));
    ASSERT_NO_FATAL_FAILURE(
        ExpectRefused(answer, absl::StatusCode::kNotFound, absl::StrCat("could not be fetched (", c.outcome, ")")));
    EXPECT_THAT(std::string(answer.status().message()), Not(HasSubstr("evil")));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(2500)) << "the fetch timeout is 1 s";
  }
  EXPECT_EQ(site_.server().requests(), static_cast<int>(cases.size()));
  for (const char* outcome : {"too_large", "timeout", "redirect", "not_json"}) EXPECT_EQ(Fetches(outcome), "1");
  EXPECT_EQ(Fetches("http_status"), "2");
  EXPECT_EQ(Fetches("ok"), "0");
  EXPECT_EQ(resolver_->cached_entries(), 0u);
}

TEST_F(CimdResolverTest, CachedUntilTheDocumentExpires) {
  site_.ServeValidDocuments({{"Cache-Control", "max-age=600"}});
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  ASSERT_OK(ResolveAndWait(url));

  clock_.Advance(599);
  ASSERT_OK_AND_ASSIGN(const ResolvedClient cached, ResolveAndWait(url));
  EXPECT_EQ(cached.metadata_fetched_at(), kNow);
  EXPECT_EQ(site_.server().requests(), 1);
  EXPECT_EQ(Sample("clientreg_cimd_cache_hits_total"), "1");

  clock_.Advance(1);
  ASSERT_OK_AND_ASSIGN(const ResolvedClient refetched, ResolveAndWait(url));
  EXPECT_EQ(site_.server().requests(), 2);
  EXPECT_EQ(refetched.metadata_fetched_at(), kNow + 600);
  EXPECT_EQ(refetched.metadata_expires_at(), kNow + 1200);
  EXPECT_EQ(Sample("clientreg_cimd_cache_hits_total"), "1");
  EXPECT_EQ(Sample("clientreg_cimd_cache_misses_total"), "2");
  EXPECT_EQ(Fetches("ok"), "2");
}

TEST_F(CimdResolverTest, LifetimeComesFromTheHeadersClampedToTheConfig) {
  ASSERT_EQ(config_.cache_min_lifetime_seconds(), 300u);
  ASSERT_EQ(config_.cache_max_lifetime_seconds(), 86400u);
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  struct Case {
    std::string name;
    testing::HttpFields headers;
    int64_t lifetime;
  };
  const std::vector<Case> cases = {
      {"max-age", {{"Cache-Control", "max-age=600"}}, 600},
      {"short", {{"Cache-Control", "max-age=10"}}, 300},
      {"long", {{"Cache-Control", "max-age=999999"}}, 86400},
      {"no-store", {{"Cache-Control", "no-store"}}, 300},
      {"none", {}, 300},
      {"expires", {{"Date", "Wed, 01 Jan 2025 00:00:00 GMT"}, {"Expires", "Wed, 01 Jan 2025 02:00:00 GMT"}}, 7200},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    site_.ServeValidDocuments(c.headers);
    ASSERT_OK_AND_ASSIGN(const ResolvedClient client, ResolveAndWait(site_.Url(absl::StrCat("/", c.name, ".json"))));
    EXPECT_EQ(client.metadata_fetched_at(), kNow);
    EXPECT_EQ(client.metadata_expires_at(), kNow + c.lifetime);
  }
}

TEST_F(CimdResolverTest, FailuresAreBackedOffNotCached) {
  ASSERT_EQ(config_.failure_backoff_seconds(), 30u);
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  const absl::StatusOr<ResolvedClient> first = ResolveAndWait(url);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(first, absl::StatusCode::kNotFound, "(http_status)"));

  site_.ServeValidDocuments();
  clock_.Advance(29);
  const absl::StatusOr<ResolvedClient> again = ResolveAndWait(url);
  EXPECT_EQ(again.status(), first.status());
  EXPECT_EQ(site_.server().requests(), 1);
  EXPECT_EQ(Refusals("backoff"), "1");
  EXPECT_EQ(resolver_->cached_entries(), 0u);

  clock_.Advance(1);
  ASSERT_OK_AND_ASSIGN(const ResolvedClient client, ResolveAndWait(url));
  EXPECT_EQ(client.client_id(), url);
  EXPECT_EQ(site_.server().requests(), 2);
  EXPECT_EQ(Fetches("http_status"), "1");
  EXPECT_EQ(Fetches("ok"), "1");
}

TEST_F(CimdResolverTest, ConcurrentCallersShareOneFetch) {
  site_.ServeValidDocuments({}, absl::Milliseconds(500));
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  constexpr int kCallers = 20;
  std::vector<std::shared_ptr<Answer>> answers(kCallers);
  testing::RunConcurrently(kCallers, [&](int i) { answers[i] = ResolveAsync(url); });
  for (const std::shared_ptr<Answer>& answer : answers) {
    ASSERT_OK_AND_ASSIGN(const ResolvedClient client, Wait(*answer));
    EXPECT_EQ(client.client_id(), url);
    EXPECT_EQ(client.metadata_fetched_at(), kNow);
  }
  EXPECT_EQ(site_.server().requests(), 1);
  EXPECT_EQ(Fetches("ok"), "1");
  EXPECT_EQ(Sample("clientreg_cimd_cache_misses_total"), std::to_string(kCallers));
}

TEST_F(CimdResolverTest, ConcurrentCallersOfAFailingUrlShareOneFetch) {
  // Callers keep coming while the fetch fails: those queued on the resolver's lock when the failure is recorded must
  // find it, not start a second fetch.
  TestHttpResponse missing = JsonResponse("{}");
  missing.status = 404;
  missing.delay_before_head = absl::Milliseconds(200);
  site_.server().SetResponse(missing);
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  struct Counts {
    std::atomic<int> asked{0};
    std::atomic<int> answered{0};
    std::atomic<int> not_found{0};
  };
  auto counts = std::make_shared<Counts>();
  const absl::Time until = absl::Now() + absl::Milliseconds(400);
  testing::RunConcurrently(8, [&](int) {
    while (absl::Now() < until) {
      ++counts->asked;
      resolver_->Resolve(url, [counts](absl::StatusOr<ResolvedClient> answer) {
        if (absl::IsNotFound(answer.status())) ++counts->not_found;
        ++counts->answered;
      });
    }
  });
  for (int i = 0; i < 300 && counts->answered < counts->asked; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(counts->answered, counts->asked);
  EXPECT_EQ(counts->not_found, counts->asked);
  EXPECT_EQ(site_.server().requests(), 1);
  EXPECT_EQ(Fetches("http_status"), "1");
}

TEST_F(CimdResolverTest, FetchesPerHostAreLimited) {
  config_.set_max_fetches_per_host(1);
  site_.ServeValidDocuments({}, absl::Milliseconds(500));
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::shared_ptr<Answer> first = ResolveAsync(site_.Url("/a.json"));
  const std::shared_ptr<Answer> busy = ResolveAsync(site_.Url("/b.json"));
  EXPECT_TRUE(busy->done.HasBeenNotified()) << "refused on the caller's thread";
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(Wait(*busy), absl::StatusCode::kUnavailable, "to this host"));
  const std::shared_ptr<Answer> other = ResolveAsync(site_.Url("/c.json", kOtherCimdHost));

  ASSERT_OK(Wait(*first));
  ASSERT_OK_AND_ASSIGN(const ResolvedClient other_client, Wait(*other));
  EXPECT_EQ(other_client.client_id(), site_.Url("/c.json", kOtherCimdHost));
  EXPECT_EQ(site_.server().requests(), 2);
  EXPECT_EQ(Refusals("host_busy"), "1");
  // Not backed off: once the host is free, the refused URL resolves.
  ASSERT_OK(ResolveAndWait(site_.Url("/b.json")));
  EXPECT_EQ(site_.server().requests(), 3);
}

TEST_F(CimdResolverTest, FetchRateIsLimited) {
  config_.mutable_fetch_rate()->set_burst(2);
  config_.mutable_fetch_rate()->set_refill_per_minute(1);
  site_.ServeValidDocuments();
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  ASSERT_OK(ResolveAndWait(site_.Url("/1.json")));
  ASSERT_OK(ResolveAndWait(site_.Url("/2.json")));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRefused(ResolveAndWait(site_.Url("/3.json")), absl::StatusCode::kUnavailable, "rate is exhausted"));
  EXPECT_EQ(site_.server().requests(), 2);
  EXPECT_EQ(Refusals("rate_limited"), "1");
  ASSERT_OK(ResolveAndWait(site_.Url("/1.json"))) << "a cached document needs no token";

  clock_.Advance(60);
  ASSERT_OK(ResolveAndWait(site_.Url("/3.json")));
  EXPECT_EQ(site_.server().requests(), 3);
}

TEST_F(CimdResolverTest, HostPolicyRefusesBeforeConnecting) {
  site_.ServeValidDocuments();
  config_.add_denied_hosts("client.example");
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  ASSERT_NO_FATAL_FAILURE(
      ExpectRefused(ResolveAndWait(site_.Url("/meta.json")), absl::StatusCode::kNotFound, "denied"));
  EXPECT_EQ(site_.server().connections(), 0);
  ASSERT_OK(ResolveAndWait(site_.Url("/meta.json", kOtherCimdHost)));
  EXPECT_EQ(site_.server().connections(), 1);

  config_.clear_denied_hosts();
  config_.add_allowed_hosts("*.allowed.example");
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  ASSERT_NO_FATAL_FAILURE(
      ExpectRefused(ResolveAndWait(site_.Url("/meta.json")), absl::StatusCode::kNotFound, "not in"));
  EXPECT_EQ(site_.server().connections(), 1);
  EXPECT_EQ(Refusals("host_policy"), "2");
}

TEST_F(CimdResolverTest, InvalidUrlsAreNotFoundWithoutConnecting) {
  site_.ServeValidDocuments();
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::string url = site_.Url("/meta.json");
  for (const std::string& bad :
       {url + "#frag", url + "?a=1", absl::StrCat("http://client.example:", site_.server().port(), "/meta.json")}) {
    SCOPED_TRACE(bad);
    const absl::StatusOr<ResolvedClient> answer = ResolveAndWait(bad);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kNotFound) << answer.status();
  }
  EXPECT_EQ(Refusals("invalid_url"), "3");
  EXPECT_EQ(site_.server().connections(), 0);
  ASSERT_OK(ResolveAndWait(url));
  EXPECT_EQ(site_.server().connections(), 1);
}

TEST_F(CimdResolverTest, StopAnswersQueuedCallersAndLaterOnes) {
  config_.set_max_concurrent_fetches(1);
  config_.set_max_fetches_per_host(8);
  site_.ServeValidDocuments({}, absl::Milliseconds(800));
  ASSERT_NO_FATAL_FAILURE(StartResolver());
  const std::shared_ptr<Answer> running = ResolveAsync(site_.Url("/0.json"));
  for (int i = 0; i < 200 && site_.server().connections() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(site_.server().connections(), 1) << "the first fetch is under way";
  std::vector<std::shared_ptr<Answer>> queued;
  for (int i = 1; i <= 3; ++i) queued.push_back(ResolveAsync(site_.Url(absl::StrCat("/", i, ".json"))));

  std::thread stopper([this] { resolver_->Stop(); });
  for (const std::shared_ptr<Answer>& answer : queued) {
    ASSERT_NO_FATAL_FAILURE(
        ExpectRefused(Wait(*answer, absl::Milliseconds(300)), absl::StatusCode::kUnavailable, "shutting down"));
  }
  EXPECT_FALSE(running->done.HasBeenNotified()) << "queued callers are answered before the running fetch ends";
  stopper.join();
  ASSERT_OK(Wait(*running)) << "the fetch under way finishes";

  ASSERT_NO_FATAL_FAILURE(
      ExpectRefused(ResolveAndWait(site_.Url("/4.json")), absl::StatusCode::kUnavailable, "shutting down"));
  EXPECT_EQ(Refusals("shutting_down"), "1");
  ASSERT_OK(ResolveAndWait(site_.Url("/0.json"))) << "cached documents still answer";
  EXPECT_EQ(site_.server().requests(), 1);
  resolver_->Stop();
}

TEST_F(CimdResolverTest, DefaultAddressPolicyRefusesLoopback) {
  site_.ServeValidDocuments();
  ASSERT_NO_FATAL_FAILURE(StartResolver(/*default_address_policy=*/true));
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(ResolveAndWait(site_.Url("/meta.json")), absl::StatusCode::kNotFound,
                                        "could not be fetched (forbidden_address)"));
  EXPECT_GE(site_.names().calls(), 1) << "the name was resolved, and its address refused";
  EXPECT_EQ(site_.server().connections(), 0);
  EXPECT_EQ(Fetches("forbidden_address"), "1");
}

}  // namespace
}  // namespace clientreg::server
