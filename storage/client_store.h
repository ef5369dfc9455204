#ifndef CLIENTREG_STORAGE_CLIENT_STORE_H_
#define CLIENTREG_STORAGE_CLIENT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "clientreg/v1/stored.pb.h"

namespace clientreg::storage {

// How many stored clients are in each state (StoredClient::State). A client in any other state (STATE_UNSPECIFIED,
// which the service never writes) is in neither count.
struct ClientCounts {
  int64_t active = 0;    // STATE_ACTIVE
  int64_t disabled = 0;  // STATE_DISABLED
};

// One use of a stored initial access token (RFC 7591 §3), consumed by a Create in the client's own write.
struct InitialAccessTokenUse {
  // StoredInitialAccessToken.id.
  std::string token_id;
  // Seconds since the epoch: a token whose expires_at is not after it is refused.
  int64_t now = 0;
};

// Which lifecycle index ListByLifecycle lists, or Reap checks a client against.
enum class LifecycleIndex {
  // Clients never used (no last use recorded by RecordLastUsed), by client_id_issued_at.
  kNeverUsed,
  // Every client by its last activity: its last use as RecordLastUsed recorded it (GetLastUsed), or
  // client_id_issued_at while it has never been used.
  kIdle,
};

// A client's entry in a lifecycle index.
struct LifecycleEntry {
  std::string client_id;
  // The client's time in that index, in seconds since the epoch.
  int64_t time = 0;

  friend bool operator==(const LifecycleEntry&, const LifecycleEntry&) = default;
};

// Durable storage of registered clients. It stores serialized StoredClient records and knows no OAuth rules.
// Implementations: RocksDB (embedded, rocksdb_client_store.h) and PostgreSQL (postgres_client_store.h).
//
// Registration access token digests are unique by construction: each is the HMAC of a token drawn from 256 bits of
// CSPRNG output (common/secrets.h), so two clients never hold one digest. The store relies on that and does not
// pay to check it on every write: a Create or Update giving a client a non-empty digest that the token index
// already holds for another client violates a precondition, and what follows is the implementation's (RocksDB
// takes the write and its index then finds only one of the two; PostgreSQL refuses it with AlreadyExists, "registration
// access token digest already in use", and writes nothing).
//
// Every method is thread-safe. Every OK write is durable before it returns (a crash right after loses nothing), and
// every change is atomic: a failed write leaves nothing half-written. A failed write returns Unavailable, which the
// service answers with 503, never with success. Unavailable means "not acknowledged", not "certainly absent": when
// only the final sync or commit acknowledgement failed, the whole change may still be found after a restart.
class ClientStore {
 public:
  virtual ~ClientStore() = default;

  // Writes a new client, its entries in both lifecycle indexes (never used, and idle since client_id_issued_at) and,
  // when it holds a registration access token digest, the index from that digest to the client, in one durable
  // write. Precondition: no other client holds that digest (class comment). AlreadyExists if `client.client_id()` is
  // already stored (of concurrent Creates of one id, exactly one succeeds) or has a tombstone (a reaped id is never
  // issued again); InvalidArgument if it is empty; Unavailable if the write failed; ResourceExhausted, without trying,
  // if the store already has too many writes waiting for the disk.
  //
  // The default waits for CreateAsync, so a store with its own CreateAsync has one write path for both; a store must
  // override Create or CreateAsync (each default calls the other).
  [[nodiscard]] virtual absl::Status Create(const clientreg::v1::StoredClient& client) {
    absl::Status result;
    absl::Notification written;
    CreateAsync(client, std::nullopt, [&](absl::Status status) {
      result = std::move(status);
      written.Notify();
    });
    written.WaitForNotification();
    return result;
  }

  // Create without waiting: `done` is called exactly once with what Create would return, on the store's own thread
  // once the write is durable (or at once, on the caller's thread, for an error found before writing). The store
  // copies what it needs of `client` before returning. `done` must not block: it may call CreateAsync again (e.g.
  // to retry with another id), but not Create, Update or Delete, which wait for the store's own threads.
  void CreateAsync(const clientreg::v1::StoredClient& client, std::function<void(absl::Status)> done) {
    CreateAsync(client, std::nullopt, std::move(done));
  }

