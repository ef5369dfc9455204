#ifndef CLIENTREG_SERVER_REGISTRAR_H_
#define CLIENTREG_SERVER_REGISTRAR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "clientreg/v1/metadata.pb.h"
#include "common/clock.h"
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
  };

  // `store` and `clock` must outlive the Registrar.
  Registrar(storage::ClientStore* store, const common::Clock* clock, MetadataValidator validator, Options options);

  // Registers a client: INVALID_ARGUMENT with a RegistrationError payload for bad metadata; UNAVAILABLE when the
  // durable write failed (nothing was stored). On success the client is durable, and the answer carries the
  // client_secret in plaintext exactly this once.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientInformation> Register(
      const clientreg::v1::ClientMetadata& requested) const;

 private:
  storage::ClientStore* store_;
  const common::Clock* clock_;
  MetadataValidator validator_;
  Options options_;
};

// Whether `token_endpoint_auth_method` authenticates with a client secret, so that one is issued.
bool UsesClientSecret(const std::string& token_endpoint_auth_method);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_REGISTRAR_H_
