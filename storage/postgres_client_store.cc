#include "storage/postgres_client_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "storage/commit_queue.h"
#include "storage/postgres_connection.h"
#include "storage/postgres_schema.h"
#include "storage/store_metrics.h"

namespace clientreg::storage {
namespace {

using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredInitialAccessToken;
using ::clientreg::v1::StoredTombstone;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The counted states (ClientCounts), in the order their count rows are updated: every transaction takes count rows
// in this one order, so two of them never deadlock on them.
constexpr std::array<StoredClient::State, 2> kCountedStates = {StoredClient::STATE_ACTIVE,
                                                               StoredClient::STATE_DISABLED};
using CountDeltas = std::array<int64_t, kCountedStates.size()>;

void AddToCount(CountDeltas& deltas, StoredClient::State state, int64_t delta) {
  for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
    if (kCountedStates[i] == state) deltas[i] += delta;
  }
}

// Statements, each prepared once per connection (PgConnection::Run). Parameters are binary; a digest that is empty
// is stored as NULL, which the unique index ignores and no lookup matches.
constexpr PgStatement kInsertClient{
    "insert_client",
    "INSERT INTO clients (client_id, record, version, state, token_digest, issued_at, activity_at) "
    "VALUES ($1, $2, $3, $4, NULLIF($5, ''::bytea), $6, $6) ON CONFLICT DO NOTHING"};
constexpr PgStatement kDeleteClient{"delete_client", "DELETE FROM clients WHERE client_id = $1"};
constexpr PgStatement kGetClient{"get_client", "SELECT record FROM clients WHERE client_id = $1"};
constexpr PgStatement kClientExists{"client_exists", "SELECT 1 FROM clients WHERE client_id = $1"};
// The row an Update, Delete or Reap changes, locked until its transaction ends: across replicas, the check and the
// write it guards are one atomic step.
constexpr PgStatement kLockClient{
    "lock_client",
    "SELECT version, state, issued_at, last_used_at, activity_at FROM clients WHERE client_id = $1 FOR UPDATE"};
constexpr PgStatement kUpdateClient{
    "update_client",
    "UPDATE clients SET record = $2, version = $3, state = $4, token_digest = NULLIF($5, ''::bytea), "
    "issued_at = $6, activity_at = CASE WHEN last_used_at = 0 THEN $6 ELSE last_used_at END WHERE client_id = $1"};
constexpr PgStatement kScanClients{
    "scan_clients", "SELECT client_id, record FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2"};
constexpr PgStatement kFindByToken{"find_by_token", "SELECT client_id FROM clients WHERE token_digest = $1"};
// Never moves a time backwards; a client that does not exist matches no row and is ignored.
constexpr PgStatement kRecordLastUsed{
    "record_last_used",
    "UPDATE clients SET last_used_at = $2, activity_at = $2 WHERE client_id = $1 AND last_used_at < $2"};
constexpr PgStatement kGetLastUsed{"get_last_used", "SELECT last_used_at FROM clients WHERE client_id = $1"};
constexpr PgStatement kAddCount{"add_count",
                                "UPDATE client_counts SET count = count + $3 WHERE state = $1 AND shard = $2"};
constexpr PgStatement kCountClients{"count_clients",
                                    "SELECT state, sum(count)::bigint FROM client_counts GROUP BY state"};
constexpr PgStatement kListNeverUsed{
    "list_never_used",
    "SELECT client_id, issued_at FROM clients WHERE last_used_at = 0 AND issued_at < $1 "
    "ORDER BY issued_at, client_id LIMIT $2"};
constexpr PgStatement kListNeverUsedAfter{
    "list_never_used_after",
    "SELECT client_id, issued_at FROM clients WHERE last_used_at = 0 AND issued_at < $1 "
    "AND (issued_at, client_id) > ($3, $4) ORDER BY issued_at, client_id LIMIT $2"};
constexpr PgStatement kListIdle{
    "list_idle",
    "SELECT client_id, activity_at FROM clients WHERE activity_at < $1 ORDER BY activity_at, client_id LIMIT $2"};
constexpr PgStatement kListIdleAfter{
    "list_idle_after",
    "SELECT client_id, activity_at FROM clients WHERE activity_at < $1 AND (activity_at, client_id) > ($3, $4) "
    "ORDER BY activity_at, client_id LIMIT $2"};
constexpr PgStatement kTombstoneExists{"tombstone_exists", "SELECT 1 FROM tombstones WHERE client_id = $1"};
constexpr PgStatement kPutTombstone{"put_tombstone",
                                    "INSERT INTO tombstones (client_id, record) VALUES ($1, $2) "
                                    "ON CONFLICT (client_id) DO UPDATE SET record = excluded.record"};
constexpr PgStatement kGetTombstone{"get_tombstone", "SELECT record FROM tombstones WHERE client_id = $1"};
constexpr PgStatement kScanTombstones{
    "scan_tombstones", "SELECT client_id, record FROM tombstones WHERE client_id > $1 ORDER BY client_id LIMIT $2"};
constexpr PgStatement kInsertToken{
    "insert_token",
    "INSERT INTO initial_access_tokens (id, digest, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};
constexpr PgStatement kFindToken{"find_token", "SELECT id, record FROM initial_access_tokens WHERE digest = $1"};
constexpr PgStatement kListTokens{"list_tokens", "SELECT id, record FROM initial_access_tokens ORDER BY id"};
// Serialises every Create using the token, and its revocation, across replicas, until the transaction ends.
constexpr PgStatement kLockToken{"lock_token", "SELECT record FROM initial_access_tokens WHERE id = $1 FOR UPDATE"};
constexpr PgStatement kPutToken{"put_token", "UPDATE initial_access_tokens SET record = $2 WHERE id = $1"};

// Rows per page of a scan: one round trip each, and a bounded amount of memory.
constexpr int64_t kScanPage = 256;

// A record stored under an id must parse and name that id; anything else is corruption and must not be served.
template <typename Record>
absl::StatusOr<Record> ParseStored(absl::string_view kind, std::string_view id, const std::string& bytes,
                                   const std::string& (Record::*id_of)() const) {
  Record record;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) || !record.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("stored ", kind, " ", ToAbsl(id), " does not parse"));
  }
  if ((record.*id_of)() != id) {
    return absl::DataLossError(absl::StrCat("stored ", kind, " under ", ToAbsl(id), " names ", (record.*id_of)()));
  }
  return record;
}

