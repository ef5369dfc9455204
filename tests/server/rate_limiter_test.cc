#include "server/rate_limiter.h"

#include <optional>
#include <string>

#include "common/clock.h"
#include "common/registration_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/token_buckets.h"

namespace clientreg::server {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kStart = 1'700'000'000;

TEST(KeyedTokenBucketsTest, BurstThenRefillAtTheConfiguredRate) {
  KeyedTokenBuckets buckets(BucketSpec{3, 60}, 1000);  // 3 at once, then one a second
  const int64_t now = kStart * 1000;
  EXPECT_EQ(buckets.Take(1, now), 0);
  EXPECT_EQ(buckets.Take(1, now), 0);
  EXPECT_EQ(buckets.Take(1, now), 0);
  EXPECT_EQ(buckets.Take(1, now), 1000);  // empty: one token a second
  EXPECT_EQ(buckets.Take(1, now + 400), 600);
  EXPECT_EQ(buckets.Take(1, now + 1000), 0);
  EXPECT_EQ(buckets.Take(1, now + 1000), 1000);
  // Another key has its own full bucket.
  EXPECT_EQ(buckets.Take(2, now), 0);
  // Refill stops at the burst.
  EXPECT_EQ(buckets.Take(1, now + 3'600'000), 0);
  EXPECT_EQ(buckets.Take(1, now + 3'600'000), 0);
  EXPECT_EQ(buckets.Take(1, now + 3'600'000), 0);
  EXPECT_GT(buckets.Take(1, now + 3'600'000), 0);
}

TEST(KeyedTokenBucketsTest, PeekTakesNothingAndAClockStepBackRefillsNothing) {
  KeyedTokenBuckets buckets(BucketSpec{1, 1}, 1000);
  const int64_t now = kStart * 1000;
  EXPECT_EQ(buckets.Peek(7, now), 0);
  EXPECT_EQ(buckets.Peek(7, now), 0);
  EXPECT_EQ(buckets.Take(7, now), 0);
  EXPECT_EQ(buckets.Peek(7, now), 60000);
  EXPECT_EQ(buckets.Take(7, now - 3'600'000), 60000);  // earlier than the last update: no refill
  EXPECT_EQ(buckets.Take(7, now + 60000), 0);
}

TEST(KeyedTokenBucketsTest, UnlimitedSpecAlwaysAdmitsAndHoldsNothing) {
  KeyedTokenBuckets buckets(BucketSpec{}, 1000);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(buckets.Take(1, 0), 0);
  EXPECT_EQ(buckets.size(), 0u);
}

TEST(KeyedTokenBucketsTest, MemoryStaysBoundedWhateverTheNumberOfKeys) {
  KeyedTokenBuckets buckets(BucketSpec{2, 1}, 1600);
  const int64_t now = kStart * 1000;
  for (uint64_t key = 0; key < 200'000; ++key) buckets.Take(key * 0x9E3779B97F4A7C15ull, now);
  EXPECT_LE(buckets.size(), 1600u);
  EXPECT_GT(buckets.size(), 1000u);
  // Buckets that refilled to full are dropped before any other.
  const uint64_t noisy = 42;
  buckets.Take(noisy, now);
  buckets.Take(noisy, now);
  ASSERT_GT(buckets.Take(noisy, now), 0);
  const int64_t later = now + 10 * 60000;  // every other bucket is full again; the noisy one got 10 of 2 back
  for (uint64_t key = 0; key < 5'000; ++key) buckets.Take((key + 1'000'000) * 0x9E3779B97F4A7C15ull, later);
  EXPECT_LE(buckets.size(), 1600u);
}

clientreg::config::v1::RateLimitsConfig Config(const std::string& text) {
  clientreg::config::v1::RateLimitsConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

common::IpAddress Ip(const char* text) { return common::ParseIpAddress(text).value(); }

std::string LimitOf(const absl::Status& status) {
  const auto detail = common::GetRegistrationError(status);
  return detail.has_value() ? detail->limit() : "";
}

TEST(RateLimiterTest, PerClientIpLimitRefusesWithRetryAfterAndTheLimitNamed) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(Config("per_client_ip { burst: 2 refill_per_minute: 6 }"), clock);
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.1"), "").ok());
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.1"), "").ok());
  const absl::Status refused = limiter.AdmitRegistration(Ip("192.0.2.1"), "");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  const auto detail = common::GetRegistrationError(refused);
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->error(), common::kTooManyRequests);
  EXPECT_EQ(detail->limit(), "per_client_ip");
  EXPECT_EQ(detail->retry_after_seconds(), 10);  // 6 a minute
  EXPECT_THAT(detail->error_description(), HasSubstr("per_client_ip"));
  // Other addresses, and callers without one, are not affected.
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.2"), "").ok());
  EXPECT_TRUE(limiter.AdmitRegistration(std::nullopt, "").ok());
  clock.Advance(10);
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.1"), "").ok());
  EXPECT_FALSE(limiter.AdmitRegistration(Ip("192.0.2.1"), "").ok());
}

TEST(RateLimiterTest, RetryAfterRoundsUp) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(Config("global { burst: 1 refill_per_minute: 7 }"), clock);
  EXPECT_TRUE(limiter.AdmitRegistration(std::nullopt, "").ok());
  const auto detail = common::GetRegistrationError(limiter.AdmitRegistration(std::nullopt, ""));
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->limit(), "global");
  EXPECT_EQ(detail->retry_after_seconds(), 9);  // 60/7 = 8.57 s
  clock.AdvanceMillis(8571);
  EXPECT_FALSE(limiter.AdmitRegistration(std::nullopt, "").ok());
  clock.AdvanceMillis(1);
  EXPECT_TRUE(limiter.AdmitRegistration(std::nullopt, "").ok());
}

