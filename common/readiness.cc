#include "common/readiness.h"

#include <utility>

#include "absl/time/time.h"
#include "common/logging.h"

namespace clientreg::common {

Readiness::Readiness(Probe probe, Options options) : probe_(std::move(probe)), options_(std::move(options)) {
  CheckNow();
}

Readiness::~Readiness() { Stop(); }

void Readiness::Start(Listener listener) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || thread_.joinable()) return;
  listener_ = std::move(listener);
  Notify();
  thread_ = std::thread([this] { Run(); });
}

void Readiness::SetDraining() {
  absl::MutexLock lock(&mutex_);
  draining_ = true;
  Notify();
}

void Readiness::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Readiness::Ready() const {
  absl::MutexLock lock(&mutex_);
  return dependency_ok_ && !draining_;
}

std::vector<HealthCheckResult> Readiness::Checks() const {
  absl::MutexLock lock(&mutex_);
  return {{options_.dependency, dependency_ok_, dependency_ok_ ? "" : dependency_detail_},
          {"draining", !draining_, draining_ ? options_.draining_detail : ""}};
}

void Readiness::CheckNow() {
  // Outside the lock: a probe of a failing dependency may take a while, and Ready() must not wait for it.
  const absl::Status status = probe_();
  absl::MutexLock lock(&mutex_);
  if (!checked_ || status.ok() != dependency_ok_) {
    if (status.ok()) {
      Log(LogLevel::kInfo, options_.healthy_event);
    } else {
      Log(LogLevel::kError, options_.unhealthy_event, {{"detail", std::string(status.message())}});
    }
  }
  checked_ = true;
  dependency_ok_ = status.ok();
  dependency_detail_ = std::string(status.message());
  Notify();
}

void Readiness::Notify() {
  if (listener_ != nullptr) listener_(dependency_ok_ && !draining_);
}

void Readiness::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(options_.interval))) return;
    }
    CheckNow();
  }
}

}  // namespace clientreg::common
