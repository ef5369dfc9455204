#ifndef CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_
#define CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/client_store.h"

namespace rocksdb {
class Env;
class MergeOperator;
}  // namespace rocksdb

namespace clientreg::storage {

struct StoreMetrics;

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
// Initial access tokens (ClientStore::CreateInitialAccessToken), two kinds of key: kInitialAccessTokenRecordPrefix +
// id -> serialized clientreg.v1.StoredInitialAccessToken, and kInitialAccessTokenDigestPrefix + digest -> id. Added
// after the first release, like last_used.
inline constexpr char kInitialAccessTokensColumnFamily[] = "initial_access_tokens";
inline constexpr char kInitialAccessTokenRecordPrefix[] = "t/";
inline constexpr char kInitialAccessTokenDigestPrefix[] = "d/";
// The lifecycle indexes (ClientStore::ListByLifecycle), one column family each. A key is the client's time in the
// index, 8 bytes as EncodeOrderedInt64 writes it (big-endian with the sign bit flipped, so that byte order is time
// order), followed by the client_id; the value is empty. Keys are thus in (time, client_id) order, and a time bound
// is a key bound. Written in the same batch as every change of what they order (Create, RecordLastUsed, an Update
// of client_id_issued_at, Delete, Reap). Added with the tombstones; see kLifecycleIndexesBuiltKey.
//
// Clients never used (no last_used entry), by client_id_issued_at: LifecycleIndex::kNeverUsed.
inline constexpr char kNeverUsedColumnFamily[] = "never_used";
// Every client by its last activity, its last_used entry or else client_id_issued_at: LifecycleIndex::kIdle.
inline constexpr char kByActivityColumnFamily[] = "by_activity";
// client_id -> serialized clientreg.v1.StoredTombstone, written by ClientStore::Reap and never deleted.
inline constexpr char kTombstonesColumnFamily[] = "tombstones";

// The default column family holds no client data. Under these keys, the number of stored clients in each state
// (ClientStore::CountClients): a signed 64-bit integer, 8 bytes big-endian. A count changes only by merges of
// deltas in the same encoding, in the same synced batch as the Create, state-changing Update or Delete they count,
// so a count is exactly as durable as the records it counts. Added after last-use tracking: an open that finds
// either key missing counts the clients column family once and writes both keys (one synced batch) before serving.
inline constexpr char kActiveClientsCountKey[] = "count/active";
inline constexpr char kDisabledClientsCountKey[] = "count/disabled";
// Also in the default column family, value "1": the lifecycle indexes hold every client. An open that finds it
// missing (a database written before them, whose new column families it has just created empty) clears both index
// column families, builds them from the clients and last_used column families, and writes this key last, before
// serving; a build cut short by a crash is redone whole at the next open.
inline constexpr char kLifecycleIndexesBuiltKey[] = "lifecycle_indexes/built";
// The name of the default column family's merge operator, which adds 8-byte big-endian signed deltas. The other
// column families have no merge operator. A change of encoding or meaning needs a new name.
inline constexpr char kInt64AddMergeOperatorName[] = "clientreg.int64_add.v1";

// A new instance of the default column family's merge operator (kInt64AddMergeOperatorName). Whatever opens the
// store's database with RocksDB's own API (a tool, a test) must set it as the default column family's
// merge_operator: without it RocksDB cannot read the count keys, nor flush or compact that column family once it
// holds merges, which an open does when it replays the log. The other column families read the same without it.
[[nodiscard]] std::shared_ptr<rocksdb::MergeOperator> NewInt64AddMergeOperator();

// Opens the RocksDB store in directory `path`, creating the directory (not its parents), the database and any
// missing column family. The returned store holds RocksDB's lock on `path` until it is destroyed: a second open of
// the same path, in this process or another, fails with Unavailable until then. Destroying the store closes the
// database; every acknowledged write is already synced to the WAL, so nothing needs flushing first.
//
// `env` replaces RocksDB's default environment (tests use it to inject file-system faults); nullptr means the
// default. The caller keeps ownership, and `env` must outlive the store. Likewise `metrics`, which the store
// updates as it writes (store_metrics.h); nullptr means no metrics.
//
// Before it returns, the open loads the client counts (CountClients). A database without them (see
// kActiveClientsCountKey) is counted first, and one without lifecycle indexes (kLifecycleIndexesBuiltKey) has them
// built: each reads every client record once, at the first open that needs it.
//
// Errors: Unavailable if the directory cannot be created, opened or locked, or the counts or the lifecycle indexes
// cannot be read or written; DataLoss if the database or a stored count is corrupt; FailedPrecondition or Internal if
// it cannot be opened with this build's options.
//
// A write that fails returns Unavailable and is not acknowledged. It is never partly applied, but if the disk took
// the data and only the sync failed, the whole record may still appear after a restart: a failed Create leaves
// nothing half-written, not necessarily nothing at all. After a failed WAL write RocksDB refuses every further write
// (Unavailable) until the store is reopened; reads keep working.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ClientStore>> OpenRocksDbClientStore(const std::string& path,
                                                                                  rocksdb::Env* env = nullptr,
                                                                                  StoreMetrics* metrics = nullptr);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_CLIENT_STORE_H_
