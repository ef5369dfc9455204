#ifndef CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_
#define CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/ops_endpoints.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"

namespace clientreg::gateway {

// The gateway's readiness: its server answers SERVING to grpc.health.v1 Check for the whole server (service ""),
// asked every `interval` on this object's own thread (never an Asio thread), and the gateway is not draining.
// Thread-safe.
class UpstreamHealth {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    // Of each Check: a server that does not answer within it counts as not serving.
    std::chrono::milliseconds deadline{500};
  };

  // Asks the server once before returning, so the first answer is real.
  UpstreamHealth(std::shared_ptr<grpc::Channel> channel, Options options);
  ~UpstreamHealth();  // Stop()

  UpstreamHealth(const UpstreamHealth&) = delete;
  UpstreamHealth& operator=(const UpstreamHealth&) = delete;

  // Starts the periodic checks.
  void Start();
  // Ready() is false from now on: the first step of a drain.
  void SetDraining();
  // Stops the periodic checks; the last result stays. Idempotent.
  void Stop();

  bool Ready() const;
  // What /readyz reports: "server" and "draining", each with whether it passes and, when it does not, why.
  std::vector<common::HealthCheckResult> Checks() const;

  // Asks the server now (what the thread does every interval), waiting at most the deadline.
  void CheckNow();

 private:
  void Run();

  const std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  const Options options_;
  mutable absl::Mutex mutex_;
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  bool checked_ ABSL_GUARDED_BY(mutex_) = false;  // so that the first result is logged whatever it is
  std::string detail_ ABSL_GUARDED_BY(mutex_);
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_
