#include "common/ops_endpoints.h"

#include <algorithm>

#include "common/build_info.h"
#include "common/json_string.h"
#include "common/logging.h"

namespace clientreg::common {

OpsResponse LivenessResponse() { return OpsResponse{200, "application/json", R"({"status":"ok"})"}; }

OpsResponse ReadinessResponse(const std::vector<HealthCheckResult>& checks) {
  const bool ready = std::all_of(checks.begin(), checks.end(), [](const HealthCheckResult& check) { return check.ok; });
  std::string body = ready ? R"({"status":"ready","checks":{)" : R"({"status":"not_ready","checks":{)";
  for (size_t i = 0; i < checks.size(); ++i) {
    if (i > 0) body += ',';
    AppendJsonString(body, checks[i].name);
    body += checks[i].ok ? R"(:{"status":"ok")" : R"(:{"status":"fail")";
    if (!checks[i].ok && !checks[i].detail.empty()) {
      body += R"(,"detail":)";
      AppendJsonStringReplacingInvalidUtf8(body, checks[i].detail);
    }
    body += '}';
  }
  body += "}}";
  return OpsResponse{ready ? 200 : 503, "application/json", std::move(body)};
}

OpsResponse MetricsResponse(const MetricsRegistry& registry) {
  return OpsResponse{200, kPrometheusContentType, registry.Encode()};
}

absl::StatusOr<std::unique_ptr<OpsServer>> StartOpsEndpoints(const std::string& address,
                                                             std::function<std::vector<HealthCheckResult>()> checks,
                                                             const MetricsRegistry* metrics) {
  return OpsServer::Start(address, {{"/healthz", [] { return LivenessResponse(); }},
                                    {"/readyz", [checks = std::move(checks)] { return ReadinessResponse(checks()); }},
                                    {"/metrics", [metrics] { return MetricsResponse(*metrics); }}});
}

void RegisterProcessMetrics(MetricsRegistry& registry) {
  registry
      .AddGauge("clientreg_build_info", "The running build: its version and git revision; always 1.",
                {"version", "revision"})
      .WithLabels({BuildVersion(), BuildRevision()})
      .Set(1);
  registry.AddCallbackCounter("clientreg_log_lines_dropped_total",
                              "Log lines dropped because the log buffer was full (the disk or the reader of stderr "
                              "was too slow).",
                              {}, [] {
                                return std::vector<Sample>{{{}, static_cast<double>(DroppedLogLines())}};
                              });
}

}  // namespace clientreg::common
