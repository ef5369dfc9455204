#ifndef CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_
#define CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/admin.pb.h"
#include "common/clock.h"
#include "server/last_use_recorder.h"
#include "server/rpc_metrics.h"
#include "storage/client_store.h"

namespace clientreg::server {

// Client authentication for the token endpoint (client_secret_basic / client_secret_post), free of transport.
//
// A successful authentication records the client's last use in a LastUseRecorder (batched writes: an
// authentication never waits for the disk): the one given in Options, or one of its own. Thread-safe.
class ClientAuthenticator {
 public:
  struct Options {
    // Key of the HMAC under which secrets are stored (common::kServerKeyBytes bytes), as given to the Registrar.
    std::string server_key;
    // Where last uses go; must outlive the authenticator. Null: a recorder of the authenticator's own, flushing
    // every `flush_interval`.
    LastUseRecorder* last_use = nullptr;
    // How often an own recorder writes pending last-use times. Must be positive when `last_use` is null.
    std::chrono::milliseconds flush_interval = std::chrono::seconds(10);
    // Counts each outcome in client_authentications when set; must outlive the authenticator.
    ServerMetrics* metrics = nullptr;
  };

  // Draws the decoy digest and, without Options::last_use, starts its own recorder. `store` and `clock` must outlive
  // the authenticator. InvalidArgument if it needs its own recorder and `flush_interval` is not positive; Internal if
  // the CSPRNG or the HMAC fails.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClientAuthenticator>> Create(storage::ClientStore* store,
                                                                                   const common::Clock* clock,
                                                                                   Options options);

  // An own recorder is stopped (and flushes); a shared one is left to its owner.
  ~ClientAuthenticator();

  ClientAuthenticator(const ClientAuthenticator&) = delete;
  ClientAuthenticator& operator=(const ClientAuthenticator&) = delete;

  // OK with the client (last_used_at = now) when `client_secret` is the client's current secret and that has not
  // expired (client_secret_expires_at is 0 or after now), or its previous secret while now is before
  // previous_client_secret_valid_until; the client must be active and use client_secret_basic or
  // client_secret_post. Every other case (unknown client, wrong, empty or expired secret, disabled client, a client
  // without a secret) gets the same UNAUTHENTICATED status, RegistrationError{invalid_client, "client
  // authentication failed"}, byte for byte, after the same digest computation and comparisons. Unavailable if the
  // store cannot be read; Internal if the HMAC fails.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientRecord> Authenticate(std::string_view client_id,
                                                                         std::string_view client_secret);

  // The recorder's LastUseRecorder::Pending: the last use of `client_id` recorded in memory and not yet written to
  // the store (by any user of the recorder); 0 if none.
  int64_t PendingLastUsed(std::string_view client_id) const { return last_use_->Pending(client_id); }

  // The recorder's LastUseRecorder::Flush.
  [[nodiscard]] absl::Status Flush() { return last_use_->Flush(); }

  // The recorder's LastUseRecorder::Stop: stops its flush thread and flushes once more. Idempotent.
  void Stop() { last_use_->Stop(); }

 private:
  ClientAuthenticator(storage::ClientStore* store, const common::Clock* clock, Options options,
                      std::string decoy_digest, std::unique_ptr<LastUseRecorder> own_last_use);

  // Counts one AuthenticateClient outcome, if there are metrics.
  void Count(std::string_view outcome) const;

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  const Options options_;
  // HMAC of random bytes that match no secret: compared against when there is no real digest to compare with.
  const std::string decoy_digest_;
  // Set without Options::last_use.
  const std::unique_ptr<LastUseRecorder> own_last_use_;
  // Options::last_use or own_last_use_.
  LastUseRecorder* const last_use_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_
