#ifndef CLIENTREG_SERVER_CALLER_AUTHORIZER_H_
#define CLIENTREG_SERVER_CALLER_AUTHORIZER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "grpcpp/server_context.h"
#include "server/rpc_metrics.h"

namespace clientreg::server {

// What a call presents to name its caller.
struct CallCredentials {
  // The names of the client certificate the TLS handshake verified (subjectAltName DNS names and URIs, subject
  // common name); empty without one.
  std::vector<std::string> certificate_names;
  // The values of the call's `authorization` metadata, as sent.
  std::vector<std::string> authorizations;
};

// Who may call which of the server's services: ServerConfig.callers, over ServerConfig.tls (see config.proto).
//
// Open: a local listener (IsLocalAddress) without TLS and without callers lets every call through, as a local run
// always did. Otherwise a call needs an authenticated caller, named by its verified client certificate or by its
// bearer credential, and that caller must be allowed the service called. Every handler of ClientRegistration,
// ClientAuthentication and ClientAdmin calls Authorize first; grpc.health.v1.Health never does.
class CallerAuthorizer {
 public:
  // `config` must be valid (ValidateServerConfig). `metrics`, when set, counts refusals and must outlive this.
  explicit CallerAuthorizer(const clientreg::config::v1::ServerConfig& config, ServerMetrics* metrics = nullptr);

  // True when every call is allowed without a caller.
  bool open() const { return open_; }

  // OK when the call's caller may call `service` (a full service name), and always when open(); otherwise as
  // Decide says. Each refusal is logged at warning (caller or certificate name, service, peer; never a credential)
  // and counted. Thread-safe; when open() it reads nothing from the call.
  [[nodiscard]] absl::Status Authorize(const grpc::ServerContextBase& context, std::string_view service) const {
    if (open_) return absl::OkStatus();
    return AuthorizeCall(context, service);
  }

  // The decision for a call presenting `credentials`, ignoring open(): the caller's name when it may call `service`.
  // Unauthenticated when neither credential names a configured caller: no credential, a certificate whose names
  // are on no allow list, an unknown or malformed bearer credential (even beside a known certificate), a bearer
  // credential over plain text on a non-local listener, or a certificate and a bearer credential naming two
  // different callers. PermissionDenied, naming the caller and the service, when the caller's services lack it.
  // Thread-safe.
  [[nodiscard]] absl::StatusOr<std::string> Decide(const CallCredentials& credentials, std::string_view service) const;

 private:
  struct Caller {
    std::string name;
    std::vector<std::string> services;
  };

  absl::Status AuthorizeCall(const grpc::ServerContextBase& context, std::string_view service) const;
  // The index in callers_ of the caller the bearer credential in `authorization` names, or Unauthenticated.
  absl::StatusOr<std::size_t> BearerCaller(std::string_view authorization) const;

  bool open_ = false;
  bool bearer_allowed_ = false;
  std::vector<Caller> callers_;
  // Certificate identity -> index in callers_ (identities are unique across callers, ValidateServerConfig).
  absl::flat_hash_map<std::string, std::size_t> identities_;
  // SHA-256 digest (32 bytes) of each bearer credential, with the index of its caller.
  std::vector<std::pair<std::string, std::size_t>> token_digests_;
  ServerMetrics* const metrics_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CALLER_AUTHORIZER_H_