TEST(RateLimiterTest, SoftwareIdAndGlobalLimits) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(
      Config("per_software_id { burst: 2 refill_per_minute: 1 } global { burst: 4 refill_per_minute: 1 }"), clock);
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.1"), "agent-a").ok());
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.2"), "agent-a").ok());
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("192.0.2.3"), "agent-a")), "per_software_id");
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.4"), "agent-b").ok());
  // Requests without a software_id share no bucket; the refused attempt above did not reach the global bucket.
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.5"), "").ok());
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("192.0.2.6"), "")), "global");
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("192.0.2.7"), "agent-c")), "global");
}

TEST(RateLimiterTest, TrustedNetworksGetTheirOwnLargerPerIpBucket) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(Config(R"pb(
                        per_client_ip { burst: 1 refill_per_minute: 1 }
                        trusted_networks {
                          cidr: "203.0.113.0/24"
                          cidr: "2001:db8::/32"
                          per_client_ip { burst: 3 refill_per_minute: 1 }
                        }
                      )pb"),
                      clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AdmitRegistration(Ip("203.0.113.9"), "").ok()) << i;
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("203.0.113.9"), "")), "trusted_network");
  // Each address of the network has its own bucket, and IPv4-mapped forms are the same address.
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("203.0.113.10"), "").ok());
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("::ffff:203.0.113.9"), "")), "trusted_network");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AdmitRegistration(Ip("2001:db8::5"), "").ok()) << i;
  // Outside the network: the ordinary bucket.
  EXPECT_TRUE(limiter.AdmitRegistration(Ip("198.51.100.1"), "").ok());
  EXPECT_EQ(LimitOf(limiter.AdmitRegistration(Ip("198.51.100.1"), "")), "per_client_ip");
}

TEST(RateLimiterTest, FailedTokenCheckBudgetIsSeparateFromRegistrations) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(Config(R"pb(
                        per_client_ip { burst: 100 refill_per_minute: 100 }
                        failed_token_checks_per_client_ip { burst: 2 refill_per_minute: 2 }
                      )pb"),
                      clock);
  const auto ip = Ip("192.0.2.1");
  EXPECT_TRUE(limiter.AdmitTokenCheck(ip).ok());
  limiter.RecordFailedTokenCheck(ip);
  EXPECT_TRUE(limiter.AdmitTokenCheck(ip).ok());
  limiter.RecordFailedTokenCheck(ip);
  const absl::Status refused = limiter.AdmitTokenCheck(ip);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LimitOf(refused), "failed_token_checks_per_client_ip");
  EXPECT_TRUE(limiter.AdmitTokenCheck(Ip("192.0.2.2")).ok());
  EXPECT_TRUE(limiter.AdmitRegistration(ip, "").ok());  // registrations are a different budget
  clock.Advance(30);
  EXPECT_TRUE(limiter.AdmitTokenCheck(ip).ok());
}

TEST(RateLimiterTest, NoConfigMeansNoLimit) {
  common::FakeClock clock(kStart);
  RateLimiter limiter(clientreg::config::v1::RateLimitsConfig(), clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.AdmitRegistration(Ip("192.0.2.1"), "a").ok());
  for (int i = 0; i < 1000; ++i) limiter.RecordFailedTokenCheck(Ip("192.0.2.1"));
  EXPECT_TRUE(limiter.AdmitTokenCheck(Ip("192.0.2.1")).ok());
}

TEST(ValidateRateLimitsTest, NamesTheFieldAtFault) {
  EXPECT_TRUE(ValidateRateLimits(Config("")).ok());
  EXPECT_TRUE(ValidateRateLimits(Config(R"pb(
                per_client_ip { burst: 20 refill_per_minute: 60 }
                trusted_networks {
                  cidr: "10.0.0.0/8"
                  per_client_ip { burst: 500 refill_per_minute: 600 }
                }
              )pb"))
                  .ok());
  const struct {
    const char* config;
    const char* field;
  } kBad[] = {
      {"per_client_ip { burst: 5 }", "rate_limits.per_client_ip.refill_per_minute"},
      {"global { refill_per_minute: 5 }", "rate_limits.global.burst"},
      {"per_software_id { burst: 1 }", "rate_limits.per_software_id.refill_per_minute"},
      {"failed_token_checks_per_client_ip { burst: 1 }", "rate_limits.failed_token_checks_per_client_ip"},
      {"trusted_networks { per_client_ip { burst: 1 refill_per_minute: 1 } }", "rate_limits.trusted_networks[0].cidr"},
      {"trusted_networks { cidr: \"10.0.0.1/8\" }", "rate_limits.trusted_networks[0].cidr"},
      {"trusted_networks { cidr: \"10.0.0.0/8\" per_client_ip { burst: 2 } }",
       "rate_limits.trusted_networks[0].per_client_ip"},
      {"max_tracked_keys: 10", "rate_limits.max_tracked_keys"},
  };
  for (const auto& bad : kBad) {
    const absl::Status status = ValidateRateLimits(Config(bad.config));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.config;
    EXPECT_THAT(status.message(), HasSubstr(bad.field)) << bad.config;
  }
}

}  // namespace
}  // namespace clientreg::server
