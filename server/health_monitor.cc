#include "server/health_monitor.h"

#include <utility>

#include "absl/time/time.h"
#include "common/logging.h"

namespace clientreg::server {

HealthMonitor::HealthMonitor(storage::ClientStore* store, Options options)
    : store_(store), options_(std::move(options)) {
  CheckNow();
}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start(grpc::HealthCheckServiceInterface* health) {
  {
    absl::MutexLock lock(&mutex_);
    health_ = health;
    // Told once whatever it was, so that a health service starting as SERVING never shows a failed store.
    published_serving_ = !(store_ok_ && !draining_);
    Publish();
  }
  thread_ = std::thread([this] { Run(); });
}

void HealthMonitor::SetDraining() {
  absl::MutexLock lock(&mutex_);
  draining_ = true;
  Publish();
}

void HealthMonitor::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool HealthMonitor::Ready() const {
  absl::MutexLock lock(&mutex_);
  return store_ok_ && !draining_;
}

std::vector<common::HealthCheckResult> HealthMonitor::Checks() const {
  absl::MutexLock lock(&mutex_);
  return {{"store", store_ok_, store_ok_ ? "" : store_detail_},
          {"draining", !draining_, draining_ ? "the server is shutting down" : ""}};
}

void HealthMonitor::CheckNow() {
  // Outside the lock: a check of a failing disk may take a while, and Ready() must not wait for it.
  const absl::Status status = store_->CheckHealth();
  absl::MutexLock lock(&mutex_);
  if (status.ok() && !store_ok_) common::Log(common::LogLevel::kInfo, "store_healthy");
  if (!status.ok() && store_ok_) {
    common::Log(common::LogLevel::kError, "store_unhealthy", {{"error", std::string(status.message())}});
  }
  store_ok_ = status.ok();
  store_detail_ = std::string(status.message());
  Publish();
}

void HealthMonitor::Publish() {
  const bool serving = store_ok_ && !draining_;
  if (health_ == nullptr || serving == published_serving_) return;
  published_serving_ = serving;
  health_->SetServingStatus("", serving);
  for (const std::string& service : options_.services) health_->SetServingStatus(service, serving);
}

void HealthMonitor::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(options_.interval))) return;
    }
    CheckNow();
  }
}

}  // namespace clientreg::server
