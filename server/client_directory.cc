#include "server/client_directory.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "server/redirect_match.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::ResolveClientRequest;
using ::clientreg::v1::ResolvedClient;
using ::clientreg::v1::StoredClient;

constexpr std::string_view kResolveClient = "ResolveClient";
constexpr std::string_view kCheckRedirectUri = "CheckRedirectUri";
// Client ids in the log are cut to this many bytes.
constexpr std::size_t kMaxLoggedClientIdBytes = 64;

absl::Status CheckClientId(std::string_view client_id) {
  if (client_id.empty()) return absl::InvalidArgumentError("client_id is required");
  if (client_id.size() > ClientDirectory::kMaxClientIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("client_id is longer than ", ClientDirectory::kMaxClientIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckArguments(std::string_view client_id, std::string_view redirect_uri,
                            uint32_t max_redirect_uri_bytes) {
  RETURN_IF_ERROR(CheckClientId(client_id));
  if (redirect_uri.empty()) return absl::InvalidArgumentError("redirect_uri is required");
  if (redirect_uri.size() > max_redirect_uri_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("redirect_uri is longer than ", max_redirect_uri_bytes, " bytes"));
  }
  return absl::OkStatus();
}

// NotFound stays NotFound (the authorization server answers invalid_client); any other store error becomes
// Unavailable, its details for the operator's log only.
absl::Status ReadFailed(std::string_view client_id, const absl::Status& status) {
  if (absl::IsNotFound(status)) return absl::NotFoundError("unknown client");
  common::Log(common::LogLevel::kError, "client_directory_read_failed",
              {{"client_id", client_id.substr(0, kMaxLoggedClientIdBytes)}, {"error", std::string(status.message())}});
  return absl::UnavailableError("the client directory is unavailable");
}

bool RecordsUse(ResolveClientRequest::Purpose purpose) {
  return purpose == ResolveClientRequest::PURPOSE_AUTHORIZE || purpose == ResolveClientRequest::PURPOSE_TOKEN;
}

std::string_view StatusOutcome(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    default:
      return "error";
  }
}

std::string_view ReasonOutcome(CheckRedirectUriResponse::Reason reason) {
  switch (reason) {
    case CheckRedirectUriResponse::REASON_EXACT_MATCH:
      return "exact_match";
    case CheckRedirectUriResponse::REASON_LOOPBACK_PORT_MATCH:
      return "loopback_port_match";
    case CheckRedirectUriResponse::REASON_NOT_REGISTERED:
      return "not_registered";
    case CheckRedirectUriResponse::REASON_CLIENT_DISABLED:
      return "client_disabled";
    case CheckRedirectUriResponse::REASON_INVALID_URI:
      return "invalid_uri";
    default:
      return "error";
  }
}

}  // namespace

ClientDirectory::ClientDirectory(storage::ClientStore* store, const common::Clock* clock, LastUseRecorder* last_use,
                                 Options options)
    : store_(store), clock_(clock), last_use_(last_use), options_(options) {}

bool ClientDirectory::IsMetadataDocument(std::string_view client_id) const {
  return options_.cimd != nullptr && options_.cimd->Handles(client_id);
}

void ClientDirectory::Resolve(std::string_view client_id, ResolveClientRequest::Purpose purpose,
                              Done<ResolvedClient> done) {
  if (absl::Status valid = CheckClientId(client_id); valid.ok() && IsMetadataDocument(client_id)) {
    options_.cimd->Resolve(client_id, [this, done = std::move(done)](absl::StatusOr<ResolvedClient> answer) mutable {
      CountResolve(answer);
      std::move(done)(std::move(answer));
    });
    return;
  }
  absl::StatusOr<ResolvedClient> answer = ResolveRegistered(client_id, purpose);
  CountResolve(answer);
  std::move(done)(std::move(answer));
}

