#ifndef CLIENTREG_SERVER_HEALTH_MONITOR_H_
#define CLIENTREG_SERVER_HEALTH_MONITOR_H_

#include <chrono>
#include <string>
#include <vector>

#include "common/ops_endpoints.h"
#include "common/readiness.h"
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

  // Starts mirroring into `health` (which must outlive the monitor, or Stop be called first), and the periodic checks.
  void Start(grpc::HealthCheckServiceInterface* health);
  // Ready() is false from now on, and the health service says NOT_SERVING: the first step of a drain.
  void SetDraining() { readiness_.SetDraining(); }
  // Stops the periodic checks; the health service keeps its last status. Idempotent.
  void Stop() { readiness_.Stop(); }

  bool Ready() const { return readiness_.Ready(); }
  // What /readyz reports: "store" and "draining", each with whether it passes and, when it does not, why.
  std::vector<common::HealthCheckResult> Checks() const { return readiness_.Checks(); }

  // Asks the store now (what the thread does every interval) and publishes the result.
  void CheckNow() { readiness_.CheckNow(); }

 private:
  const std::vector<std::string> services_;
  common::Readiness readiness_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_HEALTH_MONITOR_H_
