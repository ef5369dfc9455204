#ifndef CLIENTREG_COMMON_OPS_ENDPOINTS_H_
#define CLIENTREG_COMMON_OPS_ENDPOINTS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/ops_server.h"

namespace clientreg::common {

// One named check of a readiness report, and why it fails when it does.
struct HealthCheckResult {
  std::string name;
  bool ok = false;
  std::string detail;
};

// /healthz: 200 {"status":"ok"}. Answering at all is the proof of liveness: the event loop turns.
OpsResponse LivenessResponse();

// /readyz: 200 when every check passes, else 503, with a body naming each check in order:
// {"status":"ready","checks":{"store":{"status":"ok"},"draining":{"status":"fail","detail":"..."}}}
// ("not_ready" when one fails). A detail is an operator's message; it never holds a secret.
OpsResponse ReadinessResponse(const std::vector<HealthCheckResult>& checks);

// /metrics: 200 with `registry` in the Prometheus text format 0.0.4.
OpsResponse MetricsResponse(const MetricsRegistry& registry);

// Starts a process's ops port on `address`: /healthz, /readyz from what `checks` says when asked, and /metrics
// from `metrics`, which must outlive the server (OpsServer::Start's errors).
[[nodiscard]] absl::StatusOr<std::unique_ptr<OpsServer>> StartOpsEndpoints(
    const std::string& address, std::function<std::vector<HealthCheckResult>()> checks, const MetricsRegistry* metrics);

// Registers what every clientreg process reports about itself: clientreg_build_info{version,revision} (always 1)
// and clientreg_log_lines_dropped_total (lines the logger dropped because its buffer was full).
void RegisterProcessMetrics(MetricsRegistry& registry);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_OPS_ENDPOINTS_H_
