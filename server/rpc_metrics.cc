#include "server/rpc_metrics.h"

#include <chrono>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "grpcpp/server_context.h"

namespace clientreg::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The metadata key under which the gateway passes its request id (lowercase, as gRPC requires).
constexpr char kRequestIdKey[] = "x-request-id";

// "/clientreg.v1.ClientRegistration/Register" -> "Register".
std::string_view MethodName(const char* full_name) {
  const std::string_view name(full_name != nullptr ? full_name : "");
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    default:
      return "ERROR";
  }
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
      std::string request_id;
      if (const grpc::ServerContextBase* context = info_->server_context(); context != nullptr) {
        const auto& metadata = context->client_metadata();
        if (const auto found = metadata.find(kRequestIdKey); found != metadata.end()) {
          request_id.assign(found->second.data(), found->second.size());
        }
      }
      common::Log(status.ok() ? common::LogLevel::kDebug : common::LogLevel::kInfo, "rpc",
                  {{"method", MethodName(info_->method())},
                   {"code", CodeName(status.error_code())},
                   {"duration_ms", absl::StrFormat("%.3f", elapsed.count() * 1000)},
                   {"request_id", request_id}});
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
  explicit RpcMetricsInterceptorFactoryImpl(ServerMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(info, &metrics_->rpc_duration.WithLabels({MethodName(info->method())}));
  }

 private:
  ServerMetrics* const metrics_;
};

}  // namespace

ServerMetrics::ServerMetrics(common::MetricsRegistry& registry)
    : registrations(registry.AddCounter("clientreg_registrations_total",
                                        "Registrations (Register calls) by outcome: created, invalid, overloaded, "
                                        "unavailable, error.",
                                        {"outcome"})),
      rpc_duration(registry.AddHistogram("clientreg_rpc_duration_seconds",
                                         "Time from a gRPC call's arrival to its status, by method.",
                                         common::LatencyBuckets(), {"method"})),
      client_authentications(registry.AddCounter("clientreg_client_authentications_total",
                                                 "AuthenticateClient calls by outcome: ok, invalid, disabled, error.",
                                                 {"outcome"})),
      registration_token_checks(registry.AddCounter(
          "clientreg_registration_token_checks_total",
          "Registration access token checks of the RFC 7592 methods by outcome: ok, invalid, disabled, error.",
          {"outcome"})) {}

const char* RegistrationOutcome(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "created";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    case absl::StatusCode::kResourceExhausted:
      return "overloaded";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    default:
      return "error";
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(
    ServerMetrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactoryImpl>(metrics);
}

}  // namespace clientreg::server
