#include "common/http_date.h"

#include <chrono>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace clientreg::common {
namespace {

TEST(HttpDateTest, FormatsAnImfFixdateInGmt) {
  // RFC 9110 §5.6.7's own example.
  EXPECT_EQ(HttpDate(std::chrono::system_clock::from_time_t(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(HttpDate(std::chrono::system_clock::from_time_t(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
  // A leap day, and the last second of a year.
  EXPECT_EQ(HttpDate(std::chrono::system_clock::from_time_t(1709251199)), "Thu, 29 Feb 2024 23:59:59 GMT");
  EXPECT_EQ(HttpDate(std::chrono::system_clock::from_time_t(1798761599)), "Thu, 31 Dec 2026 23:59:59 GMT");
}

TEST(ParseHttpDateTest, ReadsImfFixdateAndAsctime) {
  struct Case {
    std::string_view text;
    int64_t unix_seconds;
  };
  const Case cases[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},  // RFC 9110 §5.6.7's examples
      {"Sun Nov  6 08:49:37 1994", 784111777},
      {"Sun Nov 16 08:49:37 1994", 784111777 + 10 * 86400},
      {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
      {"Thu, 29 Feb 2024 23:59:59 GMT", 1709251199},
      {"  Thu, 31 Dec 2026 23:59:59 GMT\t", 1798761599},
      {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777},   // a wrong day name is only spelled, not checked
      {"Thu, 31 Dec 2026 23:59:60 GMT", 1798761600},  // a leap second ends at the next second
  };
  for (const Case& c : cases) {
    const absl::StatusOr<absl::Time> time = ParseHttpDate(c.text);
    ASSERT_TRUE(time.ok()) << c.text << ": " << time.status();
    EXPECT_EQ(absl::ToUnixSeconds(*time), c.unix_seconds) << c.text;
  }
}

TEST(ParseHttpDateTest, RefusesEverythingElse) {
  for (std::string_view text : {
           "",
           "0",
           "-1",
           "garbage",
           "Sunday, 06-Nov-94 08:49:37 GMT",   // rfc850-date: refused, see the header
           "Sun, 06 Nov 1994 08:49:37 UTC",    // only GMT
           "sun, 06 Nov 1994 08:49:37 GMT",    // names are case-sensitive
           "Sun, 06 nov 1994 08:49:37 GMT",    //
           "Sun, 06 Nov 1994 08:49:37 gmt",    //
           "Sun, 6 Nov 1994 08:49:37 GMT",     // two-digit day
           "Sun, 06 Nov 94 08:49:37 GMT",      // four-digit year
           "Sun, 06 Nov 1994 8:49:37 GMT",     //
           "Sun,06 Nov 1994 08:49:37 GMT",     //
           "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing bytes
           "Sun, 31 Apr 1994 08:49:37 GMT",    // no such day
           "Sun, 29 Feb 2023 08:49:37 GMT",    //
           "Sun, 00 Nov 1994 08:49:37 GMT",    //
           "Sun, 06 Nov 1994 24:00:00 GMT",    // no such time
           "Sun, 06 Nov 1994 08:60:00 GMT",    //
           "Sun, 06 Nov 1994 08:49:61 GMT",    //
           "Sun Nov 6 08:49:37 1994",          // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",           //
       }) {
    const absl::StatusOr<absl::Time> time = ParseHttpDate(text);
    EXPECT_EQ(time.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << text << "\"";
  }
}

}  // namespace
}  // namespace clientreg::common
