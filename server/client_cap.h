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
// is read at most once a second (it is cheap, but not free on every registration), and the clients this process
// created since are added to it, so one process never overshoots the cap; replicas sharing a store may by the
// registrations of one second. Thread-safe.
class ClientCap {
 public:
  // `max_clients` 0 disables the cap. `store` and `clock` must outlive the cap.
  ClientCap(uint64_t max_clients, const storage::ClientStore* store, const common::Clock* clock);

  // OK while below the cap. At it: common::TemporarilyUnavailable (HTTP 503, Retry-After 300: the client is not at
  // fault, and room comes back when clients are deleted or reaped). If the store cannot be counted, OK: the write
  // that follows meets the same store and answers for itself.
  absl::Status Admit();
  // A registration was written.
  void Created();

 private:
  const uint64_t max_clients_;
  const storage::ClientStore* const store_;
  const common::Clock* const clock_;
  absl::Mutex mutex_;
  bool counted_ever_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t counted_at_millis_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t counted_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<int64_t> created_since_count_{0};
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_CAP_H_
