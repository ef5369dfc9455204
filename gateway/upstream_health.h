#ifndef CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_
#define CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/ops_endpoints.h"
#include "common/readiness.h"
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

  // Starts the periodic checks.
  void Start() { readiness_.Start(); }
  // Ready() is false from now on: the first step of a drain.
  void SetDraining() { readiness_.SetDraining(); }
  // Stops the periodic checks; the last result stays. Idempotent.
  void Stop() { readiness_.Stop(); }

  bool Ready() const { return readiness_.Ready(); }
  // What /readyz reports: "server" and "draining", each with whether it passes and, when it does not, why.
  std::vector<common::HealthCheckResult> Checks() const { return readiness_.Checks(); }

  // Asks the server now (what the thread does every interval), waiting at most the deadline.
  void CheckNow() { readiness_.CheckNow(); }

 private:
  // Declared before readiness_, whose probe uses it from the constructor on.
  const std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  common::Readiness readiness_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_UPSTREAM_HEALTH_H_
