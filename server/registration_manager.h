#ifndef CLIENTREG_SERVER_REGISTRATION_MANAGER_H_
#define CLIENTREG_SERVER_REGISTRATION_MANAGER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/registration.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "server/metadata_validator.h"
#include "server/rpc_metrics.h"
#include "storage/client_store.h"

namespace clientreg::server {

// RFC 7592 client configuration endpoint (read, update, delete), free of transport. Thread-safe; concurrent changes
// to one client are serialised by the store's compare-and-set on StoredClient.version, retried here.
//
// Every call first authenticates the registration access token against the client the URL names. A missing or
// unknown token, a token issued to another client, and an unknown or deleted client all give the same
// UNAUTHENTICATED status (same message, same RegistrationError{error: "invalid_token"} payload), so the answer does
// not reveal which clients exist (OIDC Registration §4.4). Only after the token is verified does a disabled client
// (STATE_DISABLED) give PERMISSION_DENIED. A store failure gives UNAVAILABLE. Messages never hold a token or secret.
class RegistrationManager {
 public:
  struct Options {
    // Key of the HMAC under which secrets and tokens are stored (the Registrar's key).
    std::string server_key;
    // Lifetime of a client secret issued on update; 0 means it never expires.
    int64_t client_secret_lifetime_seconds = 0;
    // The configured public issuer, base of registration_client_uri.
    std::string issuer;
    // A valid token presented on another (or an unknown) client's URL is revoked: its owner's token digest is
    // cleared, and the event is logged with both client ids.
    bool revoke_misused_registration_tokens = true;
    // A successful update issues a new registration access token and invalidates the presented one in the same write.
    bool rotate_registration_access_token_on_update = false;
    // Counts each token check's outcome in registration_token_checks when set; must outlive the manager.
    ServerMetrics* metrics = nullptr;
  };

  // `store` and `clock` must outlive the manager. `validator` is the one Register uses.
  RegistrationManager(storage::ClientStore* store, const common::Clock* clock, MetadataValidator validator,
                      Options options);

  // RFC 7592 §2.1: the client's registration with the presented token and no client_secret. Never writes, except
  // to revoke a misused token.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientInformation> Get(
      const clientreg::v1::GetRegistrationRequest& request) const;

  // RFC 7592 §2.2: replaces the client's metadata (full replacement, validated exactly like a registration). After
  // authentication, INVALID_ARGUMENT with RegistrationError{invalid_request} for a forbidden member (the field names
  // the first), a missing or different body client_id (field "client_id") or a client_secret that does not match
  // (field "client_secret"); then the validator's errors. Any error leaves the stored client unchanged.
  //
  // On success: client_id and client_id_issued_at are kept; a switch to a secret method from a client without a
  // secret issues one (returned once in client_secret); a switch to a method without a secret drops it; otherwise
  // the secret is kept. The answer carries the new registration access token when rotation is on (the presented one
  // no longer works), else the presented one. A client deleted meanwhile is never resurrected: UNAUTHENTICATED.
  // UNAVAILABLE when concurrent changes keep winning the race or the write failed.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientInformation> Update(
      const clientreg::v1::UpdateRegistrationRequest& request) const;

  // RFC 7592 §2.3: deletes the client with its secret and token in one durable write. After OK, every call with the
  // token is UNAUTHENTICATED.
  [[nodiscard]] absl::Status Delete(const clientreg::v1::DeleteRegistrationRequest& request) const;

 private:
  // The client named by `client_id` if `token` is its registration access token and it is not disabled; otherwise
  // the errors described on the class. Revokes a misused token. Counts the outcome.
  absl::StatusOr<clientreg::v1::StoredClient> Authenticate(const std::string& client_id,
                                                           const std::string& token) const;
  // Authenticate without the count.
  absl::StatusOr<clientreg::v1::StoredClient> CheckToken(const std::string& client_id, const std::string& token) const;
  // Clears the registration access token of `owner_id` if its digest is still `token_digest`. True when that token
  // no longer works (revoked now, rotated or deleted meanwhile); false if the store kept failing.
  bool RevokeMisusedToken(const std::string& owner_id, const std::string& token_digest) const;
  // One attempt of Update, against the client as read now. Aborted when the compare-and-set lost a race.
  absl::StatusOr<clientreg::v1::ClientInformation> TryUpdate(
      const clientreg::v1::UpdateRegistrationRequest& request) const;

  storage::ClientStore* store_;
  const common::Clock* clock_;
  MetadataValidator validator_;
  Options options_;
};

// The RegistrationManager options that `config` (complete and valid) sets, with `server_key`.
RegistrationManager::Options RegistrationManagerOptions(const clientreg::config::v1::ServerConfig& config,
                                                        std::string server_key);

// The UNAUTHENTICATED status every failed token check returns, byte for byte the same.
absl::Status InvalidRegistrationTokenError();

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRATION_MANAGER_H_
