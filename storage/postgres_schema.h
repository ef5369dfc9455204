#ifndef CLIENTREG_STORAGE_POSTGRES_SCHEMA_H_
#define CLIENTREG_STORAGE_POSTGRES_SCHEMA_H_

#include "absl/status/status.h"
#include "storage/postgres_connection.h"

namespace clientreg::storage {

// The schema version this build writes: the last migration in postgres_schema.cc.
inline constexpr int kPostgresSchemaVersion = 1;

// The sharded client counts (PostgresClientStore::CountClients): each counted state has this many rows in
// client_counts, and a write adds its delta to one of them, so that concurrent writers rarely wait on one row.
inline constexpr int kClientCountShards = 16;

// Brings the database's schema to kPostgresSchemaVersion: creates schema_migrations if missing, then applies each
// migration not yet recorded there, each in one transaction with its row in schema_migrations. Idempotent, and safe
// when several replicas run it at once: each migration's transaction first takes `LOCK TABLE schema_migrations IN
// EXCLUSIVE MODE` (a table lock, not an advisory lock, which distributed engines lack), so one replica applies a
// migration and the others find it recorded. FailedPrecondition if the database records a version newer than this
// build knows; Unavailable if the server cannot be reached; the server's error otherwise.
[[nodiscard]] absl::Status MigratePostgresSchema(PgConnection& connection);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_POSTGRES_SCHEMA_H_
