#include "gateway/upstream_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"

namespace clientreg::gateway {
namespace {

using grpc::health::v1::HealthCheckResponse;

// OK if the server answers SERVING for the whole server (service "") within `deadline`.
absl::Status CheckServer(grpc::health::v1::Health::Stub& stub, std::chrono::milliseconds deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  const grpc::health::v1::HealthCheckRequest request;
  HealthCheckResponse response;
  const grpc::Status status = stub.Check(&context, request, &response);
  // The server's own message is left out: an operator reads the server's log for it.
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("health check failed with gRPC code ", static_cast<int>(status.error_code())));
  }
  if (response.status() != HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat("the server reports ", HealthCheckResponse::ServingStatus_Name(response.status())));
  }
  return absl::OkStatus();
}

}  // namespace

UpstreamHealth::UpstreamHealth(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(grpc::health::v1::Health::NewStub(std::move(channel))),
      readiness_([stub = stub_.get(), deadline = options.deadline] { return CheckServer(*stub, deadline); },
                 common::Readiness::Options{"server", "upstream_serving", "upstream_not_serving",
                                            "the gateway is shutting down", options.interval}) {}

}  // namespace clientreg::gateway
