#include "gateway/upstream_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "grpcpp/client_context.h"

namespace clientreg::gateway {

using grpc::health::v1::HealthCheckResponse;

UpstreamHealth::UpstreamHealth(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(grpc::health::v1::Health::NewStub(std::move(channel))), options_(options) {
  CheckNow();
}

UpstreamHealth::~UpstreamHealth() { Stop(); }

void UpstreamHealth::Start() {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void UpstreamHealth::SetDraining() {
  absl::MutexLock lock(&mutex_);
  draining_ = true;
}

void UpstreamHealth::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool UpstreamHealth::Ready() const {
  absl::MutexLock lock(&mutex_);
  return serving_ && !draining_;
}

std::vector<common::HealthCheckResult> UpstreamHealth::Checks() const {
  absl::MutexLock lock(&mutex_);
  return {{"server", serving_, serving_ ? "" : detail_},
          {"draining", !draining_, draining_ ? "the gateway is shutting down" : ""}};
}

void UpstreamHealth::CheckNow() {
  // Outside the lock: the call may take up to the deadline, and Ready() must not wait for it.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  grpc::health::v1::HealthCheckRequest request;  // service "": the server as a whole
  HealthCheckResponse response;
  const grpc::Status status = stub_->Check(&context, request, &response);
  const bool serving = status.ok() && response.status() == HealthCheckResponse::SERVING;
  // The server's own message is left out: an operator reads the server's log for it.
  std::string detail;
  if (!status.ok()) {
    detail = absl::StrCat("health check failed with gRPC code ", static_cast<int>(status.error_code()));
  } else if (!serving) {
    detail = absl::StrCat("the server reports ", HealthCheckResponse::ServingStatus_Name(response.status()));
  }
  absl::MutexLock lock(&mutex_);
  if (!checked_ || serving != serving_) {
    if (serving) {
      common::Log(common::LogLevel::kInfo, "upstream_serving");
    } else {
      common::Log(common::LogLevel::kWarning, "upstream_not_serving", {{"detail", detail}});
    }
  }
  checked_ = true;
  serving_ = serving;
  detail_ = std::move(detail);
}

void UpstreamHealth::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(options_.interval))) return;
    }
    CheckNow();
  }
}

}  // namespace clientreg::gateway
