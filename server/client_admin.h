#ifndef CLIENTREG_SERVER_CLIENT_ADMIN_H_
#define CLIENTREG_SERVER_CLIENT_ADMIN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/admin.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "server/client_authenticator.h"
#include "storage/client_store.h"

namespace clientreg::server {

// Client administration for operators (the ClientAdmin RPCs), free of transport. Errors are plain statuses:
// NotFound for an unknown client, InvalidArgument for bad arguments, FailedPrecondition for rotating the secret of a
// client without one, Unavailable when the store failed or concurrent changes kept winning; Backup adds its own
// (see there). Thread-safe.
class ClientAdmin {
 public:
  struct Options {
    // Key of the HMAC under which secrets are stored, as given to the Registrar.
    std::string server_key;
    // Lifetime of a secret issued by RotateClientSecret; 0 means it never expires (RegistrationPolicy).
    int64_t client_secret_lifetime_seconds = 0;
    // How long a rotated secret stays valid when the request names no overlap (ServerConfig).
    int64_t secret_rotation_overlap_seconds = 0;
    // Upper bound on a ListClients page (ServerConfig.max_list_page_size).
    uint32_t max_list_page_size = 1000;
  };

  // A page of ListClients holds this many clients when the request says 0 (or the cap, if lower).
  static constexpr uint32_t kDefaultPageSize = 100;

  // `store` and `clock` must outlive the admin; so must `authenticator`, which may be null. When given, last-use
  // times it has not yet flushed are merged into the records returned.
  ClientAdmin(storage::ClientStore* store, const common::Clock* clock, const ClientAuthenticator* authenticator,
              Options options);

  // The client, with last_used_at from the store merged with any unflushed in-memory value. NotFound for an unknown
  // client; for a reaped one, its message says when and why.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientRecord> GetClient(std::string_view client_id) const;

  // A page of clients in client_id order that pass every filter that is set: software_id equal; created_after <
  // client_id_issued_at < created_before; last_used_after < last_used_at < last_used_before (0 for a client never
  // used, so last_used_before also matches those); never_used: last_used_at 0; idle_since: last used before it, or
  // never used and registered before it; state equal unless STATE_UNSPECIFIED. page_size 0 means
  // kDefaultPageSize; larger sizes are cut to max_list_page_size. One call examines at most 10 × page size + 1000
  // clients: a selective filter may therefore return a short or empty page with a next_page_token, and only an
  // empty next_page_token means the end. InvalidArgument for a page_token not from a previous response or an
  // unknown state.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ListClientsResponse> ListClients(
      const clientreg::v1::ListClientsRequest& request) const;

  // A page of the reaper's tombstones in client_id order; page_size as ListClients. InvalidArgument for a
  // page_token not from a previous response.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ListReapedClientsResponse> ListReapedClients(
      const clientreg::v1::ListReapedClientsRequest& request) const;

  // Sets the state (and updated_at, version + 1) with a compare-and-set update, retried when a concurrent change
  // wins. Idempotent: a client already in that state is returned unchanged, without a write.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientRecord> DisableClient(std::string_view client_id);
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientRecord> EnableClient(std::string_view client_id);

  // Deletes the client, its token index entry and its last-use record (compare-and-set, retried).
  [[nodiscard]] absl::Status DeleteClient(std::string_view client_id);

  // Issues a new secret (returned in plaintext only here) and stores its digest. The old secret stays accepted
  // for the overlap (the request's overlap_seconds if set, else secret_rotation_overlap_seconds), but never beyond
  // its own expiry; an overlap of 0, or an old secret already expired, stops it at once. A secret kept from an
  // earlier rotation stops at once either way: only one previous secret is kept. client_secret_expires_at becomes
  // now + client_secret_lifetime_seconds (0: never). FailedPrecondition if the client's token_endpoint_auth_method
  // uses no secret; InvalidArgument for a negative or overflowing overlap.
  [[nodiscard]] absl::StatusOr<clientreg::v1::RotateClientSecretResponse> RotateClientSecret(
      const clientreg::v1::RotateClientSecretRequest& request);

  // Writes a backup of the whole store into the new directory `dir` with ClientStore::Checkpoint, while every other
  // call goes on, and logs `backup_written` with the directory and the client count. The response's `clients` is
  // the store's count (active + disabled) read just before. Errors are Checkpoint's: InvalidArgument (empty,
  // relative, inside the store), AlreadyExists, FailedPrecondition (no parent directory), Unavailable.
  [[nodiscard]] absl::StatusOr<clientreg::v1::BackupResponse> Backup(const std::string& dir);

 private:
  // Reads the client, lets `change` edit it (false: leave it as it is), and writes it back with version + 1 and
  // updated_at = now, re-reading and retrying when a concurrent change wins. Returns the client as stored.
  [[nodiscard]] absl::StatusOr<clientreg::v1::StoredClient> Modify(
      std::string_view client_id, const std::function<absl::StatusOr<bool>(clientreg::v1::StoredClient&)>& change);

  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientRecord> SetState(std::string_view client_id,
                                                                     clientreg::v1::StoredClient::State state);

  // The latest last use of `client_id`: recorded in the store or still pending in the authenticator.
  [[nodiscard]] absl::StatusOr<int64_t> LastUsed(std::string_view client_id) const;

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  const ClientAuthenticator* const authenticator_;
  const Options options_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_ADMIN_H_
