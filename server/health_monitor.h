#ifndef CLIENTREG_SERVER_HEALTH_MONITOR_H_
#define CLIENTREG_SERVER_HEALTH_MONITOR_H_

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/ops_endpoints.h"
#include "grpcpp/health_check_service_interface.h"
#include "storage/client_store.h"

namespace clientreg::server {

// The server's readiness: the store answers (ClientStore::CheckHealth, asked every `interval` on the monitor's own
// thread) and the server is not draining. Every change is mirrored into gRPC's health service (grpc.health.v1), for
// the server as a whole ("") and for each named service, so that load balancers and gateways see it. Thread-safe.
class HealthMonitor {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    // The fully qualified services reported besides "".
    std::vector<std::string> services;
  };

  // `store` must outlive the monitor. Checks the store once before returning, so the first answer is real.
  HealthMonitor(storage::ClientStore* store, Options options);
  // Stops the thread.
  ~HealthMonitor();

  // Starts mirroring into `health` (which must outlive the monitor, or Stop be called first), and the periodic checks.
  void Start(grpc::HealthCheckServiceInterface* health);
  // Ready() is false from now on, and the health service says NOT_SERVING: the first step of a drain.
  void SetDraining();
  // Stops the periodic checks; the health service keeps its last status. Idempotent.
  void Stop();

  bool Ready() const;
  // What /readyz reports: "store" and "draining", each with whether it passes and, when it does not, why.
  std::vector<common::HealthCheckResult> Checks() const;

  // Asks the store now (what the thread does every interval) and publishes the result.
  void CheckNow();

 private:
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Run();

  storage::ClientStore* const store_;
  const Options options_;
  mutable absl::Mutex mutex_;
  bool store_ok_ ABSL_GUARDED_BY(mutex_) = false;
  std::string store_detail_ ABSL_GUARDED_BY(mutex_);
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // The last status told to `health_`, so that only changes are logged.
  bool published_serving_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::thread thread_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_HEALTH_MONITOR_H_
