#ifndef CLIENTREG_SERVER_LAST_USE_RECORDER_H_
#define CLIENTREG_SERVER_LAST_USE_RECORDER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/client_store.h"

namespace clientreg::server {

// When clients were last used (AuthenticateClient; ResolveClient for authorize and token), kept in memory and
// written to the store in batches (ClientStore::RecordLastUsed) by a background thread every `flush_interval`, and
// once more by Stop(): a call never waits for the disk, and a crash may lose the last interval's worth of last-use
// times. One recorder serves every caller in a process, so that Pending sees every use. Thread-safe.
class LastUseRecorder {
 public:
  // Starts the flush thread. `store` must outlive the recorder. InvalidArgument if `flush_interval` is not positive.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LastUseRecorder>> Create(
      storage::ClientStore* store, std::chrono::milliseconds flush_interval);

  // Stop(), then destruction.
  ~LastUseRecorder();

  LastUseRecorder(const LastUseRecorder&) = delete;
  LastUseRecorder& operator=(const LastUseRecorder&) = delete;

  // Notes that `client_id` was used at `now` (seconds since the epoch); a later time recorded earlier wins.
  void Record(std::string_view client_id, int64_t now);

  // The last use of `client_id` recorded here and not yet written to the store (pending, or in the batch a flush
  // is writing); 0 if none.
  int64_t Pending(std::string_view client_id) const;

  // Writes the pending last-use times now, in one RecordLastUsed call. On failure they stay pending for the next
  // flush, and the store's error is returned.
  [[nodiscard]] absl::Status Flush();

  // Stops the flush thread and flushes once more (a failure is logged). Idempotent: later calls do nothing, and
  // uses recorded after it are written only by an explicit Flush().
  void Stop();

 private:
  LastUseRecorder(storage::ClientStore* store, std::chrono::milliseconds flush_interval);

  void FlushLoop();

  storage::ClientStore* const store_;
  const std::chrono::milliseconds flush_interval_;

  mutable absl::Mutex mutex_;
  // client_id -> last use, not yet handed to the store.
  absl::flat_hash_map<std::string, int64_t> pending_ ABSL_GUARDED_BY(mutex_);
  // The batch being written by Flush(), still visible to Pending until the store has it.
  absl::flat_hash_map<std::string, int64_t> flushing_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Serialises Flush() calls, so that a batch is in flushing_ alone while it is written. Taken before mutex_.
  absl::Mutex flush_mutex_;
  // Serialises Stop() calls, so that the thread is joined once.
  absl::Mutex stop_mutex_;
  bool stopped_ ABSL_GUARDED_BY(stop_mutex_) = false;
  std::thread flusher_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_LAST_USE_RECORDER_H_
