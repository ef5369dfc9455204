#include "server/last_use_recorder.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::FailingLastUseStore;
using ::clientreg::testing::kNow;

class LastUseRecorderTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    if (HasFatalFailure()) return;
    Store(MakeClient("c1"));
    Store(MakeClient("c2"));
    ASSERT_OK_AND_ASSIGN(recorder_, LastUseRecorder::Create(store_.get(), std::chrono::hours(1)));
  }

  void TearDown() override {
    recorder_.reset();
    ClientStoreFixture::TearDown();
  }

  std::unique_ptr<LastUseRecorder> recorder_;
};

TEST_F(LastUseRecorderTest, KeepsTheLatestUseUntilAFlushWritesIt) {
  recorder_->Record("c1", kNow + 5);
  recorder_->Record("c1", kNow);
  recorder_->Record("c2", kNow + 1);
  EXPECT_EQ(recorder_->Pending("c1"), kNow + 5);
  EXPECT_EQ(recorder_->Pending("c2"), kNow + 1);
  EXPECT_EQ(recorder_->Pending("c3"), 0);
  EXPECT_EQ(StoredLastUse("c1"), 0);

  ASSERT_OK(recorder_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 5);
  EXPECT_EQ(StoredLastUse("c2"), kNow + 1);
  EXPECT_EQ(recorder_->Pending("c1"), 0);
  EXPECT_OK(recorder_->Flush()) << "nothing pending: no write";
}

TEST_F(LastUseRecorderTest, AFailedFlushKeepsItsBatchAndANewerUseWins) {
  FailingLastUseStore failing(store_.get());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LastUseRecorder> recorder,
                       LastUseRecorder::Create(&failing, std::chrono::hours(1)));
  EXPECT_OK(recorder->Flush());
  EXPECT_EQ(failing.calls, 0) << "an empty batch is not written";
  recorder->Record("c1", kNow);
  EXPECT_EQ(recorder->Flush().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(recorder->Pending("c1"), kNow);
  recorder->Record("c1", kNow + 9);

  failing.fail = false;
  ASSERT_OK(recorder->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 9);
  EXPECT_EQ(recorder->Pending("c1"), 0);
  recorder->Stop();
  EXPECT_EQ(failing.calls, 2);
}

TEST_F(LastUseRecorderTest, BackgroundThreadFlushes) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LastUseRecorder> fast,
                       LastUseRecorder::Create(store_.get(), std::chrono::milliseconds(20)));
  fast->Record("c1", kNow);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (StoredLastUse("c1") != kNow && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(StoredLastUse("c1"), kNow);
}

TEST_F(LastUseRecorderTest, StopFlushesOnceAndLaterUsesWaitForAnExplicitFlush) {
  recorder_->Record("c1", kNow);
  recorder_->Stop();
  EXPECT_EQ(StoredLastUse("c1"), kNow);
  recorder_->Stop();
  recorder_->Record("c2", kNow + 3);
  EXPECT_EQ(recorder_->Pending("c2"), kNow + 3);
  ASSERT_OK(recorder_->Flush());
  EXPECT_EQ(StoredLastUse("c2"), kNow + 3);
}

TEST_F(LastUseRecorderTest, ConcurrentRecordsAndFlushesKeepTheLatest) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 200; ++i) {
        recorder_->Record(i % 2 == 0 ? "c1" : "c2", kNow + t * 1000 + i);
        if (i % 50 == 0) {
          EXPECT_OK(recorder_->Flush());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK(recorder_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 3 * 1000 + 198);
  EXPECT_EQ(StoredLastUse("c2"), kNow + 3 * 1000 + 199);
}

TEST_F(LastUseRecorderTest, NonPositiveIntervalIsRefused) {
  EXPECT_EQ(LastUseRecorder::Create(store_.get(), std::chrono::milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LastUseRecorder::Create(store_.get(), std::chrono::milliseconds(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clientreg::server
