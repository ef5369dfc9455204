#include "server/cimd_cache.h"

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clientreg/v1/directory.pb.h"
#include "gtest/gtest.h"
#include "tests/support/concurrently.h"

namespace clientreg::server {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

clientreg::v1::ResolvedClient Client(std::string_view client_id, std::size_t padding = 0) {
  clientreg::v1::ResolvedClient client;
  client.set_client_id(std::string(client_id));
  client.mutable_metadata()->set_client_name(std::string(padding, 'x'));
  return client;
}

std::size_t BytesOf(std::string_view url, const clientreg::v1::ResolvedClient& client) {
  return url.size() + client.ByteSizeLong();
}

TEST(CimdCacheTest, FindsAFreshEntryUntilItsExactExpiry) {
  CimdCache cache({});
  const std::string url = "https://app.example/client.json";
  EXPECT_FALSE(cache.Find(url, kNow).has_value());
  cache.Insert(url, Client(url), kNow + absl::Minutes(5));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), BytesOf(url, Client(url)));

  const std::optional<clientreg::v1::ResolvedClient> found =
      cache.Find(url, kNow + absl::Minutes(5) - absl::Nanoseconds(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->client_id(), url);
  EXPECT_FALSE(cache.Find("https://app.example/other.json", kNow).has_value());

  // now == expires_at is expired, and the entry goes.
  EXPECT_FALSE(cache.Find(url, kNow + absl::Minutes(5)).has_value());
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(CimdCacheTest, InsertReplacesAnEntry) {
  CimdCache cache({});
  const std::string url = "https://app.example/c";
  cache.Insert(url, Client("old", 100), kNow + absl::Minutes(1));
  cache.Insert(url, Client("new"), kNow + absl::Minutes(10));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), BytesOf(url, Client("new")));
  const std::optional<clientreg::v1::ResolvedClient> found = cache.Find(url, kNow + absl::Minutes(5));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->client_id(), "new");
}

TEST(CimdCacheTest, EvictsTheLeastRecentlyUsedPastMaxEntries) {
  CimdCache cache({.max_entries = 3});
  const absl::Time later = kNow + absl::Hours(1);
  cache.Insert("https://a/1", Client("1"), later);
  cache.Insert("https://a/2", Client("2"), later);
  cache.Insert("https://a/3", Client("3"), later);
  ASSERT_TRUE(cache.Find("https://a/1", kNow).has_value());  // 2 is now the least recently used
  cache.Insert("https://a/4", Client("4"), later);
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_FALSE(cache.Find("https://a/2", kNow).has_value());
  EXPECT_TRUE(cache.Find("https://a/1", kNow).has_value());
  EXPECT_TRUE(cache.Find("https://a/3", kNow).has_value());
  EXPECT_TRUE(cache.Find("https://a/4", kNow).has_value());
}

TEST(CimdCacheTest, EvictsTheLeastRecentlyUsedPastMaxBytes) {
  const std::size_t one = BytesOf("https://a/1", Client("1", 1000));
  CimdCache cache({.max_entries = 100, .max_bytes = 3 * one});
  const absl::Time later = kNow + absl::Hours(1);
  cache.Insert("https://a/1", Client("1", 1000), later);
  cache.Insert("https://a/2", Client("2", 1000), later);
  cache.Insert("https://a/3", Client("3", 1000), later);
  EXPECT_EQ(cache.bytes(), 3 * one);
  ASSERT_TRUE(cache.Find("https://a/1", kNow).has_value());
  // Bigger than one entry, no bigger than two: both 2 and 3 must go, and only they.
  const std::size_t four = BytesOf("https://a/4", Client("4", 2000));
  ASSERT_GT(four, one);
  ASSERT_LE(four, 2 * one);
  cache.Insert("https://a/4", Client("4", 2000), later);
  EXPECT_LE(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_TRUE(cache.Find("https://a/1", kNow).has_value());
  EXPECT_TRUE(cache.Find("https://a/4", kNow).has_value());
  EXPECT_FALSE(cache.Find("https://a/2", kNow).has_value());
  EXPECT_FALSE(cache.Find("https://a/3", kNow).has_value());
  EXPECT_EQ(cache.bytes(), one + four);
}

TEST(CimdCacheTest, DoesNotCacheAnEntryBiggerThanMaxBytes) {
  CimdCache cache({.max_entries = 100, .max_bytes = 1000});
  const absl::Time later = kNow + absl::Hours(1);
  cache.Insert("https://a/small", Client("small"), later);
  cache.Insert("https://a/big", Client("small", 100), later);
  ASSERT_EQ(cache.entries(), 2u);
  cache.Insert("https://a/big", Client("big", 1000), later);
  EXPECT_FALSE(cache.Find("https://a/big", kNow).has_value());   // nor its older version
  EXPECT_TRUE(cache.Find("https://a/small", kNow).has_value());  // and it evicted nothing
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), BytesOf("https://a/small", Client("small")));
}

