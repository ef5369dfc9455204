#ifndef CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_
#define CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/client_store.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace clientreg::storage {

// Column families of the RocksDB store. Keys and values are bytes; every key is compared bytewise.
//
// client_id -> serialized clientreg.v1.StoredClient.
inline constexpr char kClientsColumnFamily[] = "clients";
// registration access token digest (StoredClient.registration_access_token_digest) -> client_id.
inline constexpr char kTokenIndexColumnFamily[] = "token_index";
// Reserved for an append-only change log; created, not yet written.
inline constexpr char kAuditColumnFamily[] = "audit";
// client_id -> when the client last authenticated: seconds since the epoch, a positive int64 as 8 bytes big-endian.
// Written without sync (see ClientStore::RecordLastUsed), only for stored clients, and deleted with the client.
// Added after the first release: opening a database that lacks it creates it empty.
inline constexpr char kLastUsedColumnFamily[] = "last_used";

// Opens the RocksDB store in directory `path`, creating the directory (not its parents), the database and any
// missing column family. The returned store holds RocksDB's lock on `path` until it is destroyed: a second open of
// the same path, in this process or another, fails with Unavailable until then. Destroying the store closes the
// database; every acknowledged write is already synced to the WAL, so nothing needs flushing first.
//
// `env` replaces RocksDB's default environment (tests use it to inject file-system faults); nullptr means the
// default. The caller keeps ownership, and `env` must outlive the store.
//
// Errors: Unavailable if the directory cannot be created, opened or locked; DataLoss if the database is corrupt;
// FailedPrecondition or Internal if it cannot be opened with this build's options.
//
// A write that fails returns Unavailable and is not acknowledged. It is never partly applied, but if the disk took
// the data and only the sync failed, the whole record may still appear after a restart: a failed Create leaves
// nothing half-written, not necessarily nothing at all. After a failed WAL write RocksDB refuses every further write
// (Unavailable) until the store is reopened; reads keep working.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ClientStore>> OpenRocksDbClientStore(const std::string& path,
                                                                                  rocksdb::Env* env = nullptr);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_
