#include "common/http_date.h"

#include <chrono>

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

}  // namespace
}  // namespace clientreg::common