absl::StatusOr<StoredClient> ParseClient(std::string_view id, const std::string& bytes) {
  return ParseStored<StoredClient>("client", id, bytes, &StoredClient::client_id);
}
absl::StatusOr<StoredTombstone> ParseTombstone(std::string_view id, const std::string& bytes) {
  return ParseStored<StoredTombstone>("tombstone of client", id, bytes, &StoredTombstone::client_id);
}
absl::StatusOr<StoredInitialAccessToken> ParseToken(std::string_view id, const std::string& bytes) {
  return ParseStored<StoredInitialAccessToken>("initial access token", id, bytes, &StoredInitialAccessToken::id);
}

template <typename Message>
absl::StatusOr<std::string> Serialize(const Message& message, absl::string_view what) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) return absl::InternalError(absl::StrCat("cannot serialize ", what));
  return bytes;
}

// Runs `body` in one transaction opened with `begin`: COMMIT if it returns OK, ROLLBACK otherwise. A ROLLBACK that
// fails leaves the connection in an unknown state, so it is dropped.
template <typename Body>
absl::Status InTransaction(PgConnection& connection, const char* begin, Body body) {
  RETURN_IF_ERROR(connection.Exec(begin, "begin"));
  const absl::Status status = body();
  if (!status.ok()) {
    if (!connection.Exec("ROLLBACK", "roll back").ok()) connection.MarkBroken();
    return status;
  }
  // A COMMIT whose answer is lost may have committed: Unavailable says "not acknowledged", as the contract allows.
  return connection.Exec("COMMIT", "commit");
}

// A client row as kLockClient reads it.
struct LockedClient {
  uint64_t version = 0;
  StoredClient::State state = StoredClient::STATE_UNSPECIFIED;
  int64_t issued_at = 0;
  int64_t last_used_at = 0;
  int64_t activity_at = 0;
};

class PostgresClientStore final : public ClientStore {
 public:
  explicit PostgresClientStore(const PostgresStoreOptions& options)
      : metrics_(options.metrics),
        pool_(options.dsn, options.pool_size, options.connect_timeout, options.statement_timeout) {}

  using ClientStore::CreateAsync;

