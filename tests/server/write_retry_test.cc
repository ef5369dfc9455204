#include "server/write_retry.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

TEST(RetryOnConflictTest, RetriesOnlyLostCompareAndSets) {
  int calls = 0;
  const absl::StatusOr<int> result = RetryOnConflict("c1", [&]() -> absl::StatusOr<int> {
    ++calls;
    if (calls < 3) return absl::AbortedError("lost");
    return 42;
  });
  ASSERT_OK(result);
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);

  calls = 0;
  const absl::Status failed = RetryOnConflict("c1", [&]() -> absl::Status {
    ++calls;
    return absl::NotFoundError("gone");
  });
  EXPECT_TRUE(absl::IsNotFound(failed)) << failed;
  EXPECT_EQ(calls, 1);
}

TEST(RetryOnConflictTest, GivesUpAsUnavailableAfterTheBound) {
  int calls = 0;
  const absl::Status result = RetryOnConflict("c1", [&]() -> absl::Status {
    ++calls;
    return absl::AbortedError("lost");
  });
  EXPECT_TRUE(absl::IsUnavailable(result)) << result;
  EXPECT_EQ(calls, kMaxWriteAttempts);
}

}  // namespace
}  // namespace clientreg::server
