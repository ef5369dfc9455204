#include "server/client_admin.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "server/client_record.h"
#include "server/credentials.h"
#include "server/write_retry.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::ClientRecord;
using ::clientreg::v1::StoredClient;

// ListClients examines at most kScanFactor × page size + kScanSlack clients per call, so that a filter matching
// few clients cannot make one call read the whole store.
constexpr uint64_t kScanFactor = 10;
constexpr uint64_t kScanSlack = 1000;

absl::Status ClientNotFound(std::string_view client_id) {
  return absl::NotFoundError(
      absl::StrCat("client \"", absl::string_view(client_id.data(), client_id.size()), "\" not found"));
}

// The opaque page token: base64url of the last client_id a page examined. Only the canonical encoding of a
// non-empty id is accepted, so a token is either one we issued or an error, never a silently different position.
absl::StatusOr<std::string> DecodePageToken(const std::string& token) {
  std::string client_id;
  if (!absl::WebSafeBase64Unescape(token, &client_id) || client_id.empty() ||
      common::Base64UrlEncode(client_id) != token) {
    return absl::InvalidArgumentError("page_token is not a token from a previous response of this call");
  }
  return client_id;
}

// `seconds` since the epoch as RFC 3339 UTC, e.g. "2023-11-14T22:13:20Z".
std::string Rfc3339(int64_t seconds) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

ClientAdmin::ClientAdmin(storage::ClientStore* store, const common::Clock* clock,
                         const ClientAuthenticator* authenticator, Options options)
    : store_(store), clock_(clock), authenticator_(authenticator), options_(std::move(options)) {}

absl::StatusOr<int64_t> ClientAdmin::LastUsed(std::string_view client_id) const {
  ASSIGN_OR_RETURN(const int64_t recorded, store_->GetLastUsed(client_id));
  const int64_t pending = authenticator_ != nullptr ? authenticator_->PendingLastUsed(client_id) : 0;
  return std::max(recorded, pending);
}

absl::StatusOr<ClientRecord> ClientAdmin::GetClient(std::string_view client_id) const {
  if (client_id.empty()) return absl::InvalidArgumentError("client_id is required");
  absl::StatusOr<StoredClient> stored = store_->Get(client_id);
  if (absl::IsNotFound(stored.status())) {
    // For an operator, a reaped client is worth more than "not found": when, and by which rule.
    absl::StatusOr<clientreg::v1::StoredTombstone> tombstone = store_->GetTombstone(client_id);
    if (!tombstone.ok()) return ClientNotFound(client_id);
    return absl::NotFoundError(
        absl::StrCat("client \"", absl::string_view(client_id.data(), client_id.size()), "\" was reaped at ",
                     Rfc3339(tombstone->reaped_at()), " (",
                     tombstone->reason() == clientreg::v1::StoredTombstone::REASON_IDLE ? "idle" : "never used",
                     "); see clientreg-admin reaped"));
  }
  if (!stored.ok()) return stored.status();
  ASSIGN_OR_RETURN(const int64_t last_used, LastUsed(client_id));
  return MakeClientRecord(*stored, last_used);
}

absl::StatusOr<clientreg::v1::ListClientsResponse> ClientAdmin::ListClients(
    const clientreg::v1::ListClientsRequest& request) const {
  if (!StoredClient::State_IsValid(request.state())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown state ", request.state()));
  }
  std::string start_after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(start_after, DecodePageToken(request.page_token()));
  }
  const uint32_t requested = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const int page_size = static_cast<int>(std::min(requested, std::max<uint32_t>(options_.max_list_page_size, 1)));
  const uint64_t max_examined = kScanFactor * static_cast<uint64_t>(page_size) + kScanSlack;

  clientreg::v1::ListClientsResponse response;
  // The last client this call has fully dealt with (returned or filtered out): the next page starts after it.
  std::string resume_after = start_after;
  uint64_t examined = 0;
  bool more = false;
  const absl::Status scanned = store_->ScanFrom(start_after, [&](const StoredClient& client) -> absl::StatusOr<bool> {
    // Being called at all proves another client follows, so stopping here owes the caller a token.
    if (examined == max_examined) {
      more = true;
      return false;
    }
    ++examined;
    const bool cheap_match =
        (!request.has_software_id() || client.metadata().software_id() == request.software_id()) &&
        (!request.has_created_after() || client.client_id_issued_at() > request.created_after()) &&
        (!request.has_created_before() || client.client_id_issued_at() < request.created_before()) &&
        (request.state() == StoredClient::STATE_UNSPECIFIED || client.state() == request.state());
    if (!cheap_match) {
      resume_after = client.client_id();
      return true;
    }
    // Last use is a separate read, so it is fetched only for clients every other filter let through.
    ASSIGN_OR_RETURN(int64_t last_used, LastUsed(client.client_id()));
    last_used = std::max(last_used, client.last_used_at());
    // Idle since a time: last used before it or, never used, registered before it.
    const int64_t last_activity = last_used > 0 ? last_used : client.client_id_issued_at();
    if ((request.has_last_used_after() && !(last_used > request.last_used_after())) ||
        (request.has_last_used_before() && !(last_used < request.last_used_before())) ||
        (request.never_used() && last_used != 0) ||
        (request.has_idle_since() && !(last_activity < request.idle_since()))) {
      resume_after = client.client_id();
      return true;
    }
    // A full page plus one more match: the token is owed, and the extra match starts the next page.
    if (response.clients_size() == page_size) {
      more = true;
      return false;
    }
    *response.add_clients() = MakeClientRecord(client, last_used);
    resume_after = client.client_id();
    return true;
  });
  RETURN_IF_ERROR(scanned);
  if (more) response.set_next_page_token(common::Base64UrlEncode(resume_after));
  return response;
}

