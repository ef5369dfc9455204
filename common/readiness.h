#ifndef CLIENTREG_COMMON_READINESS_H_
#define CLIENTREG_COMMON_READINESS_H_

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/ops_endpoints.h"

namespace clientreg::common {

// A process's readiness: the one dependency it needs answers (`probe`, asked every `interval` on this object's own
// thread, never a request thread) and the process is not draining. What both processes' /readyz report, and what
// the server mirrors into gRPC's health service. Thread-safe.
class Readiness {
 public:
  struct Options {
    // The check's name in /readyz ("store", "server"), and the log events of its changes.
    std::string dependency;
    std::string healthy_event;
    std::string unhealthy_event;
    // What /readyz says of the "draining" check while draining.
    std::string draining_detail;
    std::chrono::milliseconds interval{1000};
  };
  // OK when the dependency answers; otherwise a status whose message says why (an operator's message, no secret).
  using Probe = std::function<absl::Status()>;
  // Called with Ready() whenever it may have changed, on the thread that changed it and under the object's lock:
  // it must be quick and must not call back into this object.
  using Listener = std::function<void(bool ready)>;

  // Probes once before returning, so the first answer is real. `probe` is called from one thread at a time.
  Readiness(Probe probe, Options options);
  ~Readiness();  // Stop()
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // Tells `listener` (optional) the readiness now and on every later change, and starts the periodic probes.
  void Start(Listener listener = nullptr);
  // Ready() is false from now on: the first step of a drain.
  void SetDraining();
  // Stops the periodic probes; the last result stays. Idempotent.
  void Stop();

  bool Ready() const;
  // The dependency's check and "draining", each with whether it passes and, when it does not, why.
  std::vector<HealthCheckResult> Checks() const;

  // Probes now (what the thread does every interval) and publishes the result.
  void CheckNow();

 private:
  void Notify() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Run();

  const Probe probe_;
  const Options options_;
  mutable absl::Mutex mutex_;
  bool checked_ ABSL_GUARDED_BY(mutex_) = false;
  bool dependency_ok_ ABSL_GUARDED_BY(mutex_) = false;
  std::string dependency_detail_ ABSL_GUARDED_BY(mutex_);
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  Listener listener_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_READINESS_H_
