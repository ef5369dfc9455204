#include "server/last_use_recorder.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/logging.h"

namespace clientreg::server {
namespace {

// Debian's absl::string_view is a class of its own, not std::string_view: the maps look up without a copy.
absl::string_view ToAbsl(std::string_view text) { return absl::string_view(text.data(), text.size()); }

void LogFlushFailure(const absl::Status& status) {
  common::Log(common::LogLevel::kWarning, "last_used_flush_failed", {{"error", std::string(status.message())}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<LastUseRecorder>> LastUseRecorder::Create(storage::ClientStore* store,
                                                                         std::chrono::milliseconds flush_interval) {
  if (flush_interval <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("the last-use flush interval must be positive");
  }
  std::unique_ptr<LastUseRecorder> recorder(new LastUseRecorder(store, flush_interval));
  recorder->flusher_ = std::thread([raw = recorder.get()] { raw->FlushLoop(); });
  return recorder;
}

LastUseRecorder::LastUseRecorder(storage::ClientStore* store, std::chrono::milliseconds flush_interval)
    : store_(store), flush_interval_(flush_interval) {}

LastUseRecorder::~LastUseRecorder() { Stop(); }

void LastUseRecorder::Record(std::string_view client_id, int64_t now) {
  absl::MutexLock lock(&mutex_);
  const auto [it, inserted] = pending_.try_emplace(ToAbsl(client_id), now);
  if (!inserted) it->second = std::max(it->second, now);
}

int64_t LastUseRecorder::Pending(std::string_view client_id) const {
  absl::MutexLock lock(&mutex_);
  int64_t last_used = 0;
  if (const auto it = pending_.find(ToAbsl(client_id)); it != pending_.end()) last_used = it->second;
  if (const auto it = flushing_.find(ToAbsl(client_id)); it != flushing_.end()) {
    last_used = std::max(last_used, it->second);
  }
  return last_used;
}

absl::Status LastUseRecorder::Flush() {
  absl::MutexLock flush_lock(&flush_mutex_);
  std::vector<std::pair<std::string, int64_t>> batch;
  {
    absl::MutexLock lock(&mutex_);
    flushing_.swap(pending_);
    batch.assign(flushing_.begin(), flushing_.end());
  }
  if (batch.empty()) return absl::OkStatus();
  const absl::Status written = store_->RecordLastUsed(batch);
  absl::MutexLock lock(&mutex_);
  if (!written.ok()) {
    // Kept for the next flush; a newer use recorded meanwhile wins.
    for (const auto& [client_id, last_used] : flushing_) {
      int64_t& pending = pending_[client_id];
      pending = std::max(pending, last_used);
    }
  }
  flushing_.clear();
  return written;
}

void LastUseRecorder::FlushLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(flush_interval_))) return;
    }
    if (const absl::Status flushed = Flush(); !flushed.ok()) LogFlushFailure(flushed);
  }
}

void LastUseRecorder::Stop() {
  absl::MutexLock stop_lock(&stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (flusher_.joinable()) flusher_.join();
  if (const absl::Status flushed = Flush(); !flushed.ok()) LogFlushFailure(flushed);
}

}  // namespace clientreg::server