void ClientDirectory::CheckRedirectUri(std::string_view client_id, std::string_view redirect_uri,
                                       Done<CheckRedirectUriResponse> done) const {
  if (absl::Status valid = CheckArguments(client_id, redirect_uri, options_.max_redirect_uri_bytes);
      valid.ok() && IsMetadataDocument(client_id)) {
    options_.cimd->Resolve(client_id, [this, redirect_uri = std::string(redirect_uri),
                                       done = std::move(done)](absl::StatusOr<ResolvedClient> client) mutable {
      absl::StatusOr<CheckRedirectUriResponse> answer =
          client.ok()
              ? absl::StatusOr<CheckRedirectUriResponse>(MatchRedirectUri(
                    client->metadata().redirect_uris().values(), client->metadata().application_type(), redirect_uri))
              : client.status();
      CountCheck(answer);
      std::move(done)(std::move(answer));
    });
    return;
  }
  absl::StatusOr<CheckRedirectUriResponse> answer = CheckRegisteredRedirectUri(client_id, redirect_uri);
  CountCheck(answer);
  std::move(done)(std::move(answer));
}

absl::StatusOr<ResolvedClient> ClientDirectory::ResolveRegistered(std::string_view client_id,
                                                                  ResolveClientRequest::Purpose purpose) {
  RETURN_IF_ERROR(CheckClientId(client_id));
  absl::StatusOr<StoredClient> stored = store_->Get(client_id);
  if (!stored.ok()) return ReadFailed(client_id, stored.status());

  // Only an active client's authorize or token step is a use: a disabled client's attempts, like a refused
  // authentication, keep nothing alive.
  int64_t last_used = 0;
  if (stored->state() == StoredClient::STATE_ACTIVE && RecordsUse(purpose)) {
    last_used = clock_->NowSeconds();
    last_use_->Record(client_id, last_used);
  } else {
    const absl::StatusOr<int64_t> recorded = store_->GetLastUsed(client_id);
    if (!recorded.ok()) return ReadFailed(client_id, recorded.status());
    last_used = std::max({stored->last_used_at(), *recorded, last_use_->Pending(client_id)});
  }

  ResolvedClient resolved;
  resolved.set_client_id(stored->client_id());
  *resolved.mutable_metadata() = std::move(*stored->mutable_metadata());
  // OpenID Connect Registration §2: absent means web; the validator always stores one, older records may not.
  if (!resolved.metadata().has_application_type()) resolved.mutable_metadata()->set_application_type("web");
  resolved.set_state(stored->state());
  resolved.set_origin(stored->origin());
  resolved.set_client_id_issued_at(stored->client_id_issued_at());
  resolved.set_last_used_at(last_used);
  const bool has_secret = !stored->client_secret_digest().empty();
  resolved.set_has_client_secret(has_secret);
  resolved.set_client_secret_expires_at(has_secret ? stored->client_secret_expires_at() : 0);
  SetRedirectFacts(resolved.metadata().redirect_uris().values(), resolved);
  resolved.set_version(stored->version());
  return resolved;
}

absl::StatusOr<CheckRedirectUriResponse> ClientDirectory::CheckRegisteredRedirectUri(
    std::string_view client_id, std::string_view redirect_uri) const {
  RETURN_IF_ERROR(CheckArguments(client_id, redirect_uri, options_.max_redirect_uri_bytes));
  absl::StatusOr<StoredClient> stored = store_->Get(client_id);
  if (!stored.ok()) return ReadFailed(client_id, stored.status());
  return MatchClientRedirectUri(*stored, redirect_uri);
}

void ClientDirectory::CountResolve(const absl::StatusOr<ResolvedClient>& answer) const {
  if (options_.metrics == nullptr) return;
  const std::string_view outcome = !answer.ok()                                    ? StatusOutcome(answer.status())
                                   : answer->state() == StoredClient::STATE_ACTIVE ? "active"
                                                                                   : "disabled";
  options_.metrics->directory_calls.WithLabels({kResolveClient, outcome}).Increment();
}

void ClientDirectory::CountCheck(const absl::StatusOr<CheckRedirectUriResponse>& answer) const {
  if (options_.metrics == nullptr) return;
  const std::string_view outcome = answer.ok() ? ReasonOutcome(answer->reason()) : StatusOutcome(answer.status());
  options_.metrics->directory_calls.WithLabels({kCheckRedirectUri, outcome}).Increment();
}

}  // namespace clientreg::server
