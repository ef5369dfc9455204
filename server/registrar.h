#ifndef CLIENTREG_SERVER_REGISTRAR_H_
#define CLIENTREG_SERVER_REGISTRAR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "server/initial_access_tokens.h"
#include "server/metadata_validator.h"
#include "storage/client_store.h"

namespace clientreg::server {

// RFC 7591 §3 registration, free of transport: validates, issues credentials, stores durably, and answers.
// Thread-safe; holds no lock of its own (the store serialises nothing beyond RocksDB's group commit).
class Registrar {
 public:
  struct Options {
    // Key of the HMAC under which secrets and tokens are stored (common::kServerKeyBytes bytes).
    std::string server_key;
    // Lifetime of issued client secrets; 0 means they never expire.
    int64_t client_secret_lifetime_seconds = 0;
    // The configured public issuer (ServerConfig.issuer, validated: no trailing slash). Base of every
    // registration_client_uri; never taken from a request.
    std::string issuer;
  };

  // `store` and `clock` must outlive the Registrar.
  Registrar(storage::ClientStore* store, const common::Clock* clock, MetadataValidator validator, Options options);

  // Registers a client under `grant` (InitialAccessTokens::Check; the default is an open registration):
  // INVALID_ARGUMENT with a RegistrationError payload for bad metadata, or for metadata outside the grant's token
  // policy (CheckTokenPolicy); UNAUTHENTICATED (InvalidInitialAccessToken) when the grant's stored token was used up,
  // revoked or expired by the time the client was written (nothing was stored); RESOURCE_EXHAUSTED when the store
  // has too many writes waiting (nothing was tried); UNAVAILABLE when the durable write failed (nothing was
  // stored). On success the client is durable, records the grant's token id and label, and one use of a counted
  // token was consumed in the same write; the answer carries the client_secret (for a secret-based auth method) and
  // the registration access token in plaintext exactly this once, with registration_client_uri =
  // RegistrationClientUri(issuer, client_id). The store keeps only their digests.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientInformation> Register(
      const clientreg::v1::ClientMetadata& requested, const TokenGrant& grant = TokenGrant()) const;

  // Register without waiting for the disk: validates and issues credentials on the caller's thread, then calls
  // `done` exactly once with what Register would return, on the store's thread once the write is durable (or at
  // once on the caller's thread when the request fails before the write). `requested` and `grant` are not used
  // after this returns. `done` must not block.
  using RegisterDone = std::function<void(absl::StatusOr<clientreg::v1::ClientInformation>)>;
  void RegisterAsync(const clientreg::v1::ClientMetadata& requested, const TokenGrant& grant, RegisterDone done) const;

 private:
  struct Pending;
  // Draws a client_id for `pending` and writes it; on an id collision, again (at most kMaxIdAttempts in all).
  void Store(std::shared_ptr<Pending> pending, int attempt, RegisterDone done) const;

  storage::ClientStore* store_;
  const common::Clock* clock_;
  MetadataValidator validator_;
  Options options_;
};

// The Registrar options that `config` (complete and valid) sets, with `server_key`.
Registrar::Options RegistrarOptions(const clientreg::config::v1::ServerConfig& config, std::string server_key);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRAR_H_
