#ifndef CLIENTREG_SERVER_RPC_METRICS_H_
#define CLIENTREG_SERVER_RPC_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace clientreg::server {

// The server's own metrics (issue 10), registered once in `registry` and updated by the services. Families the
// store and the health monitor own are registered by them.
struct ServerMetrics {
  explicit ServerMetrics(common::MetricsRegistry& registry);

  // outcome: created, invalid, unauthorized (initial access token), rate_limited, at_capacity (max_dynamic_clients),
  // overloaded, unavailable, error.
  common::CounterFamily& registrations;
  // method: the RPC's method name (Register, GetRegistration, ...).
  common::HistogramFamily& rpc_duration;
  // outcome: ok, invalid, disabled, error (AuthenticateClient).
  common::CounterFamily& client_authentications;
  // The ClientDirectory calls by method and outcome. ResolveClient: active, disabled, not_found, invalid, error.
  // CheckRedirectUri: exact_match, loopback_port_match (allowed); not_registered, client_disabled, invalid_uri
  // (refused); not_found, invalid, error.
  common::CounterFamily& directory_calls;
  // outcome: ok, invalid, disabled, error (registration access tokens on the RFC 7592 methods).
  common::CounterFamily& registration_token_checks;
  // reason: unauthenticated, permission_denied (calls the CallerAuthorizer refused).
  common::CounterFamily& caller_refusals;
  // limit: the rate limit that refused a request (RateLimiter).
  common::CounterFamily& rate_limited;
};

// The outcome label of a finished registration.
const char* RegistrationOutcome(const absl::Status& status);

// Times every call from its arrival to its status, into `rpc_duration` by method name for the methods of
// `services` (fully qualified service names) and as method "other" for any other path a caller sends, and logs one
// `rpc` line per call with the caller's request id (the `x-request-id` metadata the gateway sends), at info for a
// failed call and at debug for a successful one. `metrics` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(
    ServerMetrics* metrics, const std::vector<std::string>& services);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_RPC_METRICS_H_