  void CreateAsync(const StoredClient& client, const std::optional<InitialAccessTokenUse>& use,
                   std::function<void(absl::Status)> done) override {
    if (client.client_id().empty()) return done(absl::InvalidArgumentError("client_id is empty"));
    absl::StatusOr<std::string> record = Serialize(client, absl::StrCat("client ", client.client_id()));
    if (!record.ok()) return done(record.status());
    PendingCreate create{.client_id = client.client_id(),
                         .record = *std::move(record),
                         .version = client.version(),
                         .token_digest = client.registration_access_token_digest(),
                         .state = client.state(),
                         .issued_at = client.client_id_issued_at(),
                         .use = use,
                         .done = std::move(done)};
    if (!creates_.Submit(std::move(create))) {
      return create.done(absl::ResourceExhaustedError("too many writes are waiting for the database"));
    }
  }

  absl::StatusOr<StoredClient> Get(std::string_view client_id) const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<StoredClient> {
      ASSIGN_OR_RETURN(const PgResult result, connection.Run(kGetClient, {PgParam::Bytes(client_id)}, "read client"));
      if (result.rows() == 0) return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " not found"));
      return ParseClient(client_id, result.Bytes(0, 0));
    });
  }

  absl::Status ForEach(const std::function<absl::Status(const StoredClient&)>& visit) const override {
    return ScanFrom("", [&visit](const StoredClient& client) -> absl::StatusOr<bool> {
      RETURN_IF_ERROR(visit(client));
      return true;
    });
  }

  absl::Status ScanFrom(std::string_view start_after,
                        const std::function<absl::StatusOr<bool>(const StoredClient&)>& visit) const override {
    return Scan(kScanClients, start_after,
                [&](const std::string& id, const std::string& bytes) -> absl::StatusOr<bool> {
                  ASSIGN_OR_RETURN(const StoredClient client, ParseClient(id, bytes));
                  return visit(client);
                });
  }

  absl::Status Update(const StoredClient& client, uint64_t expected_version) override {
    const std::string& id = client.client_id();
    if (client.version() <= expected_version) {
      return absl::InvalidArgumentError(absl::StrCat("update of client ", id, " to version ", client.version(),
                                                     " does not advance expected version ", expected_version));
    }
    ASSIGN_OR_RETURN(const std::string record, Serialize(client, absl::StrCat("client ", id)));
    return WriteTransaction([&](PgConnection& connection) -> absl::Status {
      ASSIGN_OR_RETURN(const LockedClient stored, LockForChange(connection, id, expected_version));
      absl::StatusOr<PgResult> updated = connection.Run(
          kUpdateClient,
          {PgParam::Bytes(id), PgParam::Bytes(record), PgParam::Int64(static_cast<int64_t>(client.version())),
           PgParam::Int32(client.state()), PgParam::Bytes(client.registration_access_token_digest()),
           PgParam::Int64(client.client_id_issued_at())},
          "update client");
      // The row is found by its key and keeps it: the one unique index the UPDATE can violate is the digest's.
      if (absl::IsAlreadyExists(updated.status())) return TokenDigestInUse(id);
      RETURN_IF_ERROR(updated.status());
      CountDeltas deltas{};
      if (stored.state != client.state()) {
        AddToCount(deltas, stored.state, -1);
        AddToCount(deltas, client.state(), 1);
      }
      return AddCounts(connection, deltas);
    });
  }

  absl::Status Delete(std::string_view client_id, uint64_t expected_version) override {
    return WriteTransaction([&](PgConnection& connection) -> absl::Status {
      ASSIGN_OR_RETURN(const LockedClient stored, LockForChange(connection, client_id, expected_version));
      return DeleteLocked(connection, client_id, stored);
    });
  }

  absl::StatusOr<std::string> FindByTokenDigest(std::string_view token_digest) const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(const PgResult result,
                       connection.Run(kFindByToken, {PgParam::Bytes(token_digest)}, "read token index"));
      // The digest is a secret's HMAC: it stays out of every message.
      if (result.rows() == 0) return absl::NotFoundError("no client holds this registration access token");
      return result.Bytes(0, 0);
    });
  }

  absl::Status RecordLastUsed(const std::vector<std::pair<std::string, int64_t>>& last_used) override {
    std::vector<std::pair<std::string, int64_t>> latest;
    latest.reserve(last_used.size());
    for (const auto& entry : last_used) {
      if (entry.second > 0) latest.push_back(entry);
    }
    // By id, latest first, then one per id: rows are locked in id order, so two concurrent batches cannot deadlock.
    std::sort(latest.begin(), latest.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    latest.erase(
        std::unique(latest.begin(), latest.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
        latest.end());
    if (latest.empty()) return absl::OkStatus();
    return WithConnection([&](PgConnection& connection) -> absl::Status {
      return InTransaction(connection, "BEGIN", [&]() -> absl::Status {
        // Bookkeeping, as RocksDB's unsynced batch: the commit does not wait for the WAL flush, and a server crash
        // may lose the last batch (making a last use look older than it was), never corrupt anything.
        RETURN_IF_ERROR(connection.Exec("SET LOCAL synchronous_commit = off", "record last use"));
        for (const auto& [client_id, seconds] : latest) {
          ASSIGN_OR_RETURN(
              const PgResult updated,
              connection.Run(kRecordLastUsed, {PgParam::Bytes(client_id), PgParam::Int64(seconds)}, "record last use"));
        }
        return absl::OkStatus();
      });
    });
  }

  absl::Status CheckHealth() override {
    return WithConnection([](PgConnection& connection) { return connection.Exec("SELECT 1", "health check"); });
  }

  absl::StatusOr<int64_t> GetLastUsed(std::string_view client_id) const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(const PgResult result,
                       connection.Run(kGetLastUsed, {PgParam::Bytes(client_id)}, "read last use"));
      if (result.rows() == 0) return int64_t{0};
      return result.Int64(0, 0);
    });
  }

  // The counts live in client_counts, changed in the same transaction as the rows they count (so exactly as
  // durable), spread over kClientCountShards rows per state: a count(*) would scan every client at each metrics
  // scrape, and one row per state would make every concurrent registration, on every replica, wait for the one
  // before it to commit. Reading sums 32 rows.
  absl::StatusOr<ClientCounts> CountClients() const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<ClientCounts> {
      ASSIGN_OR_RETURN(const PgResult result, connection.Run(kCountClients, {}, "read client counts"));
      ClientCounts counts;
      for (int row = 0; row < result.rows(); ++row) {
        ASSIGN_OR_RETURN(const int32_t state, result.Int32(row, 0));
        ASSIGN_OR_RETURN(const int64_t count, result.Int64(row, 1));
        if (state == StoredClient::STATE_ACTIVE) counts.active = count;
        if (state == StoredClient::STATE_DISABLED) counts.disabled = count;
      }
      return counts;
    });
  }

  absl::StatusOr<std::vector<LifecycleEntry>> ListByLifecycle(
      LifecycleIndex index, int64_t before, std::size_t limit,
      const std::optional<LifecycleEntry>& start_after) const override {
    if (limit == 0) return std::vector<LifecycleEntry>();
    const bool never_used = index == LifecycleIndex::kNeverUsed;
    std::vector<PgParam> params = {PgParam::Int64(before),
                                   PgParam::Int64(static_cast<int64_t>(std::min<std::size_t>(limit, INT64_MAX)))};
    const PgStatement* statement = never_used ? &kListNeverUsed : &kListIdle;
    if (start_after.has_value()) {
      statement = never_used ? &kListNeverUsedAfter : &kListIdleAfter;
      params.push_back(PgParam::Int64(start_after->time));
      params.push_back(PgParam::Bytes(start_after->client_id));
    }
    // One statement: one snapshot, reading only the index entries it returns.
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<std::vector<LifecycleEntry>> {
      ASSIGN_OR_RETURN(const PgResult result, connection.Run(*statement, params, "list lifecycle index"));
      std::vector<LifecycleEntry> entries;
      entries.reserve(static_cast<std::size_t>(result.rows()));
      for (int row = 0; row < result.rows(); ++row) {
        ASSIGN_OR_RETURN(const int64_t time, result.Int64(row, 1));
        entries.push_back(LifecycleEntry{result.Bytes(row, 0), time});
      }
      return entries;
    });
  }

  absl::Status Reap(const StoredTombstone& tombstone, uint64_t expected_version, LifecycleIndex index,
                    int64_t before) override {
    const std::string& id = tombstone.client_id();
    if (id.empty()) return absl::InvalidArgumentError("the tombstone names no client");
    ASSIGN_OR_RETURN(const std::string record, Serialize(tombstone, absl::StrCat("the tombstone of client ", id)));
    return WriteTransaction([&](PgConnection& connection) -> absl::Status {
      // The row lock is what RecordLastUsed's UPDATE waits for: a use recorded first makes the client not due here;
      // one recorded after the commit finds no row.
      ASSIGN_OR_RETURN(const LockedClient stored, LockForChange(connection, id, expected_version));
      const bool due = index == LifecycleIndex::kNeverUsed ? stored.last_used_at == 0 && stored.issued_at < before
                                                           : stored.activity_at < before;
      if (!due) return absl::FailedPreconditionError(absl::StrCat("client ", id, " is no longer due to be reaped"));
      RETURN_IF_ERROR(DeleteLocked(connection, id, stored));
      return connection.Run(kPutTombstone, {PgParam::Bytes(id), PgParam::Bytes(record)}, "write tombstone").status();
    });
  }

  absl::StatusOr<StoredTombstone> GetTombstone(std::string_view client_id) const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<StoredTombstone> {
      ASSIGN_OR_RETURN(const PgResult result,
                       connection.Run(kGetTombstone, {PgParam::Bytes(client_id)}, "read tombstone"));
      if (result.rows() == 0) {
        return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " was not reaped"));
      }
      return ParseTombstone(client_id, result.Bytes(0, 0));
    });
  }

  absl::Status ScanTombstones(std::string_view start_after,
                              const std::function<absl::StatusOr<bool>(const StoredTombstone&)>& visit) const override {
    return Scan(kScanTombstones, start_after,
                [&](const std::string& id, const std::string& bytes) -> absl::StatusOr<bool> {
                  ASSIGN_OR_RETURN(const StoredTombstone tombstone, ParseTombstone(id, bytes));
                  return visit(tombstone);
                });
  }

  absl::Status CreateInitialAccessToken(const StoredInitialAccessToken& token) override {
    if (token.id().empty() || token.digest().empty()) {
      return absl::InvalidArgumentError("an initial access token needs an id and a digest");
    }
    ASSIGN_OR_RETURN(const std::string record, Serialize(token, absl::StrCat("initial access token ", token.id())));
    return WriteTransaction([&](PgConnection& connection) -> absl::Status {
      ASSIGN_OR_RETURN(const PgResult inserted, connection.Run(kInsertToken,
                                                               {PgParam::Bytes(token.id()),
                                                                PgParam::Bytes(token.digest()), PgParam::Bytes(record)},
                                                               "write initial access token"));
      if (inserted.affected() == 0) {
        return absl::AlreadyExistsError(absl::StrCat("a token with id ", token.id(), " or its digest already exists"));
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<StoredInitialAccessToken> FindInitialAccessToken(std::string_view digest) const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<StoredInitialAccessToken> {
      ASSIGN_OR_RETURN(const PgResult result,
                       connection.Run(kFindToken, {PgParam::Bytes(digest)}, "read initial access token"));
      if (result.rows() == 0) return absl::NotFoundError("no initial access token has this digest");
      return ParseToken(result.Bytes(0, 0), result.Bytes(0, 1));
    });
  }

  absl::StatusOr<std::vector<StoredInitialAccessToken>> ListInitialAccessTokens() const override {
    return WithConnection([&](PgConnection& connection) -> absl::StatusOr<std::vector<StoredInitialAccessToken>> {
      ASSIGN_OR_RETURN(const PgResult result, connection.Run(kListTokens, {}, "list initial access tokens"));
      std::vector<StoredInitialAccessToken> tokens;
      for (int row = 0; row < result.rows(); ++row) {
        ASSIGN_OR_RETURN(StoredInitialAccessToken token, ParseToken(result.Bytes(row, 0), result.Bytes(row, 1)));
        tokens.push_back(std::move(token));
      }
      return tokens;
    });
  }

  absl::StatusOr<StoredInitialAccessToken> RevokeInitialAccessToken(std::string_view id, int64_t now) override {
    StoredInitialAccessToken revoked;
    RETURN_IF_ERROR(WriteTransaction([&](PgConnection& connection) -> absl::Status {
      // The lock every Create using the token takes: a Create acknowledged after this commits never used it.
      ASSIGN_OR_RETURN(revoked, LockToken(connection, id));
      if (revoked.revoked()) return absl::OkStatus();
      revoked.set_revoked(true);
      revoked.set_revoked_at(now);
      ASSIGN_OR_RETURN(const std::string record,
                       Serialize(revoked, absl::StrCat("initial access token ", revoked.id())));
      return connection.Run(kPutToken, {PgParam::Bytes(id), PgParam::Bytes(record)}, "revoke initial access token")
          .status();
    }));
    return revoked;
  }

  absl::Status Checkpoint(const std::string& /*dir*/) override {
    return absl::UnimplementedError(
        "the PostgreSQL store takes no checkpoints: back up the database with pg_dump or the server's own tools");
  }

 private:
  static constexpr std::size_t kMaxPendingCreates = 4096;
  static constexpr std::size_t kMaxCreateGroup = 256;
  // Two, as for RocksDB: while one group commits, the next gathers and starts writing on another connection.
  static constexpr int kCommitters = 2;

  struct PendingCreate {
    std::string client_id;
    std::string record;
    uint64_t version;
    std::string token_digest;
    StoredClient::State state;
    int64_t issued_at;
    std::optional<InitialAccessTokenUse> use;
    std::function<void(absl::Status)> done;
  };

  // Runs `operation`, one unit of work, on a pooled connection, counting the store's own failures in the metrics.
  //
  // A pooled connection can be dead without the pool knowing (the server restarted, or the network dropped it), and
  // the first statement finds out. Nothing was done then: every unit starts with BEGIN or is a single read, so no
  // write was sent, and no COMMIT. The unit runs once more on another connection (the dead one is dropped as its
  // lease ends), so that the first request after the database returns succeeds rather than failing once per
  // pooled connection. Only then: a connection lost later in the unit, a COMMIT above all, fails it with
  // Unavailable, since the outcome is unknown and the contract allows that; a second loss is the database's answer.
  template <typename Operation>
  auto WithConnection(Operation operation) const -> decltype(operation(std::declval<PgConnection&>())) {
    using Result = decltype(operation(std::declval<PgConnection&>()));
    Result result = [&]() -> Result {
      for (int attempt = 0;; ++attempt) {
        absl::StatusOr<PgPool::Lease> lease = pool_.Acquire();
        if (!lease.ok()) return lease.status();
        Result attempted = operation(**lease);
        if (attempt > 0 || !(*lease)->LostOnFirstStatement()) return attempted;
      }
    }();
    CountIfError(StatusOf(result));
    return result;
  }

  // A synced write: `body` in one transaction, timed in the metrics.
  template <typename Body>
  absl::Status WriteTransaction(Body body) {
    return WithConnection([&](PgConnection& connection) -> absl::Status {
      const auto start = std::chrono::steady_clock::now();
      absl::Status status = InTransaction(connection, "BEGIN", [&] { return body(connection); });
      if (metrics_ != nullptr) {
        metrics_->write_duration.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      return status;
    });
  }

  static const absl::Status& StatusOf(const absl::Status& status) { return status; }
  template <typename T>
  static const absl::Status& StatusOf(const absl::StatusOr<T>& status) {
    return status.status();
  }

  // Errors of the database, not outcomes of the store's checks (NotFound, Aborted, AlreadyExists, ...).
  void CountIfError(const absl::Status& status) const {
    if (metrics_ == nullptr) return;
    if (absl::IsUnavailable(status) || absl::IsDataLoss(status) || absl::IsInternal(status)) {
      metrics_->errors.Increment();
    }
  }

  // Locks the client's row for the rest of the transaction, if it is at `expected_version`.
  static absl::StatusOr<LockedClient> LockForChange(PgConnection& connection, std::string_view client_id,
                                                    uint64_t expected_version) {
    ASSIGN_OR_RETURN(const PgResult result, connection.Run(kLockClient, {PgParam::Bytes(client_id)}, "lock client"));
    if (result.rows() == 0) return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " not found"));
    LockedClient locked;
    ASSIGN_OR_RETURN(const int64_t version, result.Int64(0, 0));
    locked.version = static_cast<uint64_t>(version);
    ASSIGN_OR_RETURN(const int32_t state, result.Int32(0, 1));
    locked.state = static_cast<StoredClient::State>(state);
    ASSIGN_OR_RETURN(locked.issued_at, result.Int64(0, 2));
    ASSIGN_OR_RETURN(locked.last_used_at, result.Int64(0, 3));
    ASSIGN_OR_RETURN(locked.activity_at, result.Int64(0, 4));
    if (locked.version != expected_version) {
      return absl::AbortedError(
          absl::StrCat("client ", ToAbsl(client_id), " is at version ", locked.version, ", not ", expected_version));
    }
    return locked;
  }

  // Deletes a locked client's row (record, token digest, last use and lifecycle positions are all columns of it)
  // and takes it out of its state's count.
  absl::Status DeleteLocked(PgConnection& connection, std::string_view client_id, const LockedClient& stored) {
    ASSIGN_OR_RETURN(const PgResult deleted,
                     connection.Run(kDeleteClient, {PgParam::Bytes(client_id)}, "delete client"));
    CountDeltas deltas{};
    AddToCount(deltas, stored.state, -1);
    return AddCounts(connection, deltas);
  }

  // Adds `deltas` to one shard of the counts, in kCountedStates order.
  absl::Status AddCounts(PgConnection& connection, const CountDeltas& deltas) {
    const int32_t shard =
        static_cast<int32_t>(next_shard_.fetch_add(1, std::memory_order_relaxed) % kClientCountShards);
    for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
      if (deltas[i] == 0) continue;
      ASSIGN_OR_RETURN(const PgResult added, connection.Run(kAddCount,
                                                            {PgParam::Int32(kCountedStates[i]), PgParam::Int32(shard),
                                                             PgParam::Int64(deltas[i])},
                                                            "count clients"));
      if (added.affected() != 1) return absl::DataLossError("a client count row is missing");
    }
    return absl::OkStatus();
  }

  // Why a client's INSERT ... ON CONFLICT DO NOTHING inserted nothing: its id is taken, or else its registration
  // access token digest is (a precondition violation, client_store.h). Read in a new statement, which sees the row
  // the insert waited for once its transaction committed. The digest stays out of the message.
  static absl::Status ConflictOfInsert(PgConnection& connection, const std::string& client_id) {
    ASSIGN_OR_RETURN(const PgResult existing,
                     connection.Run(kClientExists, {PgParam::Bytes(client_id)}, "read client"));
    if (existing.rows() > 0) return absl::AlreadyExistsError(absl::StrCat("client ", client_id, " already exists"));
    return TokenDigestInUse(client_id);
  }

  static absl::Status TokenDigestInUse(std::string_view client_id) {
    return absl::AlreadyExistsError(
        absl::StrCat("client ", ToAbsl(client_id), ": registration access token digest already in use"));
  }

  static absl::StatusOr<StoredInitialAccessToken> LockToken(PgConnection& connection, std::string_view id) {
    ASSIGN_OR_RETURN(const PgResult result,
                     connection.Run(kLockToken, {PgParam::Bytes(id)}, "lock initial access token"));
    if (result.rows() == 0) return absl::NotFoundError(absl::StrCat("initial access token ", ToAbsl(id), " not found"));
    return ParseToken(id, result.Bytes(0, 0));
  }

  // Pages through `statement` (id > $1 ORDER BY id LIMIT $2) inside one REPEATABLE READ transaction: every page
  // reads the same snapshot, as RocksDB's iterator does.
  absl::Status Scan(const PgStatement& statement, std::string_view start_after,
                    const std::function<absl::StatusOr<bool>(const std::string&, const std::string&)>& visit) const {
    return WithConnection([&](PgConnection& connection) -> absl::Status {
      absl::Status visited;
      RETURN_IF_ERROR(
          InTransaction(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&]() -> absl::Status {
            std::string after(start_after);
            for (;;) {
              ASSIGN_OR_RETURN(const PgResult page,
                               connection.Run(statement, {PgParam::Bytes(after), PgParam::Int64(kScanPage)}, "scan"));
              for (int row = 0; row < page.rows(); ++row) {
                after = page.Bytes(row, 0);
                absl::StatusOr<bool> more = visit(after, page.Bytes(row, 1));
                // The visitor's answer ends the scan, but not as a failed transaction: it read a consistent snapshot.
                if (!more.ok()) {
                  visited = more.status();
                  return absl::OkStatus();
                }
                if (!*more) return absl::OkStatus();
              }
              if (page.rows() < kScanPage) return absl::OkStatus();
            }
          }));
      return visited;
    });
  }

  // The tokens a group of Creates uses, as they will be once the group commits.
  struct TokenInGroup {
    absl::StatusOr<StoredInitialAccessToken> token = absl::NotFoundError("not read");
    int used = 0;
  };

  // Whether a Create at `now` may take one more use of `in_group`: OK, FailedPrecondition, or a read error.
  static absl::Status CanUse(const TokenInGroup& in_group, int64_t now) {
    if (absl::IsNotFound(in_group.token.status())) {
      return absl::FailedPreconditionError("the initial access token is not stored");
    }
    if (!in_group.token.ok()) return in_group.token.status();
    const StoredInitialAccessToken& token = *in_group.token;
    if (token.revoked()) return absl::FailedPreconditionError("the initial access token is revoked");
    if (token.expires_at() != 0 && token.expires_at() <= now) {
      return absl::FailedPreconditionError("the initial access token has expired");
    }
    if (token.max_uses() != 0 && token.uses() >= token.max_uses()) {
      return absl::FailedPreconditionError("the initial access token is used up");
    }
    return absl::OkStatus();
  }

  // Writes a group of Creates in one transaction and one commit, on a committer thread.
  //
  // Every token the group uses is locked first (in id order, so two groups cannot deadlock), and its uses are
  // counted one Create at a time in group order, as the RocksDB store does; the row lock makes the count atomic
  // across replicas too. Each client is inserted with ON CONFLICT DO NOTHING, so an id (or token digest) already
  // taken fails that Create alone (AlreadyExists) instead of the transaction; then the tombstones are checked, after
  // the insert, in a new statement: a Reap of the same id committing meanwhile is seen there, and the row just
  // inserted is taken out again. A failed transaction fails the whole group.
  void CommitCreates(std::vector<PendingCreate>& group) {
    std::vector<absl::Status> results(group.size());
    std::size_t inserted = 0;
    const absl::Status written = WriteTransaction([&](PgConnection& connection) -> absl::Status {
      std::map<std::string, TokenInGroup> tokens;
      for (const PendingCreate& create : group) {
        if (create.use.has_value()) tokens.try_emplace(create.use->token_id);
      }
      for (auto& [id, in_group] : tokens) {
        in_group.token = LockToken(connection, id);
        if (!in_group.token.ok() && !absl::IsNotFound(in_group.token.status())) return in_group.token.status();
      }
      CountDeltas deltas{};
      for (std::size_t i = 0; i < group.size(); ++i) {
        const PendingCreate& create = group[i];
        TokenInGroup* token = create.use.has_value() ? &tokens[create.use->token_id] : nullptr;
        if (token != nullptr) {
          results[i] = CanUse(*token, create.use->now);
          if (!results[i].ok()) continue;
        }
        ASSIGN_OR_RETURN(
            const PgResult insert,
            connection.Run(kInsertClient,
                           {PgParam::Bytes(create.client_id), PgParam::Bytes(create.record),
                            PgParam::Int64(static_cast<int64_t>(create.version)), PgParam::Int32(create.state),
                            PgParam::Bytes(create.token_digest), PgParam::Int64(create.issued_at)},
                           "write client"));
        if (insert.affected() == 0) {
          results[i] = ConflictOfInsert(connection, create.client_id);
          if (!absl::IsAlreadyExists(results[i])) return results[i];
          continue;
        }
        ASSIGN_OR_RETURN(const PgResult tombstone,
                         connection.Run(kTombstoneExists, {PgParam::Bytes(create.client_id)}, "read tombstone"));
        if (tombstone.rows() > 0) {
          ASSIGN_OR_RETURN(const PgResult undone,
                           connection.Run(kDeleteClient, {PgParam::Bytes(create.client_id)}, "undo client"));
          results[i] =
              absl::AlreadyExistsError(absl::StrCat("client ", create.client_id, " was reaped; its id is not reused"));
          continue;
        }
        if (token != nullptr) {
          token->token->set_uses(token->token->uses() + 1);
          ++token->used;
        }
        AddToCount(deltas, create.state, 1);
        ++inserted;
      }
      for (const auto& [id, in_group] : tokens) {
        if (in_group.used == 0) continue;
        ASSIGN_OR_RETURN(const std::string record,
                         Serialize(*in_group.token, absl::StrCat("initial access token ", id)));
        ASSIGN_OR_RETURN(const PgResult put,
                         connection.Run(kPutToken, {PgParam::Bytes(id), PgParam::Bytes(record)}, "count token use"));
      }
      if (inserted > 0 && metrics_ != nullptr) metrics_->group_size.Observe(static_cast<double>(inserted));
      return AddCounts(connection, deltas);
    });
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done(results[i].ok() ? written : results[i]);
  }

  StoreMetrics* const metrics_;
  mutable PgPool pool_;
  std::atomic<uint64_t> next_shard_{0};
  // Last member, so that it is destroyed first: its threads commit what is still queued while the pool exists.
  CommitQueue<PendingCreate> creates_{kMaxPendingCreates, kMaxCreateGroup, kCommitters,
                                      [this](std::vector<PendingCreate>& group) { CommitCreates(group); }};
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientStore>> OpenPostgresClientStore(const PostgresStoreOptions& options) {
  // On a connection of its own, closed afterwards: the pool's connections prepare statements against the schema
  // as it is once migrated.
  {
    ASSIGN_OR_RETURN(const std::unique_ptr<PgConnection> connection,
                     PgConnection::Connect(options.dsn, options.connect_timeout, options.statement_timeout));
    RETURN_IF_ERROR(MigratePostgresSchema(*connection));
  }
  return std::unique_ptr<ClientStore>(std::make_unique<PostgresClientStore>(options));
}

}  // namespace clientreg::storage