absl::StatusOr<clientreg::v1::ListReapedClientsResponse> ClientAdmin::ListReapedClients(
    const clientreg::v1::ListReapedClientsRequest& request) const {
  std::string start_after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(start_after, DecodePageToken(request.page_token()));
  }
  const uint32_t requested = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const int page_size = static_cast<int>(std::min(requested, std::max<uint32_t>(options_.max_list_page_size, 1)));
  clientreg::v1::ListReapedClientsResponse response;
  bool more = false;
  RETURN_IF_ERROR(
      store_->ScanTombstones(start_after, [&](const clientreg::v1::StoredTombstone& tombstone) -> absl::StatusOr<bool> {
        if (response.clients_size() == page_size) {
          more = true;
          return false;
        }
        *response.add_clients() = tombstone;
        return true;
      }));
  if (more) response.set_next_page_token(common::Base64UrlEncode(response.clients(page_size - 1).client_id()));
  return response;
}

absl::StatusOr<StoredClient> ClientAdmin::Modify(std::string_view client_id,
                                                 const std::function<absl::StatusOr<bool>(StoredClient&)>& change) {
  if (client_id.empty()) return absl::InvalidArgumentError("client_id is required");
  return RetryOnConflict(client_id, [&]() -> absl::StatusOr<StoredClient> {
    absl::StatusOr<StoredClient> stored = store_->Get(client_id);
    if (absl::IsNotFound(stored.status())) return ClientNotFound(client_id);
    if (!stored.ok()) return stored.status();
    StoredClient next = *stored;
    ASSIGN_OR_RETURN(const bool changed, change(next));
    if (!changed) return *std::move(stored);
    next.set_version(stored->version() + 1);
    next.set_updated_at(clock_->NowSeconds());
    const absl::Status written = store_->Update(next, stored->version());
    if (written.ok()) return next;
    if (absl::IsAborted(written)) return written;
    // Deleted between our read and our write: an update never resurrects a client.
    if (absl::IsNotFound(written)) return ClientNotFound(client_id);
    common::Log(common::LogLevel::kError, "client_update_failed",
                {{"client_id", client_id}, {"error", std::string(written.message())}});
    return absl::UnavailableError("the change could not be stored");
  });
}

absl::StatusOr<ClientRecord> ClientAdmin::SetState(std::string_view client_id, StoredClient::State state) {
  ASSIGN_OR_RETURN(const StoredClient stored, Modify(client_id, [state](StoredClient& client) -> absl::StatusOr<bool> {
                     if (client.state() == state) return false;
                     client.set_state(state);
                     return true;
                   }));
  common::Log(common::LogLevel::kInfo, "client_state_set",
              {{"client_id", client_id}, {"state", StoredClient::State_Name(state)}});
  // The change is durable: a failed last-use read only loses that detail, never the answer.
  return MakeClientRecord(stored, LastUsed(client_id).value_or(0));
}

absl::StatusOr<ClientRecord> ClientAdmin::DisableClient(std::string_view client_id) {
  return SetState(client_id, StoredClient::STATE_DISABLED);
}

absl::StatusOr<ClientRecord> ClientAdmin::EnableClient(std::string_view client_id) {
  return SetState(client_id, StoredClient::STATE_ACTIVE);
}

