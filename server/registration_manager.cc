#include "server/registration_manager.h"

#include <utility>

#include "common/logging.h"
#include "common/registration_error.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "server/client_information.h"
#include "server/credentials.h"
#include "server/write_retry.h"

namespace clientreg::server {
namespace {

using clientreg::v1::ClientInformation;
using clientreg::v1::StoredClient;

// Compared against when the URL names no client, so that an unknown client costs the same constant-time comparison
// as a known one (spec.md §7). No HMAC output is 32 zero bytes in practice.
const std::string& DecoyDigest() {
  static const std::string* const kDecoy = new std::string(common::kServerKeyBytes, '\0');
  return *kDecoy;
}

absl::Status StoreUnavailable(std::string_view event, const std::string& client_id, const absl::Status& status) {
  common::Log(common::LogLevel::kError, event, {{"client_id", client_id}, {"error", std::string(status.message())}});
  return absl::UnavailableError("the registration store is unavailable");
}

}  // namespace

absl::Status InvalidRegistrationTokenError() {
  return common::RegistrationErrorStatus(absl::StatusCode::kUnauthenticated, common::kInvalidToken, "",
                                         "the registration access token is invalid");
}

RegistrationManager::Options RegistrationManagerOptions(const clientreg::config::v1::ServerConfig& config,
                                                        std::string server_key) {
  RegistrationManager::Options options;
  options.server_key = std::move(server_key);
  options.client_secret_lifetime_seconds = config.registration().client_secret_lifetime_seconds();
  options.issuer = config.issuer();
  options.revoke_misused_registration_tokens = config.revoke_misused_registration_tokens();
  options.rotate_registration_access_token_on_update = config.rotate_registration_access_token_on_update();
  return options;
}

RegistrationManager::RegistrationManager(storage::ClientStore* store, const common::Clock* clock,
                                         MetadataValidator validator, Options options)
    : store_(store), clock_(clock), validator_(std::move(validator)), options_(std::move(options)) {}

absl::StatusOr<StoredClient> RegistrationManager::Authenticate(const std::string& client_id,
                                                               const std::string& token) const {
  absl::StatusOr<StoredClient> client = CheckToken(client_id, token);
  if (options_.metrics != nullptr) {
    const absl::StatusCode code = client.status().code();
    const char* outcome = code == absl::StatusCode::kOk                 ? "ok"
                          : code == absl::StatusCode::kUnauthenticated  ? "invalid"
                          : code == absl::StatusCode::kPermissionDenied ? "disabled"
                                                                        : "error";
    options_.metrics->registration_token_checks.WithLabels({outcome}).Increment();
  }
  return client;
}

absl::StatusOr<StoredClient> RegistrationManager::CheckToken(const std::string& client_id,
                                                             const std::string& token) const {
  // Every path digests the token, looks it up and reads the client, whatever an earlier step found, so that the
  // answer's timing says as little as its content (OIDC Registration §4.4: no oracle for which clients exist).
  ASSIGN_OR_RETURN(const std::string digest, common::HmacSha256(options_.server_key, token));
  const absl::StatusOr<std::string> owner = store_->FindByTokenDigest(digest);
  if (!owner.ok() && !absl::IsNotFound(owner.status())) {
    return StoreUnavailable("registration_token_lookup_failed", client_id, owner.status());
  }
  const absl::StatusOr<StoredClient> client =
      client_id.empty() ? absl::StatusOr<StoredClient>(absl::NotFoundError("no client_id")) : store_->Get(client_id);
  if (!client.ok() && !absl::IsNotFound(client.status())) {
    return StoreUnavailable("registration_read_failed", client_id, client.status());
  }

  // The record is the authority (RFC 7592 §2: the token is tied to the client the URL names); the index only tells
  // whose token a mismatching one is.
  const bool matches =
      common::ConstantTimeEquals(client.ok() ? client->registration_access_token_digest() : DecoyDigest(), digest);
  if (!token.empty() && client.ok() && matches) {
    // RFC 7592 §2.1-2.3: "not allowed" is 403, told only to the holder of the client's own token.
    if (client->state() == StoredClient::STATE_DISABLED) {
      return common::RegistrationErrorStatus(absl::StatusCode::kPermissionDenied, common::kAccessDenied, "",
                                             "the client is disabled");
    }
    return *client;
  }

  // RFC 7592 §2.1-2.3: a token presented for another existing client SHOULD be revoked at once: it has leaked, or
  // its holder is probing. On the URL of a client that does not exist it is more likely a typo of the holder's own
  // client id, and revoking it would lock the holder out of its registration: logged, not revoked.
  if (!token.empty() && owner.ok() && *owner != client_id) {
    const bool revoked =
        options_.revoke_misused_registration_tokens && client.ok() && RevokeMisusedToken(*owner, digest);
    common::Log(common::LogLevel::kWarning, "registration_token_misused",
                {{"client_id", *owner},
                 {"presented_on", client_id},
                 {"presented_on_exists", client.ok() ? "true" : "false"},
                 {"revoked", revoked ? "true" : "false"}});
  }
  return InvalidRegistrationTokenError();
}

bool RegistrationManager::RevokeMisusedToken(const std::string& owner_id, const std::string& token_digest) const {
  const absl::Status revoked = RetryOnConflict(owner_id, [&]() -> absl::Status {
    absl::StatusOr<StoredClient> owner = store_->Get(owner_id);
    // Deleted meanwhile: its token went with it.
    if (absl::IsNotFound(owner.status())) return absl::OkStatus();
    if (!owner.ok()) return owner.status();
    // Rotated meanwhile: the misused token is already dead, and the new one must stay valid.
    if (!common::ConstantTimeEquals(owner->registration_access_token_digest(), token_digest)) {
      return absl::OkStatus();
    }
    const uint64_t expected_version = owner->version();
    owner->clear_registration_access_token_digest();
    owner->set_updated_at(clock_->NowSeconds());
    owner->set_version(expected_version + 1);
    const absl::Status status = store_->Update(*owner, expected_version);
    return absl::IsNotFound(status) ? absl::OkStatus() : status;
  });
  if (revoked.ok()) return true;
  common::Log(common::LogLevel::kError, "registration_token_revoke_failed", {{"client_id", owner_id}});
  return false;
}

absl::StatusOr<ClientInformation> RegistrationManager::Get(const clientreg::v1::GetRegistrationRequest& request) const {
  ASSIGN_OR_RETURN(const StoredClient client, Authenticate(request.client_id(), request.registration_access_token()));
  // spec.md §2.3: the secret is stored only as a digest, so GET omits it; GET never rotates anything.
  ClientInformation info = ToClientInformation(client, options_.issuer);
  info.set_registration_access_token(request.registration_access_token());
  return info;
}

absl::StatusOr<ClientInformation> RegistrationManager::Update(
    const clientreg::v1::UpdateRegistrationRequest& request) const {
  return RetryOnConflict(request.client_id(), [&] { return TryUpdate(request); });
}

absl::StatusOr<ClientInformation> RegistrationManager::TryUpdate(
    const clientreg::v1::UpdateRegistrationRequest& request) const {
  ASSIGN_OR_RETURN(const StoredClient current, Authenticate(request.client_id(), request.registration_access_token()));

  // RFC 7592 §2.2: these members MUST NOT be sent; spec.md §2.4 rejects them rather than ignoring them.
  if (!request.forbidden_members().empty()) {
    return common::InvalidRequest(request.forbidden_members(0), "this member must not be included in an update");
  }
  // RFC 7592 §2.2: the body MUST include client_id, equal to the issued one.
  if (!request.has_body_client_id() || request.body_client_id() != request.client_id()) {
    return common::InvalidRequest("client_id", "must be present and equal to the client_id of this registration");
  }
  // RFC 7592 §2.2: a client_secret in the body MUST match the current one; compared as digests in constant time
  // (spec.md §7). A client without a secret has an empty digest, which nothing matches.
  if (request.has_client_secret()) {
    ASSIGN_OR_RETURN(const std::string secret_digest, common::HmacSha256(options_.server_key, request.client_secret()));
    if (!common::ConstantTimeEquals(current.client_secret_digest(), secret_digest)) {
      return common::InvalidRequest("client_secret", "does not match the current client secret");
    }
  }
  // RFC 7592 §2.2: a full replacement through the very validator Register uses, so omitted fields are deleted and
  // omitted defaults (grant_types, response_types, the auth method) return.
  ASSIGN_OR_RETURN(clientreg::v1::ClientMetadata metadata, validator_.Validate(request.metadata()));

  const int64_t now = clock_->NowSeconds();
  StoredClient updated = current;
  *updated.mutable_metadata() = std::move(metadata);
  updated.set_updated_at(now);
  updated.set_version(current.version() + 1);

  std::string new_secret;
  if (UsesClientSecret(updated.metadata().token_endpoint_auth_method())) {
    // A client switching to a secret method needs one; a client keeping a secret method keeps its secret (RFC 7592
    // §2.2: the client may not choose it, and rotation is the admin's RotateClientSecret).
    if (current.client_secret_digest().empty()) {
      ASSIGN_OR_RETURN(IssuedCredential secret, IssueCredential(options_.server_key));
      updated.set_client_secret_digest(std::move(secret.digest));
      updated.set_client_secret_expires_at(SecretExpiresAt(now, options_.client_secret_lifetime_seconds));
      new_secret = std::move(secret.plaintext);
    }
  } else {
    // A secret the auth method no longer uses would still authenticate at the token endpoint: drop it, and any
    // rotation overlap with it.
    updated.clear_client_secret_digest();
    updated.clear_client_secret_expires_at();
    updated.clear_previous_client_secret_digest();
    updated.clear_previous_client_secret_valid_until();
  }

  std::string token = request.registration_access_token();
  if (options_.rotate_registration_access_token_on_update) {
    // spec.md §2.6: the new token becomes valid and the old one invalid in the same commit (the store moves the
    // token index with the record).
    ASSIGN_OR_RETURN(IssuedCredential rotated, IssueCredential(options_.server_key));
    updated.set_registration_access_token_digest(std::move(rotated.digest));
    token = std::move(rotated.plaintext);
  }

  const absl::Status written = store_->Update(updated, current.version());
  if (absl::IsAborted(written)) return written;
  // Deleted since it was read: an update never resurrects a client, and the token died with it.
  if (absl::IsNotFound(written)) return InvalidRegistrationTokenError();
  if (!written.ok()) return StoreUnavailable("registration_update_failed", current.client_id(), written);

  ClientInformation info = ToClientInformation(updated, options_.issuer);
  if (!new_secret.empty()) info.set_client_secret(std::move(new_secret));
  info.set_registration_access_token(std::move(token));
  common::Log(common::LogLevel::kInfo, "client_updated", {{"client_id", updated.client_id()}});
  return info;
}

absl::Status RegistrationManager::Delete(const clientreg::v1::DeleteRegistrationRequest& request) const {
  return RetryOnConflict(request.client_id(), [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const StoredClient current,
                     Authenticate(request.client_id(), request.registration_access_token()));
    // RFC 7592 §2.3 and §5: the client, its secret and its token go in one durable write.
    const absl::Status deleted = store_->Delete(current.client_id(), current.version());
    if (deleted.ok()) {
      common::Log(common::LogLevel::kInfo, "client_deleted", {{"client_id", current.client_id()}});
      return absl::OkStatus();
    }
    if (absl::IsNotFound(deleted)) return InvalidRegistrationTokenError();
    if (absl::IsAborted(deleted)) return deleted;
    return StoreUnavailable("registration_delete_failed", current.client_id(), deleted);
  });
}

}  // namespace clientreg::server