  // CreateAsync that, when `use` is set, also consumes one use of that initial access token in the same durable
  // write: its `uses` goes up by one with the client, or neither is written. The token's check and its count are
  // atomic with every other use: of concurrent Creates using a token with n uses left, at most n succeed, wherever
  // they are queued. FailedPrecondition, and no client written, if the token is not stored, is revoked, has
  // expired (expires_at <= use.now) or is used up (max_uses > 0 and uses >= max_uses); the other errors are
  // Create's. The default runs Create on the caller's thread and refuses any `use` (Unimplemented).
  virtual void CreateAsync(const clientreg::v1::StoredClient& client, const std::optional<InitialAccessTokenUse>& use,
                           std::function<void(absl::Status)> done) {
    if (use.has_value()) return done(absl::UnimplementedError("this store keeps no initial access tokens"));
    done(Create(client));
  }

  // Returns the stored client, or NotFound if `client_id` was never registered, or was deleted or reaped (a
  // tombstone is not a client). Unavailable or DataLoss on a read failure or a corrupt record.
  [[nodiscard]] virtual absl::StatusOr<clientreg::v1::StoredClient> Get(std::string_view client_id) const = 0;

  // Calls `visit` for every stored client in client_id order, over a consistent snapshot (tombstones are not
  // clients). Stops at, and returns, the first non-OK status `visit` returns.
  [[nodiscard]] virtual absl::Status ForEach(
      const std::function<absl::Status(const clientreg::v1::StoredClient&)>& visit) const = 0;

  // Like ForEach, but starts after `start_after` (from the first client when empty; `start_after` need not be
  // stored) and stops, with OK, as soon as `visit` returns false, or with `visit`'s error as soon as it returns one.
  // For paging: pass the last client_id of one page as `start_after` of the next.
  //
  // ForEach and ScanFrom call `visit` while holding the store's database open for reading. `visit` may read from the
  // store, but should not write to it: a write that fails there cannot reopen the database and may deadlock. Collect
  // a page, return, then write.
  [[nodiscard]] virtual absl::Status ScanFrom(
      std::string_view start_after,
      const std::function<absl::StatusOr<bool>(const clientreg::v1::StoredClient&)>& visit) const = 0;

  // Replaces a stored client, in one durable write, if its stored version is `expected_version` (compare-and-set;
  // the caller sets `client.version()`, normally expected_version + 1). The token index follows the record: an
  // entry for the old registration access token digest is removed and one for the new digest added when they
  // differ (precondition: no other client holds the new digest, class comment). The client's last-use record is kept,
  // and so are its lifecycle index entries (an entry keyed by client_id_issued_at moves with it if `client` changes
  // it). InvalidArgument if `client.version()` is not greater than `expected_version` (two writers could then both
  // succeed from the same version, and one change would be lost); NotFound if the client is absent (e.g. deleted
  // meanwhile: an update never resurrects it); Aborted if the stored version differs (a concurrent change won; re-read
  // and retry); Unavailable if the write failed.
  [[nodiscard]] virtual absl::Status Update(const clientreg::v1::StoredClient& client, uint64_t expected_version) = 0;

  // Deletes a client, its token index entry, its last-use record and its lifecycle index entries in one durable
  // write, if its stored version is `expected_version`. Leaves no tombstone: the id may be created again. NotFound
  // if absent; Aborted if the stored version differs; Unavailable if the write failed; DataLoss if its recorded
  // last use is corrupt (its index entry could not be found).
  [[nodiscard]] virtual absl::Status Delete(std::string_view client_id, uint64_t expected_version) = 0;

  // The client_id whose registration access token has digest `token_digest`, or NotFound.
  [[nodiscard]] virtual absl::StatusOr<std::string> FindByTokenDigest(std::string_view token_digest) const = 0;

