#ifndef CLIENTREG_STORAGE_CLIENT_STORE_H_
#define CLIENTREG_STORAGE_CLIENT_STORE_H_

#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/stored.pb.h"

namespace clientreg::storage {

// Durable storage of registered clients. It stores serialized StoredClient records and knows no OAuth rules.
// Implementations: RocksDB (embedded, rocksdb_client_store.h); PostgreSQL to follow.
//
// Every method is thread-safe. Every OK write is durable before it returns (a crash right after loses nothing), and
// every change is atomic: a failed write leaves nothing half-written. A failed write returns Unavailable, which the
// service answers with 503, never with success. Unavailable means "not acknowledged", not "certainly absent": when
// only the final sync or commit acknowledgement failed, the whole change may still be found after a restart.
class ClientStore {
 public:
  virtual ~ClientStore() = default;

  // Writes a new client and, when it holds a registration access token digest, the index from that digest to the
  // client, in one durable write. AlreadyExists if `client.client_id()` is already stored (of concurrent Creates of
  // one id, exactly one succeeds); InvalidArgument if it is empty; Unavailable if the write failed.
  [[nodiscard]] virtual absl::Status Create(const clientreg::v1::StoredClient& client) = 0;

  // Returns the stored client, or NotFound if `client_id` was never registered or was deleted. Unavailable or
  // DataLoss on a read failure or a corrupt record.
  [[nodiscard]] virtual absl::StatusOr<clientreg::v1::StoredClient> Get(std::string_view client_id) const = 0;

  // Calls `visit` for every stored client in client_id order, over a consistent snapshot. Stops at, and returns,
  // the first non-OK status `visit` returns.
  [[nodiscard]] virtual absl::Status ForEach(
      const std::function<absl::Status(const clientreg::v1::StoredClient&)>& visit) const = 0;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_CLIENT_STORE_H_
