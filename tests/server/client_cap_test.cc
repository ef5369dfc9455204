#include "server/client_cap.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/registration_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/store_fixture.h"

namespace clientreg::server {
namespace {

using ::testing::HasSubstr;

class ClientCapTest : public testing::ClientStoreFixture {
 protected:
  void StoreClients(int from, int count) {
    for (int i = from; i < from + count; ++i) Store(MakeClient("client-" + std::to_string(i), "none", ""));
  }
};

TEST_F(ClientCapTest, RefusesAtTheCapWithARetryAfterAndCountsItsOwnCreations) {
  StoreClients(0, 3);
  ClientCap cap(5, store_.get(), &clock_);
  EXPECT_OK(cap.Admit());
  // Two creations of this process count at once, without waiting for the next recount.
  StoreClients(3, 1);
  cap.Finished(/*created=*/true);
  EXPECT_OK(cap.Admit());
  StoreClients(4, 1);
  cap.Finished(/*created=*/true);
  const absl::Status refused = cap.Admit();
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  const auto detail = common::GetRegistrationError(refused);
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->error(), common::kTemporarilyUnavailable);
  EXPECT_EQ(detail->retry_after_seconds(), 300);
  EXPECT_THAT(detail->error_description(), HasSubstr("maximum of 5"));
  // The recount finds the same five: still refused, not counted twice into a larger number either way.
  clock_.Advance(2);
  EXPECT_TRUE(absl::IsUnavailable(cap.Admit()));
  // Room comes back when clients go (an admin delete, or a replica's).
  ASSERT_OK(store_->Delete("client-0", 1));
  EXPECT_TRUE(absl::IsUnavailable(cap.Admit()));  // not recounted within the second
  clock_.Advance(1);
  EXPECT_OK(cap.Admit());
}

TEST_F(ClientCapTest, RegistrationsBeingWrittenHoldTheirSlots) {
  StoreClients(0, 3);
  ClientCap cap(5, store_.get(), &clock_);
  EXPECT_OK(cap.Admit());
  EXPECT_OK(cap.Admit());
  // Two writes under way fill the cap before either has landed.
  EXPECT_TRUE(absl::IsUnavailable(cap.Admit()));
  // One fails: its slot is free again. The other lands: its slot stays taken.
  cap.Finished(/*created=*/false);
  StoreClients(3, 1);
  cap.Finished(/*created=*/true);
  EXPECT_OK(cap.Admit());
  EXPECT_TRUE(absl::IsUnavailable(cap.Admit()));
}

TEST_F(ClientCapTest, ABurstOfConcurrentRegistrationsNeverOvershoots) {
  ClientCap cap(10, store_.get(), &clock_);
  constexpr int kThreads = 64;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (cap.Admit().ok()) admitted.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 10);
}

TEST_F(ClientCapTest, ZeroMeansNoCap) {
  StoreClients(0, 3);
  ClientCap cap(0, store_.get(), &clock_);
  for (int i = 0; i < 10; ++i) cap.Finished(/*created=*/true);
  EXPECT_OK(cap.Admit());
}

}  // namespace
}  // namespace clientreg::server