  // Records when clients last authenticated (client_id, seconds since the epoch), in one write that is NOT synced:
  // last use is bookkeeping, batched so that authentication never waits for the disk; a crash may lose the last
  // batch. Entries for clients that do not exist (never created, or deleted) are ignored, and so are times that are
  // not positive. Never moves a time backwards: a time older than the recorded one is ignored, and of several
  // entries for one client the latest counts. In the same write, each client whose time moves leaves the never-used
  // index and moves in the idle index to its new time. Unavailable if the write failed; DataLoss if a recorded time
  // or a record read for its client_id_issued_at is corrupt.
  [[nodiscard]] virtual absl::Status RecordLastUsed(const std::vector<std::pair<std::string, int64_t>>& last_used) = 0;

  // OK if the store can serve now: a real read answers, and the last write, if it failed, has since been followed by
  // one that succeeded. Unavailable otherwise. While the last write has failed, a check writes (and syncs) a small
  // probe record, so the store reports healthy again as soon as the disk takes writes again, without waiting for
  // a client's write. Meant for health checks, about once a second; never on a request path.
  [[nodiscard]] virtual absl::Status CheckHealth() = 0;

  // When the client last authenticated, as recorded by RecordLastUsed; 0 if never, or if the client does not exist
  // (a deleted or reaped client's time is never returned, not even for a client later created with the same id).
  [[nodiscard]] virtual absl::StatusOr<int64_t> GetLastUsed(std::string_view client_id) const = 0;

  // The number of stored clients in each state (StoredClient::State), as kept by the store: no scan; tombstones are
  // not counted. A count changes in the same atomic, durable write as the records it counts, so it includes every
  // acknowledged Create, Update, Delete and Reap and no failed one; a failed write that reached the disk anyway (see
  // the class comment) is counted exactly when its change turns up. Unavailable while the store cannot open its
  // database. Cheap enough for every metrics scrape. Thread-safe.
  [[nodiscard]] virtual absl::StatusOr<ClientCounts> CountClients() const = 0;

  // The client lifecycle (ServerConfig.lifecycle): a reaper lists clients by time, deletes the ones due, and leaves a
  // tombstone for each. Two indexes order the clients by time (LifecycleIndex); every write that changes a client's
  // time changes its entries in the same atomic write, so the indexes always agree with the records and the last-use
  // times. A reaper's work grows with the clients it lists and reaps, never with the number stored.

  // Up to `limit` entries of `index` whose time is before `before` (strictly), oldest first, entries of the same
  // time in client_id order, starting after `start_after` (the last entry of a previous page, which need not still
  // be in the index; nullopt: from the oldest). Reads only the index entries it returns, however many clients are
  // stored: an empty answer costs one seek. Each call reads one consistent snapshot; pages are not one snapshot: a
  // client used between two pages moves to a later time and may be listed again there, or not at all. An entry is a
  // candidate, not a verdict: Reap checks it again. A pass that reaps as it lists should go on from the last entry
  // of each page rather than from the oldest again: what it reaped may linger as deletions that a scan from the
  // oldest would step over. Empty if `limit` is 0. Unavailable or DataLoss on a read failure or a corrupt entry.
  [[nodiscard]] virtual absl::StatusOr<std::vector<LifecycleEntry>> ListByLifecycle(
      LifecycleIndex index, int64_t before, std::size_t limit,
      const std::optional<LifecycleEntry>& start_after = std::nullopt) const = 0;

  // Reaps the client `tombstone.client_id()`: deletes it as Delete does (record, token index entry, last-use record,
  // both lifecycle index entries, its count) and writes `tombstone`, as given, under its client_id, in one durable
  // write; but only if the client is still at `expected_version` and still due: its entry in `index` exists and its
  // time is before `before` (a use recorded since, or any other change, keeps the client). Afterwards Get of the id
  // is NotFound, GetLastUsed 0, GetTombstone the tombstone, and a Create of the id AlreadyExists.
  //
  // Serialised with Create, Update, Delete, RecordLastUsed and Reap of the same client: a use recorded concurrently
  // either lands first, and then the client is no longer due (FailedPrecondition, nothing reaped), or finds the
  // client gone and is ignored, as RecordLastUsed ignores every unknown client. InvalidArgument if
  // `tombstone.client_id()` is empty; NotFound if the client is absent; Aborted if its stored version differs;
  // FailedPrecondition if it is no longer due; Unavailable if the write failed; DataLoss if its recorded last use is
  // corrupt.
  [[nodiscard]] virtual absl::Status Reap(const clientreg::v1::StoredTombstone& tombstone, uint64_t expected_version,
                                          LifecycleIndex index, int64_t before) = 0;