absl::Status ClientAdmin::DeleteClient(std::string_view client_id) {
  if (client_id.empty()) return absl::InvalidArgumentError("client_id is required");
  return RetryOnConflict(client_id, [&]() -> absl::Status {
    absl::StatusOr<StoredClient> stored = store_->Get(client_id);
    if (absl::IsNotFound(stored.status())) return ClientNotFound(client_id);
    if (!stored.ok()) return stored.status();
    const absl::Status deleted = store_->Delete(client_id, stored->version());
    if (deleted.ok()) {
      common::Log(common::LogLevel::kInfo, "client_deleted", {{"client_id", client_id}});
      return absl::OkStatus();
    }
    if (absl::IsAborted(deleted)) return deleted;
    if (absl::IsNotFound(deleted)) return ClientNotFound(client_id);
    common::Log(common::LogLevel::kError, "client_delete_failed",
                {{"client_id", client_id}, {"error", std::string(deleted.message())}});
    return absl::UnavailableError("the deletion could not be stored");
  });
}

absl::StatusOr<clientreg::v1::RotateClientSecretResponse> ClientAdmin::RotateClientSecret(
    const clientreg::v1::RotateClientSecretRequest& request) {
  const int64_t overlap =
      request.has_overlap_seconds() ? request.overlap_seconds() : options_.secret_rotation_overlap_seconds;
  const int64_t now = clock_->NowSeconds();
  if (overlap < 0) return absl::InvalidArgumentError("overlap_seconds must not be negative");
  if (overlap > std::numeric_limits<int64_t>::max() - now) {
    return absl::InvalidArgumentError("overlap_seconds is too large");
  }
  // Drawn once, outside the retry loop: a retry must not hand out a secret other than the one stored.
  ASSIGN_OR_RETURN(IssuedCredential secret, IssueCredential(options_.server_key));
  const int64_t expires_at = SecretExpiresAt(now, options_.client_secret_lifetime_seconds);

  ASSIGN_OR_RETURN(
      const StoredClient stored, Modify(request.client_id(), [&](StoredClient& client) -> absl::StatusOr<bool> {
        if (!UsesClientSecret(client.metadata().token_endpoint_auth_method())) {
          return absl::FailedPreconditionError(
              absl::StrCat("client \"", client.client_id(), "\" authenticates with token_endpoint_auth_method \"",
                           client.metadata().token_endpoint_auth_method(), "\", which uses no client secret"));
        }
        const int64_t old_expires_at = client.client_secret_expires_at();
        const bool old_is_live =
            !client.client_secret_digest().empty() && (old_expires_at == 0 || old_expires_at > now);
        if (overlap > 0 && old_is_live) {
          // Rotation shortens the old secret's life, never extends it past its own expiry.
          const int64_t valid_until = old_expires_at == 0 ? now + overlap : std::min(now + overlap, old_expires_at);
          client.set_previous_client_secret_digest(client.client_secret_digest());
          client.set_previous_client_secret_valid_until(valid_until);
        } else {
          client.clear_previous_client_secret_digest();
          client.clear_previous_client_secret_valid_until();
        }
        client.set_client_secret_digest(secret.digest);
        client.set_client_secret_expires_at(expires_at);
        return true;
      }));
  common::Log(common::LogLevel::kInfo, "client_secret_rotated",
              {{"client_id", stored.client_id()},
               {"previous_valid_until", std::to_string(stored.previous_client_secret_valid_until())}});

  clientreg::v1::RotateClientSecretResponse response;
  *response.mutable_client() = MakeClientRecord(stored, LastUsed(stored.client_id()).value_or(0));
  response.set_client_secret(std::move(secret.plaintext));
  response.set_client_secret_expires_at(expires_at);
  response.set_previous_client_secret_valid_until(stored.previous_client_secret_valid_until());
  return response;
}

absl::StatusOr<clientreg::v1::BackupResponse> ClientAdmin::Backup(const std::string& dir) {
  ASSIGN_OR_RETURN(const storage::ClientCounts counts, store_->CountClients());
  const auto start = std::chrono::steady_clock::now();
  const absl::Status written = store_->Checkpoint(dir);
  if (!written.ok()) {
    common::Log(
        common::LogLevel::kWarning, "backup_failed",
        {{"path", dir}, {"code", absl::StatusCodeToString(written.code())}, {"error", std::string(written.message())}});
    return written;
  }
  clientreg::v1::BackupResponse response;
  response.set_dir(dir);
  response.set_clients(counts.active + counts.disabled);
  response.set_created_at(clock_->NowSeconds());
  response.set_duration_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  common::Log(common::LogLevel::kInfo, "backup_written",
              {{"path", dir},
               {"clients", std::to_string(response.clients())},
               {"duration_ms", std::to_string(response.duration_ms())}});
  return response;
}

}  // namespace clientreg::server
