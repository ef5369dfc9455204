#include "server/rpc_metrics.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"

namespace clientreg::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The metadata key under which the gateway passes its request id (lowercase, as gRPC requires).
constexpr char kRequestIdKey[] = "x-request-id";
constexpr size_t kMaxRequestIdBytes = 64;
// The method label of a call to a method no service of ours has: a caller must not be able to mint label values.
constexpr char kOtherMethod[] = "other";

// "/clientreg.v1.ClientRegistration/Register" -> "Register".
std::string_view MethodName(const char* full_name) {
  const std::string_view name(full_name != nullptr ? full_name : "");
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(grpc::experimental::ServerRpcInfo* info, common::Histogram* duration)
      : info_(info), duration_(duration), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      duration_->Observe(elapsed.count());
      const grpc::Status status = methods->GetSendStatus();
      const common::LogLevel level = status.ok() ? common::LogLevel::kDebug : common::LogLevel::kInfo;
      // Most calls succeed and are logged only at debug: skip the formatting when the line would be dropped.
      if (common::LogLevelEnabled(level)) {
        std::string request_id;
        if (const grpc::ServerContextBase* context = info_->server_context(); context != nullptr) {
          const auto& metadata = context->client_metadata();
          if (const auto found = metadata.find(kRequestIdKey); found != metadata.end()) {
            // The gateway sends at most 64 characters; a direct caller's longer value is cut, not logged whole.
            request_id.assign(found->second.data(), std::min<size_t>(found->second.size(), kMaxRequestIdBytes));
          }
        }
        // gRPC's codes are absl's, number for number.
        common::Log(level, "rpc",
                    {{"method", MethodName(info_->method())},
                     {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))},
                     {"duration_ms", absl::StrFormat("%.3f", elapsed.count() * 1000)},
                     {"request_id", request_id}});
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  common::Histogram* const duration_;
  const std::chrono::steady_clock::time_point start_;
};

class RpcMetricsInterceptorFactoryImpl final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Every method of `services` gets its histogram child up front, so a call looks one up without a lock.
  RpcMetricsInterceptorFactoryImpl(ServerMetrics* metrics, const std::vector<std::string>& services)
      : other_(&metrics->rpc_duration.WithLabels({kOtherMethod})) {
    for (const std::string& service_name : services) {
      const google::protobuf::ServiceDescriptor* service =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
      if (service == nullptr) continue;
      for (int i = 0; i < service->method_count(); ++i) {
        const std::string& method = service->method(i)->name();
        by_path_.emplace("/" + service_name + "/" + method, &metrics->rpc_duration.WithLabels({method}));
      }
    }
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    const auto found = by_path_.find(absl::string_view(info->method() != nullptr ? info->method() : ""));
    return new RpcMetricsInterceptor(info, found != by_path_.end() ? found->second : other_);
  }

 private:
  // "/clientreg.v1.ClientRegistration/Register" -> its child of rpc_duration.
  absl::flat_hash_map<std::string, common::Histogram*> by_path_;
  common::Histogram* const other_;
};

}  // namespace

ServerMetrics::ServerMetrics(common::MetricsRegistry& registry)
    : registrations(registry.AddCounter("clientreg_registrations_total",
                                        "Registrations (Register calls) by outcome: created, invalid, unauthorized, "
                                        "rate_limited, at_capacity, overloaded, unavailable, error.",
                                        {"outcome"})),
      rpc_duration(registry.AddHistogram("clientreg_rpc_duration_seconds",
                                         "Time from a gRPC call's arrival to its status, by method.",
                                         common::LatencyBuckets(), {"method"})),
      client_authentications(registry.AddCounter("clientreg_client_authentications_total",
                                                 "AuthenticateClient calls by outcome: ok, invalid, disabled, error.",
                                                 {"outcome"})),
      directory_calls(registry.AddCounter(
          "clientreg_directory_calls_total",
          "ClientDirectory calls by method and outcome. ResolveClient: active, disabled, not_found, invalid, error. "
          "CheckRedirectUri: exact_match, loopback_port_match, not_registered, client_disabled, invalid_uri, "
          "not_found, invalid, error.",
          {"method", "outcome"})),
      registration_token_checks(registry.AddCounter(
          "clientreg_registration_token_checks_total",
          "Registration access token checks of the RFC 7592 methods by outcome: ok, invalid, disabled, error.",
          {"outcome"})),
      caller_refusals(registry.AddCounter("clientreg_caller_refusals_total",
                                          "Calls refused for their caller by reason: unauthenticated (no known "
                                          "credential), permission_denied (a caller not allowed that service).",
                                          {"reason"})),
      rate_limited(registry.AddCounter("clientreg_rate_limited_total",
                                       "Requests refused by a rate limit, by limit: per_client_ip, trusted_network, "
                                       "per_software_id, global, failed_token_checks_per_client_ip.",
                                       {"limit"})) {}

const char* RegistrationOutcome(const absl::Status& status) {
  const std::optional<clientreg::v1::RegistrationError> detail = common::GetRegistrationError(status);
  const std::string_view error = detail.has_value() ? std::string_view(detail->error()) : std::string_view();
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "created";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    case absl::StatusCode::kUnauthenticated:
      return "unauthorized";
    case absl::StatusCode::kResourceExhausted:
      return error == common::kTooManyRequests ? "rate_limited" : "overloaded";
    case absl::StatusCode::kUnavailable:
      return error == common::kTemporarilyUnavailable ? "at_capacity" : "unavailable";
    default:
      return "error";
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(
    ServerMetrics* metrics, const std::vector<std::string>& services) {
  return std::make_unique<RpcMetricsInterceptorFactoryImpl>(metrics, services);
}

}  // namespace clientreg::server
