#include "server/caller_authorizer.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/server_channel.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace clientreg::server {
namespace {

constexpr absl::string_view kBearerScheme = "bearer ";
constexpr absl::string_view kUnauthenticatedHint =
    "present a client certificate or an `authorization: Bearer` credential of a configured caller";

// gRPC's AuthContext of a TLS connection whose client certificate was verified: the DNS and URI subjectAltNames
// and the subject CN, which CallerConfig.certificate_identities match. (x509_subject_alternative_name would also
// carry IP and e-mail names, which are not identities here.)
CallCredentials ReadCredentials(const grpc::ServerContextBase& context) {
  CallCredentials credentials;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  // A handshake that did not verify a client certificate leaves the peer unauthenticated.
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property :
         {GRPC_PEER_DNS_PROPERTY_NAME, GRPC_PEER_URI_PROPERTY_NAME, GRPC_X509_CN_PROPERTY_NAME}) {
      for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
        credentials.certificate_names.emplace_back(value.data(), value.size());
      }
    }
  }
  const auto [begin, end] = context.client_metadata().equal_range(common::kAuthorizationMetadataKey);
  for (auto it = begin; it != end; ++it) credentials.authorizations.emplace_back(it->second.data(), it->second.size());
  return credentials;
}

}  // namespace

CallerAuthorizer::CallerAuthorizer(const clientreg::config::v1::ServerConfig& config, ServerMetrics* metrics)
    : metrics_(metrics) {
  open_ = common::IsLocalAddress(config.listen_address()) && !config.has_tls() && config.callers().empty();
  // A bearer credential sent in clear text across a network could be replayed by anyone on the path.
  bearer_allowed_ = config.has_tls() || common::IsLocalAddress(config.listen_address());
  for (const clientreg::config::v1::CallerConfig& caller : config.callers()) {
    const std::size_t index = callers_.size();
    callers_.push_back({caller.name(), {caller.services().begin(), caller.services().end()}});
    for (const std::string& identity : caller.certificate_identities()) identities_.emplace(identity, index);
    // Validated as 64 lowercase hex digits.
    for (const std::string& digest : caller.bearer_token_sha256()) {
      token_digests_.emplace_back(absl::HexStringToBytes(digest), index);
    }
  }
}

absl::StatusOr<std::size_t> CallerAuthorizer::BearerCaller(std::string_view authorization) const {
  if (!bearer_allowed_) {
    return absl::UnauthenticatedError("bearer credentials are accepted only over TLS or on a local listener");
  }
  // RFC 7235 §2.1: the scheme is case-insensitive.
  if (authorization.size() <= kBearerScheme.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(authorization.data(), kBearerScheme.size()), kBearerScheme)) {
    return absl::UnauthenticatedError("the authorization metadata is not `Bearer <credential>`");
  }
  const absl::StatusOr<std::string> digest = common::Sha256(authorization.substr(kBearerScheme.size()));
  if (!digest.ok()) return digest.status();
  // Every digest is compared, each in constant time, so the time taken says nothing about which one matched.
  std::optional<std::size_t> found;
  for (const auto& [configured, index] : token_digests_) {
    if (common::ConstantTimeEquals(*digest, configured)) found = index;
  }
  if (!found.has_value()) return absl::UnauthenticatedError("unknown bearer credential");
  return *found;
}

absl::StatusOr<std::string> CallerAuthorizer::Decide(const CallCredentials& credentials,
                                                     std::string_view service) const {
  std::optional<std::size_t> by_certificate;
  for (const std::string& name : credentials.certificate_names) {
    if (const auto it = identities_.find(name); it != identities_.end()) {
      by_certificate = it->second;
      break;
    }
  }
  std::optional<std::size_t> by_bearer;
  if (credentials.authorizations.size() > 1) {
    return absl::UnauthenticatedError("more than one authorization metadata entry");
  }
  if (credentials.authorizations.size() == 1) {
    absl::StatusOr<std::size_t> caller = BearerCaller(credentials.authorizations.front());
    if (!caller.ok()) return caller.status();
    by_bearer = *caller;
  }
  if (by_certificate.has_value() && by_bearer.has_value() && *by_certificate != *by_bearer) {
    return absl::UnauthenticatedError("the client certificate and the bearer credential name different callers");
  }
  const std::optional<std::size_t> index = by_bearer.has_value() ? by_bearer : by_certificate;
  if (!index.has_value()) {
    if (!credentials.certificate_names.empty()) {
      return absl::UnauthenticatedError(absl::StrCat("the client certificate (", credentials.certificate_names.front(),
                                                     ") is not a configured caller's; ", kUnauthenticatedHint));
    }
    return absl::UnauthenticatedError(absl::StrCat("no caller credential: ", kUnauthenticatedHint));
  }
  const Caller& caller = callers_[*index];
  if (std::find(caller.services.begin(), caller.services.end(), service) == caller.services.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller \"", caller.name, "\" may not call ", std::string(service)));
  }
  return caller.name;
}

absl::Status CallerAuthorizer::AuthorizeCall(const grpc::ServerContextBase& context, std::string_view service) const {
  const CallCredentials credentials = ReadCredentials(context);
  absl::StatusOr<std::string> caller = Decide(credentials, service);
  if (caller.ok()) return absl::OkStatus();
  const bool denied = caller.status().code() == absl::StatusCode::kPermissionDenied;
  if (metrics_ != nullptr) {
    metrics_->caller_refusals.WithLabels({denied ? "permission_denied" : "unauthenticated"}).Increment();
  }
  // The message names the caller or the certificate, never a credential.
  common::Log(common::LogLevel::kWarning, denied ? "caller_denied" : "caller_unauthenticated",
              {{"service", service},
               {"peer", context.peer()},
               {"certificate", credentials.certificate_names.empty() ? "" : credentials.certificate_names.front()},
               {"bearer", credentials.authorizations.empty() ? "no" : "yes"},
               {"reason", std::string(caller.status().message())}});
  return caller.status();
}

}  // namespace clientreg::server