  // The tombstone of the reaped client `client_id`, or NotFound if it was never reaped. Unavailable or DataLoss on a
  // read failure or a corrupt record.
  [[nodiscard]] virtual absl::StatusOr<clientreg::v1::StoredTombstone> GetTombstone(
      std::string_view client_id) const = 0;

  // Calls `visit` for every tombstone after `start_after` (from the first when empty) in client_id order, over a
  // consistent snapshot, as ScanFrom does for clients and with the same rules: stops with OK as soon as `visit`
  // returns false, with `visit`'s error as soon as it returns one, and `visit` should not write to the store.
  [[nodiscard]] virtual absl::Status ScanTombstones(
      std::string_view start_after,
      const std::function<absl::StatusOr<bool>(const clientreg::v1::StoredTombstone&)>& visit) const = 0;

  // Initial access tokens (RFC 7591 §3). Stored apart from the clients, by id, with an index from their digest;
  // neither a scan of the clients nor CountClients sees them. Checkpoint copies them with everything else.

  // Writes a new token record in one durable write. InvalidArgument if its id or digest is empty; AlreadyExists if
  // a token with that id or digest is stored; Unavailable if the write failed.
  [[nodiscard]] virtual absl::Status CreateInitialAccessToken(const clientreg::v1::StoredInitialAccessToken& token) = 0;

  // The token with digest `digest` (revoked, expired and used-up ones included: judging them is the caller's), or
  // NotFound. The digest stays out of every message.
  [[nodiscard]] virtual absl::StatusOr<clientreg::v1::StoredInitialAccessToken> FindInitialAccessToken(
      std::string_view digest) const = 0;

  // Every stored token, by id, over a consistent snapshot.
  [[nodiscard]] virtual absl::StatusOr<std::vector<clientreg::v1::StoredInitialAccessToken>> ListInitialAccessTokens()
      const = 0;

  // Marks the token revoked at `now` (seconds since the epoch) in one durable write, serialised with every Create
  // that uses it: a Create acknowledged after this returns never used the token. A token already revoked is
  // returned unchanged. NotFound if no token has id `id`; Unavailable if the write failed. Returns the record as
  // stored.
  [[nodiscard]] virtual absl::StatusOr<clientreg::v1::StoredInitialAccessToken> RevokeInitialAccessToken(
      std::string_view id, int64_t now) = 0;

  // Writes a consistent snapshot of the whole store into the new directory `dir`: every column family (the
  // lifecycle indexes and the tombstones too), the count keys with them, as of one moment (it holds every write
  // acknowledged before the call, and of a write running concurrently either all or nothing). The result is a store of
  // its own that the same implementation opens (for RocksDB, a database directory for OpenRocksDbClientStore). Durable
  // when it returns OK: the files, `dir` and its entry in its parent are synced. `dir` is private to the store's user
  // (0700) and so is every file in it (0600; a file hard-linked from the store is the store's own file, which is then
  // 0600 too). Writers are never held up for long: at most for a memtable switch.
  //
  // InvalidArgument if `dir` is empty, relative or inside the store's own directory; AlreadyExists if `dir` exists
  // (as anything, even a dangling link) or, for RocksDB, `dir` + ".tmp" does (its staging directory, which it would
  // empty); FailedPrecondition if the parent of `dir` is not an existing directory; Unavailable if reading the
  // store or writing, linking or syncing a file failed (a partly written `dir` is removed when possible).
  // Thread-safe; concurrent checkpoints into different directories are allowed.
  [[nodiscard]] virtual absl::Status Checkpoint(const std::string& dir) = 0;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_CLIENT_STORE_H_
