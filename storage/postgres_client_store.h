#ifndef CLIENTREG_STORAGE_POSTGRES_CLIENT_STORE_H_
#define CLIENTREG_STORAGE_POSTGRES_CLIENT_STORE_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/client_store.h"

namespace clientreg::storage {

struct StoreMetrics;

struct PostgresStoreOptions {
  // A libpq connection string or URI ("host=db port=5432 dbname=clientreg user=clientreg", or
  // "postgresql://..."). Its connect_timeout, options and application_name are replaced by the fields below.
  std::string dsn;
  // Connections at most, shared by every operation; the group committers take one each per group.
  std::size_t pool_size = 8;
  // Bounds a new connection, and a wait for a free one when all are busy (ResourceExhausted then).
  std::chrono::milliseconds connect_timeout{5000};
  // The server cancels a statement running longer (Unavailable).
  std::chrono::milliseconds statement_timeout{5000};
  // Updated as the store writes (store_metrics.h); null for none. Must outlive the store.
  StoreMetrics* metrics = nullptr;
};

// Opens the PostgreSQL store: connects, and creates or migrates the schema (postgres_schema.h) before returning.
// Several stores, in one process or in replicas on several machines, may open one database at once and share it:
// every check-then-write runs in one transaction holding the rows it checks, so the store's contract holds across
// replicas as within one.
//
// The semantics are the RocksDB store's (client_store.h), with these differences: a write is durable when
// PostgreSQL's COMMIT returns (with synchronous_commit on, the server's default); RecordLastUsed commits with
// synchronous_commit off (bookkeeping, as RocksDB's unsynced batch); a pooled connection found lost before anything
// was sent on it (a server restart closed it) is replaced, and the operation runs on the new one, so the first
// operation after the server returns succeeds; a connection lost later fails the operation using it with
// Unavailable, and is replaced at the next use, so the store recovers by itself; a COMMIT whose answer is lost is
// Unavailable though it may have committed. A Create or Update giving a client a registration access token digest
// that another client holds (a precondition violation, client_store.h) is AlreadyExists, "registration access
// token digest already in use", and writes nothing. Checkpoint is Unimplemented: back up
// the database with pg_dump or the server's own tools.
//
// Errors: Unavailable if the server cannot be reached; FailedPrecondition if the schema is newer than this build.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ClientStore>> OpenPostgresClientStore(const PostgresStoreOptions& options);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_POSTGRES_CLIENT_STORE_H_
