#include "storage/commit_queue.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace clientreg::storage {
namespace {

// Records every group it is given; blocks in its first commit until released, so tests can fill the queue.
struct Recorder {
  absl::Mutex mu;
  std::vector<std::vector<int>> groups ABSL_GUARDED_BY(mu);
  absl::Notification entered_first;
  absl::Notification release_first;

  void Commit(std::vector<int>& group) {
    if (!entered_first.HasBeenNotified()) {
      entered_first.Notify();
      release_first.WaitForNotification();
    }
    absl::MutexLock lock(&mu);
    groups.push_back(group);
  }
};

TEST(CommitQueueTest, CommitsEverythingInOrderInBoundedGroupsAndDrainsOnDestruction) {
  Recorder recorder;
  recorder.release_first.Notify();  // never blocks
  {
    CommitQueue<int> queue(/*max_pending=*/100000, /*max_group=*/7, /*committers=*/1,
                           [&recorder](std::vector<int>& group) { recorder.Commit(group); });
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(queue.Submit(int{i}));
  }  // the destructor commits what is still queued
  absl::MutexLock lock(&recorder.mu);
  std::vector<int> all;
  for (const std::vector<int>& group : recorder.groups) {
    EXPECT_GE(group.size(), 1u);
    EXPECT_LE(group.size(), 7u);
    all.insert(all.end(), group.begin(), group.end());
  }
  ASSERT_EQ(all.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
}

TEST(CommitQueueTest, SeveralCommittersCommitEveryOpExactlyOnce) {
  constexpr int kOps = 20000;
  std::vector<std::atomic<int>> committed(kOps);
  std::atomic<int> max_concurrent{0}, concurrent{0};
  {
    CommitQueue<int> queue(/*max_pending=*/kOps, /*max_group=*/50, /*committers=*/3, [&](std::vector<int>& group) {
      const int now = ++concurrent;
      for (int seen = max_concurrent.load(); now > seen && !max_concurrent.compare_exchange_weak(seen, now);) {
      }
      for (const int op : group) ++committed[static_cast<std::size_t>(op)];
      --concurrent;
    });
    for (int i = 0; i < kOps; ++i) ASSERT_TRUE(queue.Submit(int{i}));
  }
  for (int i = 0; i < kOps; ++i) ASSERT_EQ(committed[static_cast<std::size_t>(i)].load(), 1) << i;
  EXPECT_LE(max_concurrent.load(), 3);
}

// With two committers, a group still being answered (its commit has not returned) does not hold up the next one.
TEST(CommitQueueTest, SecondCommitterCommitsWhileTheFirstIsBusy) {
  absl::Notification first_entered, second_committed, release_first;
  std::atomic<int> commits{0};
  {
    CommitQueue<int> queue(/*max_pending=*/100, /*max_group=*/100, /*committers=*/2, [&](std::vector<int>&) {
      if (++commits == 1) {
        first_entered.Notify();
        release_first.WaitForNotificationWithTimeout(absl::Seconds(30));
      } else {
        second_committed.Notify();
      }
    });
    ASSERT_TRUE(queue.Submit(1));
    first_entered.WaitForNotification();
    ASSERT_TRUE(queue.Submit(2));
    EXPECT_TRUE(second_committed.WaitForNotificationWithTimeout(absl::Seconds(30)));
    release_first.Notify();
  }
  EXPECT_EQ(commits.load(), 2);
}

TEST(CommitQueueTest, GathersWhatArrivesDuringACommitIntoOneGroup) {
  Recorder recorder;
  CommitQueue<int> queue(/*max_pending=*/100, /*max_group=*/100, /*committers=*/1,
                         [&recorder](std::vector<int>& group) { recorder.Commit(group); });
  ASSERT_TRUE(queue.Submit(0));
  recorder.entered_first.WaitForNotification();  // the committer holds {0}
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(queue.Submit(int{i}));
  recorder.release_first.Notify();
  absl::MutexLock lock(&recorder.mu);
  recorder.mu.Await(absl::Condition(
      +[](Recorder* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu) { return r->groups.size() == 2; }, &recorder));
  EXPECT_EQ(recorder.groups[0], std::vector<int>{0});
  EXPECT_EQ(recorder.groups[1], (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(CommitQueueTest, RefusesBeyondMaxPendingAndLeavesTheOpToTheCaller) {
  Recorder recorder;
  CommitQueue<std::unique_ptr<int>> queue(
      /*max_pending=*/3, /*max_group=*/10, /*committers=*/1, [&recorder](std::vector<std::unique_ptr<int>>& group) {
        std::vector<int> values;
        for (const auto& value : group) values.push_back(*value);
        recorder.Commit(values);
      });
  ASSERT_TRUE(queue.Submit(std::make_unique<int>(0)));
  recorder.entered_first.WaitForNotification();  // {0} is being committed, not pending
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(queue.Submit(std::make_unique<int>(i)));
  auto refused = std::make_unique<int>(4);
  EXPECT_FALSE(queue.Submit(std::move(refused)));
  ASSERT_NE(refused, nullptr);  // not moved from: the caller still owns it and can answer it
  EXPECT_EQ(*refused, 4);
  recorder.release_first.Notify();
}

}  // namespace
}  // namespace clientreg::storage
