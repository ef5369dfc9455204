#ifndef CLIENTREG_STORAGE_COMMIT_QUEUE_H_
#define CLIENTREG_STORAGE_COMMIT_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace clientreg::storage {

// Hands writes from many threads to committer threads, each of which takes everything queued at once and commits it
// as one group: one synced write and one fsync for the whole group, and no thread blocks while the disk syncs. This is
// group commit done once, by one thread, instead of by every caller meeting in RocksDB's write queue, where each
// waiting writer costs a sleeping thread and two wake-ups.
//
// `Op` is the queued operation; `commit` is called on a committer thread with a group of 1..max_group ops, in
// submission order, and must complete every op it is given (typically by calling a callback each op carries).
// With several committer threads, groups are committed concurrently: while one thread runs its group's callbacks,
// the next takes what arrived meanwhile and starts writing, so the disk is never idle waiting for callbacks.
template <typename Op>
class CommitQueue {
 public:
  using Commit = std::function<void(std::vector<Op>& group)>;

  // At most `max_pending` ops wait at a time (a bound on memory and on latency under overload); a group holds at
  // most `max_group` of them; `committers` threads (at least one) commit groups.
  CommitQueue(std::size_t max_pending, std::size_t max_group, int committers, Commit commit)
      : max_pending_(max_pending), max_group_(std::max<std::size_t>(max_group, 1)), commit_(std::move(commit)) {
    for (int i = 0; i < std::max(committers, 1); ++i) threads_.emplace_back([this] { Run(); });
  }

  // Commits everything still queued, then stops the threads.
  ~CommitQueue() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& thread : threads_) thread.join();
  }

  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Queues `op` and returns true, or returns false without taking it when max_pending ops are waiting already or
  // the queue is being destroyed (its committers may have left: the op would never be committed).
  [[nodiscard]] bool Submit(Op&& op) {
    absl::MutexLock lock(&mu_);
    if (stopping_ || pending_.size() >= max_pending_) return false;
    pending_.push_back(std::move(op));
    return true;
  }

 private:
  void Run() {
    std::vector<Op> group;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](CommitQueue* queue)
                 ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue->mu_) { return queue->stopping_ || !queue->pending_.empty(); },
            this));
        if (pending_.empty()) return;  // stopping, and nothing left
        // A deque: taking a group from the front never moves the ops left behind, while Submit waits on the lock.
        const auto end = pending_.begin() + static_cast<std::ptrdiff_t>(std::min(pending_.size(), max_group_));
        group.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(end));
        pending_.erase(pending_.begin(), end);
      }
      // Outside the lock: while this group is written and synced, the next one gathers.
      commit_(group);
      group.clear();
    }
  }

  const std::size_t max_pending_;
  const std::size_t max_group_;
  const Commit commit_;
  absl::Mutex mu_;
  std::deque<Op> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Last member: the threads start after everything they use exists.
  std::vector<std::thread> threads_;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_COMMIT_QUEUE_H_
