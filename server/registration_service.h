#ifndef CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
#define CLIENTREG_SERVER_REGISTRATION_SERVICE_H_

#include <optional>
#include <type_traits>

#include "clientreg/v1/registration.grpc.pb.h"
#include "server/caller_authorizer.h"
#include "server/client_cap.h"
#include "server/initial_access_tokens.h"
#include "server/rate_limiter.h"
#include "server/registrar.h"
#include "server/registration_manager.h"
#include "server/rpc_metrics.h"

namespace clientreg::server {

// The gRPC face of the Registrar and the RegistrationManager. Each method first asks the CallerAuthorizer whether
// the caller may call ClientRegistration (UNAUTHENTICATED, PERMISSION_DENIED), then only converts the result with
// ToGrpcStatus; the statuses are those documented on the logic classes.
//
// Between the two stand the policy checks. Register: a presented initial access token is checked first (a client IP
// that spent its budget of failed token checks is refused before that); a caller without a valid token then meets
// the rate limits (RESOURCE_EXHAUSTED, 429); and every caller the client cap (UNAVAILABLE, 503). The RFC 7592
// methods: the budget of failed registration access token checks per client IP. The client IP is the gateway's
// x-clientreg-peer (every caller allowed this service is a gateway, or a local process in an open local run), else
// the gRPC peer.
//
// Register, the hot path, uses the callback API: it validates on the thread that read the call and is answered by
// a committer thread of the store once its write is durable, so no thread waits for the disk per registration. The
// management calls keep the synchronous API (a handler thread each, on the server's bounded thread quota).
class RegistrationService final : public clientreg::v1::ClientRegistration::WithCallbackMethod_Register<
                                      clientreg::v1::ClientRegistration::Service> {
 public:
  // `registrar`, `tokens` (the initial access token check of Register), `manager` and `callers` must outlive the
  // service, and so must `metrics` (registrations by outcome, rate limit refusals), `limiter` (rate limits) and `cap`
  // (max_dynamic_clients) when set. `server_metadata` is BuildServerMetadata(config).
  RegistrationService(const Registrar* registrar, const InitialAccessTokens* tokens, const RegistrationManager* manager,
                      const CallerAuthorizer* callers, clientreg::v1::ServerMetadata server_metadata,
                      ServerMetrics* metrics = nullptr, RateLimiter* limiter = nullptr, ClientCap* cap = nullptr);

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const clientreg::v1::RegisterRequest* request,
                                     clientreg::v1::ClientInformation* response) override;
  grpc::Status GetRegistration(grpc::ServerContext* context, const clientreg::v1::GetRegistrationRequest* request,
                               clientreg::v1::ClientInformation* response) override;
  grpc::Status UpdateRegistration(grpc::ServerContext* context, const clientreg::v1::UpdateRegistrationRequest* request,
                                  clientreg::v1::ClientInformation* response) override;
  grpc::Status DeleteRegistration(grpc::ServerContext* context, const clientreg::v1::DeleteRegistrationRequest* request,
                                  clientreg::v1::DeleteRegistrationResponse* response) override;
  grpc::Status GetServerMetadata(grpc::ServerContext* context, const clientreg::v1::GetServerMetadataRequest* request,
                                 clientreg::v1::ServerMetadata* response) override;

 private:
  const Registrar* registrar_;
  const InitialAccessTokens* tokens_;
  const RegistrationManager* manager_;
  // The client IP the rate limits count the call against; nullopt without a limiter.
  std::optional<common::IpAddress> ClientIp(const grpc::ServerContextBase& context) const;
  // Counts a refusal of the rate limiter in the metrics, and hands it on.
  absl::Status CountRateLimited(absl::Status status) const;
  // Runs `check` (a registration access token check and what it guards) within the caller's budget of failed token
  // checks (RFC 7592 brute force): refused unspent when the budget is gone, and a refused token takes from it.
  template <typename Check>
  auto WithinTokenBudget(const grpc::ServerContextBase& context, Check check) const -> decltype(check()) {
    const std::optional<common::IpAddress> client_ip = ClientIp(context);
    if (absl::Status budget = AdmitTokenCheck(client_ip); !budget.ok()) return budget;
    auto result = check();
    if constexpr (std::is_same_v<decltype(result), absl::Status>) {
      CountTokenCheck(client_ip, result);
    } else {
      CountTokenCheck(client_ip, result.status());
    }
    return result;
  }
  // RFC 7592 brute force: OK unless `client_ip` spent its budget of failed token checks.
  absl::Status AdmitTokenCheck(const std::optional<common::IpAddress>& client_ip) const;
  // Takes from that budget when `checked` is a refused token.
  void CountTokenCheck(const std::optional<common::IpAddress>& client_ip, const absl::Status& checked) const;

  const CallerAuthorizer* callers_;
  const clientreg::v1::ServerMetadata server_metadata_;
  ServerMetrics* const metrics_;
  RateLimiter* const limiter_;
  ClientCap* const cap_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_SERVICE_H_
