#include "server/health_monitor.h"

#include <optional>
#include <utility>

namespace clientreg::server {

HealthMonitor::HealthMonitor(storage::ClientStore* store, Options options)
    : services_(std::move(options.services)),
      readiness_([store] { return store->CheckHealth(); },
                 common::Readiness::Options{"store", "store_healthy", "store_unhealthy", "the server is shutting down",
                                            options.interval}) {}

void HealthMonitor::Start(grpc::HealthCheckServiceInterface* health) {
  // Told the first time whatever it is, so that a health service starting as SERVING never shows a failed store;
  // then only changes.
  readiness_.Start([this, health, told = std::optional<bool>()](bool ready) mutable {
    if (told == ready) return;
    told = ready;
    health->SetServingStatus("", ready);
    for (const std::string& service : services_) health->SetServingStatus(service, ready);
  });
}

}  // namespace clientreg::server