TEST(CimdCacheTest, InsertClearsAFailure) {
  CimdCache cache({});
  const std::string url = "https://a/c";
  cache.RecordFailure(url, absl::UnavailableError("connect failed"), kNow + absl::Seconds(30));
  ASSERT_TRUE(cache.FindFailure(url, kNow).has_value());
  cache.Insert(url, Client("c"), kNow + absl::Hours(1));
  EXPECT_FALSE(cache.FindFailure(url, kNow).has_value());
  EXPECT_TRUE(cache.Find(url, kNow).has_value());
}

TEST(CimdCacheTest, RecordFailureDropsTheEntry) {
  CimdCache cache({});
  const std::string url = "https://a/c";
  cache.Insert(url, Client("c"), kNow + absl::Hours(1));
  ASSERT_TRUE(cache.Find(url, kNow).has_value());
  cache.RecordFailure(url, absl::InvalidArgumentError("bad document"), kNow + absl::Seconds(30));
  EXPECT_FALSE(cache.Find(url, kNow).has_value());
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  const std::optional<absl::Status> failure = cache.FindFailure(url, kNow);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(*failure, absl::InvalidArgumentError("bad document"));
}

TEST(CimdCacheTest, AFailureLastsUntilItsBackoffEnds) {
  CimdCache cache({});
  const std::string url = "https://a/c";
  cache.RecordFailure(url, absl::UnavailableError("first"), kNow + absl::Seconds(30));
  cache.RecordFailure(url, absl::UnavailableError("second"), kNow + absl::Seconds(60));
  ASSERT_TRUE(cache.FindFailure(url, kNow + absl::Seconds(59)).has_value());
  EXPECT_EQ(cache.FindFailure(url, kNow + absl::Seconds(59))->message(), "second");
  EXPECT_FALSE(cache.FindFailure(url, kNow + absl::Seconds(60)).has_value());
  // Dropped, not only hidden: an earlier `now` no longer sees it either.
  EXPECT_FALSE(cache.FindFailure(url, kNow).has_value());
  EXPECT_FALSE(cache.FindFailure("https://a/never", kNow).has_value());
}

TEST(CimdCacheTest, HoldsAtMostMaxEntriesFailuresDroppingTheOldest) {
  CimdCache cache({.max_entries = 3});
  const absl::Time until = kNow + absl::Minutes(1);
  for (int i = 0; i < 3; ++i) cache.RecordFailure(absl::StrCat("https://a/", i), absl::UnavailableError("x"), until);
  // Recording 0 again makes it the newest, so 1 is the oldest.
  cache.RecordFailure("https://a/0", absl::UnavailableError("x"), until);
  cache.RecordFailure("https://a/3", absl::UnavailableError("x"), until);
  EXPECT_FALSE(cache.FindFailure("https://a/1", kNow).has_value());
  EXPECT_TRUE(cache.FindFailure("https://a/0", kNow).has_value());
  EXPECT_TRUE(cache.FindFailure("https://a/2", kNow).has_value());
  EXPECT_TRUE(cache.FindFailure("https://a/3", kNow).has_value());
  for (int i = 4; i < 100; ++i) cache.RecordFailure(absl::StrCat("https://a/", i), absl::UnavailableError("x"), until);
  int held = 0;
  for (int i = 0; i < 100; ++i) held += cache.FindFailure(absl::StrCat("https://a/", i), kNow).has_value();
  EXPECT_EQ(held, 3);
  EXPECT_TRUE(cache.FindFailure("https://a/99", kNow).has_value());
}

TEST(CimdCacheTest, ConcurrentInsertsAndFindsKeepTheBounds) {
  // Run under TSan or ASan to check the locking; here the bounds and the byte count must hold afterwards.
  CimdCache cache({.max_entries = 50, .max_bytes = 64 << 10});
  std::atomic<int> hits{0};
  clientreg::testing::RunConcurrently(8, [&](int thread) {
    for (int i = 0; i < 2000; ++i) {
      const std::string url = absl::StrCat("https://a/", (thread * 7 + i) % 80);
      switch (i % 4) {
        case 0:
        case 1:
          cache.Insert(url, Client(url, static_cast<std::size_t>(i % 500)), kNow + absl::Seconds(i % 10));
          break;
        case 2:
          if (std::optional<clientreg::v1::ResolvedClient> found = cache.Find(url, kNow + absl::Seconds(thread))) {
            if (found->client_id() == url) hits.fetch_add(1);
          }
          break;
        case 3:
          if (i % 40 == 3) cache.RecordFailure(url, absl::UnavailableError("x"), kNow + absl::Seconds(5));
          (void)cache.FindFailure(url, kNow);
          break;
      }
      EXPECT_LE(cache.entries(), 50u);
      EXPECT_LE(cache.bytes(), std::size_t{64 << 10});
    }
  });
  EXPECT_GT(hits.load(), 0);
  // The byte count matches what is held: finding each entry after its expiry drops it, down to zero bytes.
  for (int i = 0; i < 80; ++i) (void)cache.Find(absl::StrCat("https://a/", i), kNow + absl::Hours(1));
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace clientreg::server
