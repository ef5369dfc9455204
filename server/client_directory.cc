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

// The consent-screen facts of directory.proto: the distinct lower-cased hosts in registration order, and whether
// every redirect URI is on a loopback host.
void AddRedirectFacts(const google::protobuf::RepeatedPtrField<std::string>& uris, ResolvedClient& resolved) {
  bool all_loopback = !uris.empty();
  for (const std::string& uri : uris) {
    const absl::StatusOr<Uri> parsed = ParseUri(uri);
    if (!parsed.ok() || parsed->host.empty()) {
      all_loopback = false;
      continue;
    }
    all_loopback = all_loopback && IsLoopbackHost(parsed->host);
    std::string host = absl::AsciiStrToLower(parsed->host);
    const auto& hosts = resolved.redirect_hosts();
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) resolved.add_redirect_hosts(std::move(host));
  }
  resolved.set_loopback_redirects_only(all_loopback);
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

absl::StatusOr<ResolvedClient> ClientDirectory::Resolve(std::string_view client_id,
                                                        ResolveClientRequest::Purpose purpose) {
  absl::StatusOr<ResolvedClient> resolved = ResolveUncounted(client_id, purpose);
  Count(kResolveClient, !resolved.ok()                                    ? StatusOutcome(resolved.status())
                        : resolved->state() == StoredClient::STATE_ACTIVE ? "active"
                                                                          : "disabled");
  return resolved;
}

absl::StatusOr<CheckRedirectUriResponse> ClientDirectory::CheckRedirectUri(std::string_view client_id,
                                                                           std::string_view redirect_uri) const {
  absl::StatusOr<CheckRedirectUriResponse> answer = CheckRedirectUriUncounted(client_id, redirect_uri);
  Count(kCheckRedirectUri, answer.ok() ? ReasonOutcome(answer->reason()) : StatusOutcome(answer.status()));
  return answer;
}

absl::StatusOr<ResolvedClient> ClientDirectory::ResolveUncounted(std::string_view client_id,
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
  AddRedirectFacts(resolved.metadata().redirect_uris().values(), resolved);
  resolved.set_version(stored->version());
  return resolved;
}

absl::StatusOr<CheckRedirectUriResponse> ClientDirectory::CheckRedirectUriUncounted(
    std::string_view client_id, std::string_view redirect_uri) const {
  RETURN_IF_ERROR(CheckClientId(client_id));
  if (redirect_uri.empty()) return absl::InvalidArgumentError("redirect_uri is required");
  if (redirect_uri.size() > options_.max_redirect_uri_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("redirect_uri is longer than ", options_.max_redirect_uri_bytes, " bytes"));
  }
  absl::StatusOr<StoredClient> stored = store_->Get(client_id);
  if (!stored.ok()) return ReadFailed(client_id, stored.status());
  return MatchClientRedirectUri(*stored, redirect_uri);
}

void ClientDirectory::Count(std::string_view method, std::string_view outcome) const {
  if (options_.metrics != nullptr) options_.metrics->directory_calls.WithLabels({method, outcome}).Increment();
}

}  // namespace clientreg::server
