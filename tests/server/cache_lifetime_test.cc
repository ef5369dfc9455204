#include "server/cache_lifetime.h"

#include <optional>
#include <string_view>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace clientreg::server {
namespace {

// RFC 9110 §5.6.7's example date, 784111777 seconds after the epoch.
constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
const absl::Time kNow = absl::FromUnixSeconds(784111777);

struct LifetimeCase {
  std::string_view name;
  CacheHeaders headers;
  std::optional<absl::Duration> lifetime;
};

TEST(CacheLifetimeTest, FollowsRfc9111ForAPrivateCache) {
  const LifetimeCase cases[] = {
      {"nothing", {}, std::nullopt},
      {"unrelated directives", {.cache_control = "public, must-revalidate"}, std::nullopt},
      {"max-age", {.cache_control = "max-age=60"}, absl::Seconds(60)},
      {"max-age 0", {.cache_control = "max-age=0"}, absl::ZeroDuration()},
      {"first max-age wins", {.cache_control = "max-age=60, max-age=10"}, absl::Seconds(60)},
      {"no-store", {.cache_control = "no-store"}, absl::ZeroDuration()},
      {"no-cache", {.cache_control = "no-cache"}, absl::ZeroDuration()},
      {"qualified no-cache", {.cache_control = "no-cache=\"Set-Cookie, Foo\", max-age=60"}, absl::ZeroDuration()},
      {"no-store beats max-age", {.cache_control = "max-age=60, no-store"}, absl::ZeroDuration()},
      {"no-cache beats max-age", {.cache_control = "no-cache, max-age=60"}, absl::ZeroDuration()},
      {"no-store and no-cache", {.cache_control = "no-store, no-cache"}, absl::ZeroDuration()},
      {"s-maxage ignored", {.cache_control = "s-maxage=600"}, std::nullopt},
      {"s-maxage ignored beside max-age", {.cache_control = "s-maxage=600, max-age=60"}, absl::Seconds(60)},
      {"names ignore case", {.cache_control = "MAX-AGE=60"}, absl::Seconds(60)},
      {"No-Store ignores case", {.cache_control = "max-age=60, No-Store"}, absl::ZeroDuration()},
      {"quoted max-age", {.cache_control = "max-age=\"60\""}, absl::Seconds(60)},
      {"whitespace", {.cache_control = " \t public ,max-age=60 ,\tprivate "}, absl::Seconds(60)},
      {"whitespace around =", {.cache_control = "max-age = 60"}, absl::Seconds(60)},
      {"empty elements", {.cache_control = ",, ,max-age=60,,"}, absl::Seconds(60)},
      {"comma inside a quoted value", {.cache_control = "foo=\"a, max-age=5\", max-age=60"}, absl::Seconds(60)},
      {"escaped quote inside a quoted value",
       {.cache_control = "foo=\"a\\\", max-age=5\", max-age=60"},
       absl::Seconds(60)},
      {"huge max-age saturates at 2^31",
       {.cache_control = "max-age=99999999999999999999999"},
       absl::Seconds(int64_t{1} << 31)},
      // A malformed (first) max-age is stale (RFC 9111 §4.2.1), and does not fall back to Expires.
      {"max-age without value", {.cache_control = "max-age"}, absl::ZeroDuration()},
      {"max-age empty", {.cache_control = "max-age="}, absl::ZeroDuration()},
      {"max-age negative", {.cache_control = "max-age=-1"}, absl::ZeroDuration()},
      {"max-age fraction", {.cache_control = "max-age=1.5"}, absl::ZeroDuration()},
      {"max-age trailing garbage", {.cache_control = "max-age=60x"}, absl::ZeroDuration()},
      {"max-age trailing word", {.cache_control = "max-age=60 s"}, absl::ZeroDuration()},
      {"max-age unclosed quote", {.cache_control = "max-age=\"60"}, absl::ZeroDuration()},
      {"malformed max-age then a good one", {.cache_control = "max-age=x, max-age=60"}, absl::ZeroDuration()},
      {"malformed max-age beside Expires",
       {.cache_control = "max-age=abc", .expires = "Sun, 06 Nov 1994 09:49:37 GMT", .date = kDate},
       absl::ZeroDuration()},
      {"garbage elements are skipped", {.cache_control = "=, @@, max-age=60"}, absl::Seconds(60)},
      {"Expires minus Date",
       {.expires = "Sun, 06 Nov 1994 09:49:37 GMT", .date = "Sun, 06 Nov 1994 08:49:37 GMT"},
       absl::Hours(1)},
      // Date is the origin's clock: a skewed local clock does not matter.
      {"Expires minus Date, not now",
       {.expires = "Mon, 07 Nov 1994 08:49:37 GMT", .date = "Mon, 07 Nov 1994 08:48:37 GMT"},
       absl::Minutes(1)},
      {"Expires without Date", {.expires = "Sun, 06 Nov 1994 08:59:37 GMT"}, absl::Minutes(10)},
      {"Expires with an invalid Date uses now",
       {.expires = "Sun, 06 Nov 1994 08:59:37 GMT", .date = "yesterday"},
       absl::Minutes(10)},
      {"Expires in asctime form", {.expires = "Sun Nov  6 08:59:37 1994", .date = kDate}, absl::Minutes(10)},
      {"Expires 0", {.expires = "0"}, absl::ZeroDuration()},
      {"Expires garbage", {.expires = "soon", .date = kDate}, absl::ZeroDuration()},
      {"Expires rfc850 is invalid", {.expires = "Sunday, 06-Nov-94 09:49:37 GMT", .date = kDate}, absl::ZeroDuration()},
      {"Expires in the past", {.expires = "Sun, 06 Nov 1994 07:49:37 GMT", .date = kDate}, absl::ZeroDuration()},
      {"max-age beats Expires",
       {.cache_control = "max-age=60", .expires = "Sun, 06 Nov 1994 09:49:37 GMT", .date = kDate},
       absl::Seconds(60)},
      {"s-maxage does not hide Expires",
       {.cache_control = "s-maxage=5", .expires = "Sun, 06 Nov 1994 09:49:37 GMT", .date = kDate},
       absl::Hours(1)},
      {"Age subtracted from max-age", {.cache_control = "max-age=60", .age = "15"}, absl::Seconds(45)},
      {"Age subtracted from Expires",
       {.expires = "Sun, 06 Nov 1994 09:49:37 GMT", .date = kDate, .age = "600"},
       absl::Minutes(50)},
      {"Age beyond the lifetime gives 0", {.cache_control = "max-age=60", .age = "61"}, absl::ZeroDuration()},
      {"huge Age gives 0", {.cache_control = "max-age=60", .age = "99999999999999999999"}, absl::ZeroDuration()},
      {"invalid Age ignored", {.cache_control = "max-age=60", .age = "-5"}, absl::Seconds(60)},
      {"Age list: first member", {.cache_control = "max-age=60", .age = " 10 , 20"}, absl::Seconds(50)},
      {"Age alone says nothing", {.age = "10"}, std::nullopt},
  };
  for (const LifetimeCase& c : cases) {
    EXPECT_EQ(CacheLifetime(c.headers, kNow), c.lifetime) << c.name;
  }
}

TEST(ClampedCacheLifetimeTest, ClampsBothEndsAndDefaultsToMin) {
  const absl::Duration min = absl::Minutes(5);
  const absl::Duration max = absl::Hours(24);
  const struct {
    std::string_view name;
    CacheHeaders headers;
    absl::Duration clamped;
  } cases[] = {
      {"within", {.cache_control = "max-age=3600"}, absl::Hours(1)},
      {"below min", {.cache_control = "max-age=10"}, min},
      {"no-store is below min", {.cache_control = "no-store"}, min},
      {"above max", {.cache_control = "max-age=604800"}, max},
      {"at min", {.cache_control = "max-age=300"}, min},
      {"at max", {.cache_control = "max-age=86400"}, max},
      {"no information gives min", {}, min},
      {"Expires beyond max", {.expires = "Sun, 13 Nov 1994 08:49:37 GMT", .date = kDate}, max},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClampedCacheLifetime(c.headers, kNow, min, max), c.clamped) << c.name;
  }
}

}  // namespace
}  // namespace clientreg::server
