#include "storage/postgres_schema.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace clientreg::storage {
namespace {

struct Migration {
  int version;
  std::vector<const char*> statements;
};

// Append only: a migration, once released, never changes; a new schema is a new migration. Plain SQL that
// PostgreSQL-compatible distributed engines (CockroachDB, YugabyteDB) accept too: no advisory locks, no
// LISTEN/NOTIFY, no triggers or stored procedures.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration>* const migrations = new std::vector<Migration>{
      {1,
       {
           // Ids and digests are bytea: any byte is stored as given, and bytea compares bytewise, as RocksDB does,
           // whatever the database's collation. `record` is the serialized clientreg.v1.StoredClient, which is
           // authoritative; the other columns repeat what the store must find, order or check by. version is the
           // record's uint64 as a bigint (compared for equality only). last_used_at is 0 until RecordLastUsed
           // records a use; activity_at is last_used_at, or issued_at while it is 0 (the idle index's time).
           R"sql(CREATE TABLE clients (
                   client_id bytea PRIMARY KEY,
                   record bytea NOT NULL,
                   version bigint NOT NULL,
                   state integer NOT NULL,
                   token_digest bytea UNIQUE,
                   issued_at bigint NOT NULL,
                   last_used_at bigint NOT NULL DEFAULT 0,
                   activity_at bigint NOT NULL))sql",
           // LifecycleIndex::kNeverUsed and kIdle, in (time, client_id) order as ListByLifecycle pages them.
           "CREATE INDEX clients_never_used_idx ON clients (issued_at, client_id) WHERE last_used_at = 0",
           "CREATE INDEX clients_activity_idx ON clients (activity_at, client_id)",
           // Serialized clientreg.v1.StoredTombstone per reaped client_id; never deleted.
           "CREATE TABLE tombstones (client_id bytea PRIMARY KEY, record bytea NOT NULL)",
           // Serialized clientreg.v1.StoredInitialAccessToken (its use count included) by id, found by digest.
           R"sql(CREATE TABLE initial_access_tokens (
                   id bytea PRIMARY KEY,
                   digest bytea NOT NULL UNIQUE,
                   record bytea NOT NULL))sql",
           // Clients per state, as kClientCountShards rows per state whose sum is the count (CountClients).
           R"sql(CREATE TABLE client_counts (
                   state integer NOT NULL,
                   shard integer NOT NULL,
                   count bigint NOT NULL,
                   PRIMARY KEY (state, shard)))sql",
           "INSERT INTO client_counts (state, shard, count) "
           "SELECT s, h, 0 FROM generate_series(1, 2) AS s, generate_series(0, 15) AS h",
       }},
  };
  return *migrations;
}

// Applies `migration` unless schema_migrations records it, in one transaction under the table lock.
absl::Status Apply(PgConnection& connection, const Migration& migration) {
  RETURN_IF_ERROR(connection.Exec("BEGIN", "begin migration"));
  absl::Status applied = [&]() -> absl::Status {
    // Held to the end of the transaction: a replica starting at the same time waits here, then sees the row.
    RETURN_IF_ERROR(connection.Exec("LOCK TABLE schema_migrations IN EXCLUSIVE MODE", "lock schema_migrations"));
    ASSIGN_OR_RETURN(const PgResult found,
                     connection.RunOnce("SELECT 1 FROM schema_migrations WHERE version = $1",
                                        {PgParam::Int32(migration.version)}, "read schema_migrations"));
    if (found.rows() > 0) return absl::OkStatus();
    for (const char* statement : migration.statements) {
      RETURN_IF_ERROR(connection.Exec(statement, absl::StrCat("migration ", migration.version)));
    }
    ASSIGN_OR_RETURN(const PgResult recorded,
                     connection.RunOnce("INSERT INTO schema_migrations (version) VALUES ($1)",
                                        {PgParam::Int32(migration.version)}, "record migration"));
    return absl::OkStatus();
  }();
  if (!applied.ok()) {
    if (!connection.Exec("ROLLBACK", "roll back migration").ok()) connection.MarkBroken();
    return applied;
  }
  return connection.Exec("COMMIT", absl::StrCat("commit migration ", migration.version));
}

}  // namespace

absl::Status MigratePostgresSchema(PgConnection& connection) {
  // Two replicas creating the table at once can both pass IF NOT EXISTS, and the loser fails on a catalog unique
  // index: the table exists then, so trying again succeeds.
  absl::Status created;
  for (int attempt = 0; attempt < 5; ++attempt) {
    created = connection.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        "create schema_migrations");
    if (created.ok() || absl::IsUnavailable(created)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  RETURN_IF_ERROR(created);
  ASSIGN_OR_RETURN(const PgResult newest, connection.RunOnce("SELECT coalesce(max(version), 0) FROM schema_migrations",
                                                             {}, "read schema version"));
  ASSIGN_OR_RETURN(const int32_t version, newest.Int32(0, 0));
  if (version > kPostgresSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("the database's schema is at version ", version,
                                                      ", newer than this build's ", kPostgresSchemaVersion));
  }
  for (const Migration& migration : Migrations()) {
    if (migration.version > version) RETURN_IF_ERROR(Apply(connection, migration));
  }
  return absl::OkStatus();
}

}  // namespace clientreg::storage
