#ifndef CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_
#define CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/admin.pb.h"
#include "common/clock.h"
#include "server/rpc_metrics.h"
#include "storage/client_store.h"

namespace clientreg::server {

// Client authentication for the token endpoint (client_secret_basic / client_secret_post), free of transport.
//
// Last use is kept in memory and written to the store in batches (ClientStore::RecordLastUsed) by a background
// thread every `flush_interval`, and once more by Stop(): an authentication never waits for the disk, and a crash
// may lose the last interval's worth of last-use times. Thread-safe.
class ClientAuthenticator {
 public:
  struct Options {
    // Key of the HMAC under which secrets are stored (common::kServerKeyBytes bytes), as given to the Registrar.
    std::string server_key;
    // How often pending last-use times are written. Must be positive.
    std::chrono::milliseconds flush_interval = std::chrono::seconds(10);
    // Counts each outcome in client_authentications when set; must outlive the authenticator.
    ServerMetrics* metrics = nullptr;
  };

  // Draws the decoy digest and starts the flush thread. `store` and `clock` must outlive the authenticator.
  // InvalidArgument if `flush_interval` is not positive; Internal if the CSPRNG or the HMAC fails.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClientAuthenticator>> Create(storage::ClientStore* store,
                                                                                   const common::Clock* clock,
                                                                                   Options options);

  // Stop(), then destruction.
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

  // The last use of `client_id` recorded in memory and not yet written to the store; 0 if none.
  int64_t PendingLastUsed(std::string_view client_id) const;

  // Writes the pending last-use times now, in one RecordLastUsed call. On failure they stay pending for the next
  // flush, and the store's error is returned.
  [[nodiscard]] absl::Status Flush();

  // Stops the flush thread and flushes once more. Idempotent: later calls do nothing, and last uses recorded after
  // it are written only by an explicit Flush().
  void Stop();

 private:
  ClientAuthenticator(storage::ClientStore* store, const common::Clock* clock, Options options,
                      std::string decoy_digest);

  void FlushLoop();
  // Counts one AuthenticateClient outcome, if there are metrics.
  void Count(std::string_view outcome) const;

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  const Options options_;
  // HMAC of random bytes that match no secret: compared against when there is no real digest to compare with.
  const std::string decoy_digest_;

  // Guards pending_, flushing_ and stopping_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  // client_id -> last use, not yet handed to the store.
  std::unordered_map<std::string, int64_t> pending_;
  // The batch being written by Flush(), still visible to PendingLastUsed until the store has it.
  std::unordered_map<std::string, int64_t> flushing_;
  bool stopping_ = false;
  // Serialises Flush() calls, so that a batch is in flushing_ alone while it is written.
  std::mutex flush_mu_;
  // Guards stopped_, so that concurrent Stop() calls join the thread once.
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::thread flusher_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_AUTHENTICATOR_H_
