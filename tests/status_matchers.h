#ifndef CLIENTREG_TESTS_STATUS_MATCHERS_H_
#define CLIENTREG_TESTS_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace clientreg::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Evaluates its argument once: the failure message shows the status the call returned, not a second call's.
inline ::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}
template <typename T>
::testing::AssertionResult IsOk(const absl::StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}

}  // namespace clientreg::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::clientreg::testing::IsOk(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::clientreg::testing::IsOk(expr))

#define CLIENTREG_TEST_CONCAT_INNER_(a, b) a##b
#define CLIENTREG_TEST_CONCAT_(a, b) CLIENTREG_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CLIENTREG_ASSERT_OK_AND_ASSIGN_IMPL_(CLIENTREG_TEST_CONCAT_(clientreg_statusor_, __LINE__), lhs, expr)
#define CLIENTREG_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                         \
  ASSERT_TRUE(statusor.ok()) << statusor.status();                \
  lhs = std::move(statusor).value()

#endif  // CLIENTREG_TESTS_STATUS_MATCHERS_H_
