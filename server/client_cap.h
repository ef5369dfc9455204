#ifndef CLIENTREG_SERVER_CLIENT_CAP_H_
#define CLIENTREG_SERVER_CLIENT_CAP_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "storage/client_store.h"

namespace clientreg::server {

// ServerConfig.max_dynamic_clients: Register is refused while the store holds that many clients. The store's count
// is read at most once a second (it is cheap, but not free on every registration); the clients this process created
// since, and the registrations it admitted that are still being written, are added to it. An admission thus
// reserves its slot until its write ends, so one process never overshoots the cap, however many registrations
// arrive at once; replicas sharing a store may, by the registrations of one second. Thread-safe.
class ClientCap {
 public:
  // `max_clients` 0 disables the cap. `store` and `clock` must outlive the cap.
  ClientCap(uint64_t max_clients, const storage::ClientStore* store, const common::Clock* clock);

  // OK while below the cap, counting the slots reserved by earlier admissions: the caller then holds a slot and
  // must call Finished once. At the cap: common::TemporarilyUnavailable (HTTP 503, Retry-After 300: the client is
  // not at fault, and room comes back when clients are deleted or reaped), and no slot. If the store cannot be
  // counted, OK (with a slot): the write that follows meets the same store and answers for itself.
  absl::Status Admit();
  // The admitted registration ended: `created` if its client was written, which then counts until the next recount;
  // otherwise its slot is free again.
  void Finished(bool created);

 private:
  const uint64_t max_clients_;
  const storage::ClientStore* const store_;
  const common::Clock* const clock_;
  absl::Mutex mutex_;
  bool counted_ever_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t counted_at_millis_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t counted_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<int64_t> created_since_count_{0};
  std::atomic<int64_t> in_flight_{0};  // admitted, not yet Finished
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_CAP_H_
