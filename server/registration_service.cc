#include "server/registration_service.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/registration_error.h"
#include "server/client_ip.h"
#include "server/grpc_status.h"

namespace clientreg::server {
namespace {

constexpr std::string_view kService = clientreg::v1::ClientRegistration::service_full_name();

}  // namespace

RegistrationService::RegistrationService(const Registrar* registrar, const InitialAccessTokens* tokens,
                                         const RegistrationManager* manager, const CallerAuthorizer* callers,
                                         clientreg::v1::ServerMetadata server_metadata, ServerMetrics* metrics,
                                         RateLimiter* limiter, ClientCap* cap)
    : registrar_(registrar),
      tokens_(tokens),
      manager_(manager),
      callers_(callers),
      server_metadata_(std::move(server_metadata)),
      metrics_(metrics),
      limiter_(limiter),
      cap_(cap) {}

absl::Status RegistrationService::CountRateLimited(absl::Status status) const {
  if (!status.ok() && metrics_ != nullptr) {
    const auto detail = common::GetRegistrationError(status);
    metrics_->rate_limited.WithLabels({detail.has_value() ? detail->limit() : std::string("unknown")}).Increment();
  }
  return status;
}

std::optional<common::IpAddress> RegistrationService::ClientIp(const grpc::ServerContextBase& context) const {
  // Every caller allowed this service is a gateway, or a local process of an open local run: its metadata is trusted.
  if (limiter_ == nullptr) return std::nullopt;  // nothing counts by address
  return ClientIpOf(context, /*trust_gateway_metadata=*/true);
}

absl::Status RegistrationService::AdmitTokenCheck(const std::optional<common::IpAddress>& client_ip) const {
  if (limiter_ == nullptr) return absl::OkStatus();
  return CountRateLimited(limiter_->AdmitTokenCheck(client_ip));
}

void RegistrationService::CountTokenCheck(const std::optional<common::IpAddress>& client_ip,
                                          const absl::Status& checked) const {
  if (limiter_ != nullptr && absl::IsUnauthenticated(checked)) limiter_->RecordFailedTokenCheck(client_ip);
}

grpc::ServerUnaryReactor* RegistrationService::Register(grpc::CallbackServerContext* context,
                                                        const clientreg::v1::RegisterRequest* request,
                                                        clientreg::v1::ClientInformation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller));
    return reactor;
  }
  // `response` lives until Finish; `request` is not used after RegisterAsync returns.
  auto finish = [reactor, response, metrics = metrics_](absl::StatusOr<clientreg::v1::ClientInformation> result) {
    if (metrics != nullptr) metrics->registrations.WithLabels({RegistrationOutcome(result.status())}).Increment();
    reactor->Finish(ToGrpcResponse(std::move(result), response));
  };
  const std::optional<common::IpAddress> client_ip = ClientIp(*context);
  const bool token_presented = request->has_initial_access_token();
  if (token_presented) {
    if (absl::Status budget = AdmitTokenCheck(client_ip); !budget.ok()) {
      finish(std::move(budget));
      return reactor;
    }
  }
  // RFC 7591 §3 first: `grant->authenticated` tells a caller holding a valid initial access token from an anonymous
  // one.
  const absl::StatusOr<TokenGrant> grant =
      tokens_->Check(token_presented ? std::optional<std::string>(request->initial_access_token()) : std::nullopt);
  if (!grant.ok()) {
    if (token_presented) CountTokenCheck(client_ip, grant.status());
    finish(grant.status());
    return reactor;
  }
  // A valid token is its own limit (its expiry and uses): the anonymous rate limits are for everyone else.
  if (!grant->authenticated && limiter_ != nullptr) {
    if (absl::Status limited =
            CountRateLimited(limiter_->AdmitRegistration(client_ip, request->metadata().software_id()));
        !limited.ok()) {
      finish(std::move(limited));
      return reactor;
    }
  }
  if (cap_ != nullptr) {
    if (absl::Status room = cap_->Admit(); !room.ok()) {
      finish(std::move(room));
      return reactor;
    }
  }
  registrar_->RegisterAsync(
      request->metadata(), *grant,
      [finish = std::move(finish), cap = cap_](absl::StatusOr<clientreg::v1::ClientInformation> result) mutable {
        if (cap != nullptr) cap->Finished(result.ok());
        finish(std::move(result));
      });
  return reactor;
}

grpc::Status RegistrationService::GetRegistration(grpc::ServerContext* context,
                                                  const clientreg::v1::GetRegistrationRequest* request,
                                                  clientreg::v1::ClientInformation* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(WithinTokenBudget(*context, [&] { return manager_->Get(*request); }), response);
}

grpc::Status RegistrationService::UpdateRegistration(grpc::ServerContext* context,
                                                     const clientreg::v1::UpdateRegistrationRequest* request,
                                                     clientreg::v1::ClientInformation* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcResponse(WithinTokenBudget(*context, [&] { return manager_->Update(*request); }), response);
}

grpc::Status RegistrationService::DeleteRegistration(grpc::ServerContext* context,
                                                     const clientreg::v1::DeleteRegistrationRequest* request,
                                                     clientreg::v1::DeleteRegistrationResponse* /*response*/) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  return ToGrpcStatus(WithinTokenBudget(*context, [&] { return manager_->Delete(*request); }));
}

grpc::Status RegistrationService::GetServerMetadata(grpc::ServerContext* context,
                                                    const clientreg::v1::GetServerMetadataRequest* /*request*/,
                                                    clientreg::v1::ServerMetadata* response) {
  if (absl::Status caller = callers_->Authorize(*context, kService); !caller.ok()) return ToGrpcStatus(caller);
  *response = server_metadata_;
  return grpc::Status::OK;
}

}  // namespace clientreg::server
