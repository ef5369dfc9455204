#include "storage/rocksdb_client_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/status.h"
#include "rocksdb/write_batch.h"
#include "storage/commit_queue.h"
#include "storage/rocksdb_checkpoint.h"
#include "storage/rocksdb_int64.h"
#include "storage/rocksdb_options.h"
#include "storage/rocksdb_status.h"
#include "storage/store_metrics.h"

namespace clientreg::storage {
namespace {

using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredInitialAccessToken;
using ::clientreg::v1::StoredTombstone;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
absl::string_view ToAbsl(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Serializes work on one key while leaving other keys alone. The table's mutex is held only to add or remove keys,
// never while the holder does I/O.
class KeyLockTable {
 public:
  // Holds every key of `keys` from construction to destruction, waiting first for any other holder of any of them.
  class Lock {
   public:
    Lock(KeyLockTable* table, std::string key) : Lock(table, std::vector<std::string>{std::move(key)}) {}
    // All keys are taken at once, when all are free, so holders of several keys cannot deadlock each other whatever
    // order they list them in.
    Lock(KeyLockTable* table, std::vector<std::string> keys) : table_(table), keys_(std::move(keys)) {
      absl::MutexLock lock(&table_->mu_);
      const auto all_free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(table_->mu_) {
        return std::none_of(keys_.begin(), keys_.end(),
                            [this](const std::string& key) { return table_->held_.contains(key); });
      };
      table_->mu_.Await(absl::Condition(&all_free));
      table_->held_.insert(keys_.begin(), keys_.end());
    }
    ~Lock() {
      absl::MutexLock lock(&table_->mu_);
      for (const std::string& key : keys_) table_->held_.erase(key);
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    KeyLockTable* const table_;
    const std::vector<std::string> keys_;
  };

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

// In the default column family, which holds no client data: what CheckHealth reads, and writes after a failure.
constexpr char kHealthProbeKey[] = "health_probe";

// Column family handles in the order OpenDatabase opens them.
enum HandleIndex : std::size_t {
  kDefault = 0,
  kClients,
  kTokenIndex,
  kAudit,
  kLastUsed,
  kInitialAccessTokens,
  kNeverUsedIndex,
  kByActivityIndex,
  kTombstones,
  kHandleCount
};

// The keys of an initial access token in its column family.
std::string TokenRecordKey(std::string_view id) { return absl::StrCat(kInitialAccessTokenRecordPrefix, ToAbsl(id)); }
std::string TokenDigestKey(std::string_view digest) {
  return absl::StrCat(kInitialAccessTokenDigestPrefix, ToAbsl(digest));
}
// A token's entry in the KeyLockTable, which otherwise holds client ids: the NUL keeps the two apart, since no
// client id can hold one (the store takes any id, but the RPCs only ids that went through a URL or a flag).
std::string TokenLockKey(std::string_view id) { return absl::StrCat(absl::string_view("\0iat/", 5), ToAbsl(id)); }

// The states that ClientCounts counts: each with its key in the default column family and its ClientCounts field.
struct CountedState {
  StoredClient::State state;
  const char* key;
  int64_t ClientCounts::*field;
};
constexpr std::array<CountedState, 2> kCountedStates = {{
    {StoredClient::STATE_ACTIVE, kActiveClientsCountKey, &ClientCounts::active},
    {StoredClient::STATE_DISABLED, kDisabledClientsCountKey, &ClientCounts::disabled},
}};

// A count, or a change of a count, of each of kCountedStates, in its order.
using CountDeltas = std::array<int64_t, kCountedStates.size()>;

// Adds `delta` to the change of the count of `state`; a state that is not counted is ignored.
void AddToCount(CountDeltas& deltas, StoredClient::State state, int64_t delta) {
  for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
    if (kCountedStates[i].state == state) deltas[i] += delta;
  }
}

ClientCounts ToClientCounts(const CountDeltas& counts) {
  ClientCounts client_counts;
  for (std::size_t i = 0; i < kCountedStates.size(); ++i) client_counts.*kCountedStates[i].field = counts[i];
  return client_counts;
}

// Synced writes: the WAL is fdatasync'ed before Write returns, so an acknowledged change survives a crash or power
// loss, and a 201 is never forgotten.
constexpr bool kSynced = true;
constexpr bool kNotSynced = false;

// One open RocksDB instance and its column family handles, closed on destruction.
struct OpenDb {
  std::string path;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Which open of the store this is (1, 2, ...): tells a reopened database from the one that failed, which an
  // address cannot (the new OpenDb is often allocated where the old one was).
  uint64_t generation = 0;
  // The store's metrics, or null.
  StoreMetrics* metrics = nullptr;
  // The counts of kCountedStates: as read from this database when it was opened, plus the deltas of every write
  // since, added once the write is durable. Every change happens under the store's shared lock, so a reopen, which
  // reads the counts again from disk, never falls between a write and its change here.
  mutable std::array<std::atomic<int64_t>, kCountedStates.size()> client_counts{};

  rocksdb::ColumnFamilyHandle* clients() const { return handles[kClients]; }
  rocksdb::ColumnFamilyHandle* token_index() const { return handles[kTokenIndex]; }
  rocksdb::ColumnFamilyHandle* last_used() const { return handles[kLastUsed]; }
  rocksdb::ColumnFamilyHandle* initial_access_tokens() const { return handles[kInitialAccessTokens]; }
  rocksdb::ColumnFamilyHandle* tombstones() const { return handles[kTombstones]; }
  rocksdb::ColumnFamilyHandle* lifecycle(LifecycleIndex index) const {
    return handles[index == LifecycleIndex::kNeverUsed ? kNeverUsedIndex : kByActivityIndex];
  }

  // FromRocksDbStatus, counting every error but NotFound in the store's error metric. Every RocksDB status the
  // store acts on goes through here.
  absl::Status Check(const rocksdb::Status& status, absl::string_view context) const {
    if (!status.ok() && !status.IsNotFound()) CountError();
    return FromRocksDbStatus(status, context);
  }

  // A DataLoss error about a stored value that does not decode, counted as Check counts.
  absl::Status Corrupt(absl::string_view message) const {
    CountError();
    return absl::DataLossError(message);
  }

  // Writes `batch`, timing it in the store's metrics when it is synced: the sync is what the disk makes every
  // acknowledged write wait for.
  rocksdb::Status Write(bool sync, rocksdb::WriteBatch& batch) const {
    rocksdb::WriteOptions options;
    options.sync = sync;
    if (!sync || metrics == nullptr) return db->Write(options, &batch);
    const auto start = std::chrono::steady_clock::now();
    const rocksdb::Status status = db->Write(options, &batch);
    metrics->write_duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return status;
  }

  void CountError() const {
    if (metrics != nullptr) metrics->errors.Increment();
  }

  ~OpenDb() {
    if (db == nullptr) return;  // the open failed
    // Handles must go before the DB; Close then waits for background work and releases the files and the lock.
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      const rocksdb::Status status = db->DestroyColumnFamilyHandle(handle);
      if (!status.ok()) {
        common::Log(common::LogLevel::kError, "rocksdb_close_failed", {{"path", path}, {"error", status.ToString()}});
      }
    }
    const rocksdb::Status status = db->Close();
    if (!status.ok()) {
      common::Log(common::LogLevel::kError, "rocksdb_close_failed", {{"path", path}, {"error", status.ToString()}});
    }
  }
};

// A record stored under a client_id (a client, a tombstone) must parse and must name the key it is stored under;
// anything else is corruption that the checksums did not catch (or a bug that wrote the wrong record), and must not
// be served. `kind` names the record in errors.
template <typename Record>
absl::StatusOr<Record> ParseStored(const OpenDb& open, absl::string_view kind, const rocksdb::Slice& key,
                                   const rocksdb::Slice& value) {
  Record record;
  if (value.size() > static_cast<std::size_t>(INT_MAX) ||
      !record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return open.Corrupt(absl::StrCat("stored ", kind, " for client ", ToAbsl(key), " does not parse"));
  }
  if (record.client_id() != std::string_view(key.data(), key.size())) {
    return open.Corrupt(
        absl::StrCat("stored ", kind, " under client ", ToAbsl(key), " names client ", record.client_id()));
  }
  return record;
}

absl::StatusOr<StoredClient> ParseRecord(const OpenDb& open, const rocksdb::Slice& key, const rocksdb::Slice& value) {
  return ParseStored<StoredClient>(open, "record", key, value);
}

absl::StatusOr<StoredTombstone> ParseTombstone(const OpenDb& open, const rocksdb::Slice& key,
                                               const rocksdb::Slice& value) {
  return ParseStored<StoredTombstone>(open, "tombstone", key, value);
}

// Calls `visit` with the key and value of every entry of `family` after `start_after` (from the first when empty),
// in key order, over a snapshot, until it returns false or an error.
absl::Status VisitFrom(
    const OpenDb& open, rocksdb::ColumnFamilyHandle* family, std::string_view start_after,
    const std::function<absl::StatusOr<bool>(const rocksdb::Slice& key, const rocksdb::Slice& value)>& visit) {
  // Declared before the iterator, so it is released after it.
  rocksdb::ManagedSnapshot snapshot(open.db.get());
  rocksdb::ReadOptions options;
  options.snapshot = snapshot.snapshot();
  // A full scan would otherwise evict the blocks that point lookups keep hot.
  options.fill_cache = false;
  const std::unique_ptr<rocksdb::Iterator> it(open.db->NewIterator(options, family));
  if (start_after.empty()) {
    it->SeekToFirst();
  } else {
    // In bytewise order the smallest key greater than `start_after` is `start_after` followed by a zero byte, so
    // one seek lands on the next entry whether or not `start_after` itself is stored.
    std::string successor(start_after);
    successor.push_back('\0');
    it->Seek(successor);
  }
  for (; it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(const bool more, visit(it->key(), it->value()));
    if (!more) return absl::OkStatus();
  }
  // Valid() turns false on an error as well as at the end; only status() tells them apart.
  return open.Check(it->status(), absl::StrCat("scan ", family->GetName()));
}

// VisitFrom over the client records.
absl::Status VisitRecords(
    const OpenDb& open, std::string_view start_after,
    const std::function<absl::StatusOr<bool>(const rocksdb::Slice& key, const rocksdb::Slice& value)>& visit) {
  return VisitFrom(open, open.clients(), start_after, visit);
}

// When `client_id` last authenticated, from the last_used column family; 0 when nothing is recorded.
absl::StatusOr<int64_t> ReadLastUsed(const OpenDb& open, const rocksdb::ReadOptions& options,
                                     std::string_view client_id) {
  rocksdb::PinnableSlice value;
  const rocksdb::Status status = open.db->Get(options, open.last_used(), ToSlice(client_id), &value);
  if (status.IsNotFound()) return int64_t{0};
  RETURN_IF_ERROR(open.Check(status, absl::StrCat("read last use of client ", ToAbsl(client_id))));
  const std::optional<int64_t> seconds = DecodeInt64(value.ToStringView());
  if (!seconds.has_value()) {
    return open.Corrupt(absl::StrCat("last use of client ", ToAbsl(client_id), " has ", value.size(), " bytes, not 8"));
  }
  return *seconds;
}

// The lifecycle indexes, in the order their entries are written.
constexpr std::array<LifecycleIndex, 2> kLifecycleIndexes = {LifecycleIndex::kNeverUsed, LifecycleIndex::kIdle};

// The bytes of the time at the start of a lifecycle index key.
constexpr std::size_t kLifecycleTimeBytes = 8;

// A client's key in a lifecycle index (laid out as kNeverUsedColumnFamily says): its time there, then its id.
std::string LifecycleKey(int64_t time, std::string_view client_id) {
  std::string key = EncodeOrderedInt64(time);
  key.append(client_id);
  return key;
}

// What a client's lifecycle index entries are keyed by.
struct LifecyclePosition {
  int64_t issued_at = 0;
  // As in the last_used column family; 0: never used (RecordLastUsed records only positive times).
  int64_t last_used = 0;

  // The client's time in `index`, or nullopt if it has no entry there.
  std::optional<int64_t> TimeIn(LifecycleIndex index) const {
    if (index == LifecycleIndex::kNeverUsed) return last_used == 0 ? std::optional<int64_t>(issued_at) : std::nullopt;
    return last_used == 0 ? issued_at : last_used;
  }
};

// Adds to `batch` what moves the client's lifecycle index entries from where `from` puts them to where `to` does;
// nullopt: the client has no entries (before a Create, after a Delete). An entry that stays put is not written.
absl::Status MoveLifecycleEntries(const OpenDb& open, rocksdb::WriteBatch& batch, std::string_view client_id,
                                  const std::optional<LifecyclePosition>& from,
                                  const std::optional<LifecyclePosition>& to) {
  for (const LifecycleIndex index : kLifecycleIndexes) {
    const std::optional<int64_t> old_time = from.has_value() ? from->TimeIn(index) : std::nullopt;
    const std::optional<int64_t> new_time = to.has_value() ? to->TimeIn(index) : std::nullopt;
    if (old_time == new_time) continue;
    if (old_time.has_value()) {
      RETURN_IF_ERROR(
          open.Check(batch.Delete(open.lifecycle(index), LifecycleKey(*old_time, client_id)), "batch lifecycle index"));
    }
    if (new_time.has_value()) {
      RETURN_IF_ERROR(open.Check(batch.Put(open.lifecycle(index), LifecycleKey(*new_time, client_id), rocksdb::Slice()),
                                 "batch lifecycle index"));
    }
  }
  return absl::OkStatus();
}

// Counts the stored clients of each counted state, reading every record.
absl::StatusOr<CountDeltas> CountStoredClients(const OpenDb& open) {
  CountDeltas counts{};
  RETURN_IF_ERROR(VisitRecords(open, "", [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
    const absl::StatusOr<StoredClient> client = ParseRecord(open, key, value);
    if (client.ok()) {
      AddToCount(counts, client->state(), 1);
    } else {
      // Left out rather than failing the open: the store can neither serve, update nor delete a record that does
      // not parse, so no later write changes the counts on its account either.
      common::Log(common::LogLevel::kError, "client_count_skipped_record",
                  {{"path", open.path}, {"error", std::string(client.status().message())}});
    }
    return true;
  }));
  return counts;
}

// Sets `open.client_counts` from the count keys. When either is missing (a database written before the counts),
// counts the clients and writes both keys in one synced batch first, so that later opens read them. Runs while
// nothing else can write to the database, at open and at reopen, so no write falls between the scan and that batch.
absl::Status LoadClientCounts(OpenDb& open) {
  CountDeltas counts{};
  bool missing = false;
  for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
    const char* key = kCountedStates[i].key;
    std::string value;
    const rocksdb::Status status = open.db->Get(rocksdb::ReadOptions(), open.handles[kDefault], key, &value);
    if (status.IsNotFound()) {
      missing = true;
      continue;
    }
    RETURN_IF_ERROR(open.Check(status, absl::StrCat("read ", key)));
    const std::optional<int64_t> count = DecodeInt64(value);
    if (!count.has_value()) return open.Corrupt(absl::StrCat(key, " has ", value.size(), " bytes, not 8"));
    counts[i] = *count;
  }
  if (missing) {
    ASSIGN_OR_RETURN(counts, CountStoredClients(open));
    rocksdb::WriteBatch batch;
    for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
      RETURN_IF_ERROR(
          open.Check(batch.Put(open.handles[kDefault], kCountedStates[i].key, EncodeInt64(counts[i])), "batch count"));
    }
    RETURN_IF_ERROR(open.Check(open.Write(kSynced, batch), "write client counts"));
    const ClientCounts rebuilt = ToClientCounts(counts);
    common::Log(common::LogLevel::kInfo, "client_counts_rebuilt",
                {{"path", open.path},
                 {"active", std::to_string(rebuilt.active)},
                 {"disabled", std::to_string(rebuilt.disabled)}});
  }
  for (std::size_t i = 0; i < kCountedStates.size(); ++i) open.client_counts[i].store(counts[i]);
  return absl::OkStatus();
}

// Entries written per batch by a lifecycle index build: memory stays bounded whatever the store holds.
constexpr int kIndexBuildBatchEntries = 10'000;

// Builds the lifecycle indexes of a database that has none (see kLifecycleIndexesBuiltKey); does nothing once the
// marker is written. Runs, as LoadClientCounts does, while nothing else can write to the database.
absl::Status BuildLifecycleIndexes(OpenDb& open) {
  std::string built;
  const rocksdb::Status read =
      open.db->Get(rocksdb::ReadOptions(), open.handles[kDefault], kLifecycleIndexesBuiltKey, &built);
  if (read.ok()) return absl::OkStatus();
  if (!read.IsNotFound()) return open.Check(read, "read lifecycle index marker");

  // Unsynced batches, then the marker in a synced one: syncing the log syncs every batch before it, and a crash
  // before the marker only means building again.
  rocksdb::WriteBatch batch;
  const auto write_if_full = [&]() -> absl::Status {
    if (batch.Count() < kIndexBuildBatchEntries) return absl::OkStatus();
    RETURN_IF_ERROR(open.Check(open.Write(kNotSynced, batch), "write lifecycle indexes"));
    batch.Clear();
    return absl::OkStatus();
  };
  // Whatever an interrupted build, or anything else, left in the indexes goes first: an entry the build does not
  // write would otherwise never be removed, and could name a client that is gone.
  for (const LifecycleIndex index : kLifecycleIndexes) {
    RETURN_IF_ERROR(VisitFrom(open, open.lifecycle(index), "",
                              [&](const rocksdb::Slice& key, const rocksdb::Slice& /*value*/) -> absl::StatusOr<bool> {
                                RETURN_IF_ERROR(
                                    open.Check(batch.Delete(open.lifecycle(index), key), "batch lifecycle index"));
                                RETURN_IF_ERROR(write_if_full());
                                return true;
                              }));
  }
  int64_t indexed = 0;
  RETURN_IF_ERROR(
      VisitRecords(open, "", [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> absl::StatusOr<bool> {
        absl::StatusOr<StoredClient> client = ParseRecord(open, key, value);
        absl::StatusOr<int64_t> last_used = client.ok()
                                                ? ReadLastUsed(open, rocksdb::ReadOptions(), client->client_id())
                                                : absl::StatusOr<int64_t>(client.status());
        if (absl::IsDataLoss(last_used.status())) {
          // Left out, as CountStoredClients leaves out what does not parse: the store cannot reap a client whose record
          // or last use it cannot read, nor can anything else change it, so its entries would never be needed.
          common::Log(common::LogLevel::kError, "lifecycle_index_skipped_client",
                      {{"path", open.path}, {"error", std::string(last_used.status().message())}});
          return true;
        }
        RETURN_IF_ERROR(last_used.status());
        RETURN_IF_ERROR(MoveLifecycleEntries(open, batch, client->client_id(), std::nullopt,
                                             LifecyclePosition{client->client_id_issued_at(), *last_used}));
        ++indexed;
        RETURN_IF_ERROR(write_if_full());
        return true;
      }));
  RETURN_IF_ERROR(open.Check(batch.Put(open.handles[kDefault], kLifecycleIndexesBuiltKey, "1"), "batch index marker"));
  RETURN_IF_ERROR(open.Check(open.Write(kSynced, batch), "write lifecycle indexes"));
  common::Log(common::LogLevel::kInfo, "lifecycle_indexes_built",
              {{"path", open.path}, {"clients", std::to_string(indexed)}});
  return absl::OkStatus();
}

// Opens the database at `path`, loads its client counts and builds its lifecycle indexes if it has none.
absl::StatusOr<std::unique_ptr<OpenDb>> OpenDatabase(const std::string& path, rocksdb::Env* env,
                                                     const std::shared_ptr<rocksdb::Cache>& block_cache,
                                                     StoreMetrics* metrics) {
  std::vector<rocksdb::ColumnFamilyDescriptor> column_families(kHandleCount);
  column_families[kDefault] = {rocksdb::kDefaultColumnFamilyName,
                               ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/false)};
  // Only the default column family merges (its counts); the others keep no operator, so tools read them without one.
  column_families[kDefault].options.merge_operator = NewInt64AddMergeOperator();
  column_families[kClients] = {kClientsColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  column_families[kTokenIndex] = {kTokenIndexColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  // The change log is only ever scanned in order, so a filter would be memory spent for nothing.
  column_families[kAudit] = {kAuditColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/false)};
  // Absent from databases written before last-use tracking; create_missing_column_families adds it on their first
  // open, and every column family must be listed here, since DB::Open refuses a list that omits an existing one.
  column_families[kLastUsed] = {kLastUsedColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  // Likewise added later; read by point lookups on every registration that presents a token.
  column_families[kInitialAccessTokens] = {kInitialAccessTokensColumnFamily,
                                           ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  // Likewise added later (BuildLifecycleIndexes fills the indexes of an older database). The indexes are only
  // scanned; the tombstones are looked up by every Create, almost always for an id that has none.
  column_families[kNeverUsedIndex] = {kNeverUsedColumnFamily, TimeIndexColumnFamilyOptions(block_cache)};
  column_families[kByActivityIndex] = {kByActivityColumnFamily, TimeIndexColumnFamilyOptions(block_cache)};
  column_families[kTombstones] = {kTombstonesColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};

  auto open = std::make_unique<OpenDb>();
  open->path = path;
  open->metrics = metrics;
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(open->Check(rocksdb::DB::Open(DbOptions(env), path, column_families, &open->handles, &db),
                              absl::StrCat("open RocksDB at ", path)));
  open->db.reset(db);
  RETURN_IF_ERROR(LoadClientCounts(*open));
  RETURN_IF_ERROR(BuildLifecycleIndexes(*open));
  return open;
}

class RocksDbClientStore final : public ClientStore {
 public:
  RocksDbClientStore(std::string path, rocksdb::Env* env, StoreMetrics* metrics,
                     std::shared_ptr<rocksdb::Cache> block_cache, std::unique_ptr<OpenDb> db)
      : path_(std::move(path)),
        env_(env),
        metrics_(metrics),
        block_cache_(std::move(block_cache)),
        db_(std::move(db)) {}

  using ClientStore::CreateAsync;

  void CreateAsync(const StoredClient& client, const std::optional<InitialAccessTokenUse>& use,
                   std::function<void(absl::Status)> done) override {
    if (client.client_id().empty()) return done(absl::InvalidArgumentError("client_id is empty"));
    absl::StatusOr<std::string> record = Serialize(client);
    if (!record.ok()) return done(record.status());
    PendingCreate create{.client_id = client.client_id(),
                         .record = *std::move(record),
                         .token_digest = client.registration_access_token_digest(),
                         .state = client.state(),
                         .issued_at = client.client_id_issued_at(),
                         .use = use,
                         .done = std::move(done)};
    if (!creates_.Submit(std::move(create))) {
      // Submit leaves `create` whole when it refuses it.
      return create.done(absl::ResourceExhaustedError("too many writes are waiting for the disk"));
    }
  }

  absl::StatusOr<StoredClient> Get(std::string_view client_id) const override {
    return WithDb([&](const OpenDb& open) { return ReadClient(open, client_id); });
  }

  absl::Status ForEach(const std::function<absl::Status(const StoredClient&)>& visit) const override {
    return ScanFrom("", [&visit](const StoredClient& client) -> absl::StatusOr<bool> {
      RETURN_IF_ERROR(visit(client));
      return true;
    });
  }

  absl::Status ScanFrom(std::string_view start_after,
                        const std::function<absl::StatusOr<bool>(const StoredClient&)>& visit) const override {
    return WithDb([&](const OpenDb& open) -> absl::Status {
      return VisitRecords(open, start_after,
                          [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> absl::StatusOr<bool> {
                            ASSIGN_OR_RETURN(const StoredClient client, ParseRecord(open, key, value));
                            return visit(client);
                          });
    });
  }

  absl::Status Update(const StoredClient& client, uint64_t expected_version) override {
    const std::string& client_id = client.client_id();
    if (client.version() <= expected_version) {
      return absl::InvalidArgumentError(absl::StrCat("update of client ", client_id, " to version ", client.version(),
                                                     " does not advance expected version ", expected_version));
    }
    ASSIGN_OR_RETURN(const std::string record, Serialize(client));

    // The version check and the write happen under the same lock as Create and Delete, so no change of this client
    // lands between them: the compare-and-set is atomic, and a Delete that won cannot be undone by this write.
    const KeyLockTable::Lock lock(&key_locks_, client_id);
    CountDeltas deltas{};
    return WriteBatchWithDb(
        kSynced, absl::StrCat("update client ", client_id),
        [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
          ASSIGN_OR_RETURN(const StoredClient stored, ReadForChange(open, client_id, expected_version));
          RETURN_IF_ERROR(open.Check(batch.Put(open.clients(), client_id, record), "batch client record"));
          if (stored.state() != client.state()) {
            AddToCount(deltas, stored.state(), -1);
            AddToCount(deltas, client.state(), 1);
          }
          if (stored.client_id_issued_at() != client.client_id_issued_at()) {
            // The service never changes it, but a record and its index entries must not disagree.
            ASSIGN_OR_RETURN(const int64_t last_used, ReadLastUsed(open, rocksdb::ReadOptions(), client_id));
            RETURN_IF_ERROR(MoveLifecycleEntries(open, batch, client_id,
                                                 LifecyclePosition{stored.client_id_issued_at(), last_used},
                                                 LifecyclePosition{client.client_id_issued_at(), last_used}));
          }
          const std::string& old_digest = stored.registration_access_token_digest();
          const std::string& new_digest = client.registration_access_token_digest();
          if (old_digest != new_digest) {
            // In the same batch as the record: a crash never leaves the old token working, or the new one unindexed.
            if (!old_digest.empty()) {
              RETURN_IF_ERROR(open.Check(batch.Delete(open.token_index(), old_digest), "batch token index"));
            }
            if (!new_digest.empty()) {
              RETURN_IF_ERROR(open.Check(batch.Put(open.token_index(), new_digest, client_id), "batch token index"));
            }
          }
          return absl::OkStatus();
        },
        &deltas);
  }

  absl::Status Delete(std::string_view client_id, uint64_t expected_version) override {
    return DeleteAtVersion("delete", client_id, expected_version,
                           [](const OpenDb&, rocksdb::WriteBatch&, const StoredClient&, int64_t) -> absl::Status {
                             return absl::OkStatus();
                           });
  }

  absl::StatusOr<std::vector<LifecycleEntry>> ListByLifecycle(
      LifecycleIndex index, int64_t before, std::size_t limit,
      const std::optional<LifecycleEntry>& start_after) const override {
    if (limit == 0) return std::vector<LifecycleEntry>();
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<std::vector<LifecycleEntry>> {
      // Every key of a time before `before` is less than the 8 bytes of `before` alone, and every other key is not:
      // the iterator stops at the bound without reading past it, however many entries (or deletions) lie beyond.
      const std::string bound = EncodeOrderedInt64(before);
      const rocksdb::Slice bound_slice(bound);
      rocksdb::ReadOptions options;
      options.iterate_upper_bound = &bound_slice;
      const std::unique_ptr<rocksdb::Iterator> it(open.db->NewIterator(options, open.lifecycle(index)));
      if (start_after.has_value()) {
        // The smallest key after start_after's, as in VisitFrom.
        std::string successor = LifecycleKey(start_after->time, start_after->client_id);
        successor.push_back('\0');
        it->Seek(successor);
      } else {
        it->SeekToFirst();
      }
      std::vector<LifecycleEntry> entries;
      entries.reserve(std::min<std::size_t>(limit, 1024));
      for (; it->Valid(); it->Next()) {
        const std::string_view key = it->key().ToStringView();
        const std::optional<int64_t> time = DecodeOrderedInt64(key.substr(0, kLifecycleTimeBytes));
        if (!time.has_value() || key.size() == kLifecycleTimeBytes) {
          return open.Corrupt(absl::StrCat("lifecycle index entry of ", key.size(), " bytes has no client_id"));
        }
        entries.push_back(LifecycleEntry{std::string(key.substr(kLifecycleTimeBytes)), *time});
        // Returning here, not after another Next(): a page reads the entries it returns and nothing more.
        if (entries.size() == limit) return entries;
      }
      RETURN_IF_ERROR(open.Check(it->status(), "scan lifecycle index"));
      return entries;
    });
  }

  absl::Status Reap(const StoredTombstone& tombstone, uint64_t expected_version, LifecycleIndex index,
                    int64_t before) override {
    const std::string& id = tombstone.client_id();
    if (id.empty()) return absl::InvalidArgumentError("the tombstone names no client");
    std::string record;
    if (!tombstone.SerializeToString(&record)) {
      return absl::InternalError(absl::StrCat("cannot serialize the tombstone of client ", id));
    }
    // Under the lock RecordLastUsed takes: a use is recorded either before the check below, and then it counts, or
    // after the batch, and then it finds no client.
    return DeleteAtVersion(
        "reap", id, expected_version,
        [&](const OpenDb& open, rocksdb::WriteBatch& batch, const StoredClient& stored,
            int64_t last_used) -> absl::Status {
          // The entries are written with every change of what they are keyed by, under this lock, so where the
          // record and its last use put the client is where its entry is.
          const std::optional<int64_t> time = LifecyclePosition{stored.client_id_issued_at(), last_used}.TimeIn(index);
          if (!time.has_value() || *time >= before) {
            return absl::FailedPreconditionError(absl::StrCat("client ", id, " is no longer due to be reaped"));
          }
          return open.Check(batch.Put(open.tombstones(), id, record), "batch tombstone");
        });
  }

  absl::StatusOr<StoredTombstone> GetTombstone(std::string_view client_id) const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<StoredTombstone> {
      rocksdb::PinnableSlice value;
      const rocksdb::Status status =
          open.db->Get(rocksdb::ReadOptions(), open.tombstones(), ToSlice(client_id), &value);
      if (status.IsNotFound()) {
        return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " was not reaped"));
      }
      RETURN_IF_ERROR(open.Check(status, absl::StrCat("read tombstone of client ", ToAbsl(client_id))));
      return ParseTombstone(open, ToSlice(client_id), value);
    });
  }

  absl::Status ScanTombstones(std::string_view start_after,
                              const std::function<absl::StatusOr<bool>(const StoredTombstone&)>& visit) const override {
    return WithDb([&](const OpenDb& open) -> absl::Status {
      return VisitFrom(open, open.tombstones(), start_after,
                       [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> absl::StatusOr<bool> {
                         ASSIGN_OR_RETURN(const StoredTombstone tombstone, ParseTombstone(open, key, value));
                         return visit(tombstone);
                       });
    });
  }

  absl::Status CheckHealth() override {
    if (last_write_failed_.load(std::memory_order_relaxed)) {
      // Only a synced write shows that the disk takes writes again; reads may keep working throughout.
      return WriteBatchWithDb(kSynced, "write health probe", [](const OpenDb& open, rocksdb::WriteBatch& batch) {
        return open.Check(batch.Put(open.handles[kDefault], kHealthProbeKey, "1"), "batch health probe");
      });
    }
    return WithDb([](const OpenDb& open) -> absl::Status {
      rocksdb::PinnableSlice value;
      const rocksdb::Status read =
          open.db->Get(rocksdb::ReadOptions(), open.handles[kDefault], kHealthProbeKey, &value);
      if (read.IsNotFound()) return absl::OkStatus();
      return open.Check(read, "read health probe");
    });
  }

  absl::StatusOr<std::string> FindByTokenDigest(std::string_view token_digest) const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<std::string> {
      std::string client_id;
      const rocksdb::Status status =
          open.db->Get(rocksdb::ReadOptions(), open.token_index(), ToSlice(token_digest), &client_id);
      // The digest is a secret's HMAC: it stays out of every message.
      if (status.IsNotFound()) return absl::NotFoundError("no client holds this registration access token");
      RETURN_IF_ERROR(open.Check(status, "read token index"));
      return client_id;
    });
  }

  absl::Status RecordLastUsed(const std::vector<std::pair<std::string, int64_t>>& last_used) override {
    // Of several entries for one client only the latest can matter; a time that is not positive never beats "never
    // used" (0).
    std::vector<std::pair<std::string, int64_t>> latest;
    latest.reserve(last_used.size());
    for (const auto& entry : last_used) {
      if (entry.second > 0) latest.push_back(entry);
    }
    std::sort(latest.begin(), latest.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    latest.erase(
        std::unique(latest.begin(), latest.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
        latest.end());
    if (latest.empty()) return absl::OkStatus();
    std::vector<std::string> ids;
    ids.reserve(latest.size());
    for (const auto& entry : latest) ids.push_back(entry.first);

    // Read-check-write under the clients' locks, which Delete and Reap also take: an entry is written only while its
    // client is known to exist, so Delete and Reap, which remove the entry in their own batch, can never be overtaken
    // by a stale write, and no entry outlives its client. The old time is needed anyway: it keys the lifecycle index
    // entry that moves, and under the lock no other write can move that entry between this read and the batch.
    const KeyLockTable::Lock lock(&key_locks_, ids);
    // sync=false: last use is bookkeeping, written in batches off the authentication path, and must not cost an
    // fdatasync per batch. The WAL is still written, so a crash of the process loses nothing; a power loss or
    // kernel crash may lose the last batches, which only makes a last use look older than it was (the index entries
    // are in the same batches, so they are lost or kept with it). A later synced write (any Create, Update, Delete or
    // Reap) syncs these entries with it, in order.
    return WriteBatchWithDb(
        kNotSynced, "record last use", [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
          for (const auto& [client_id, seconds] : latest) {
            ASSIGN_OR_RETURN(const int64_t recorded, ReadLastUsed(open, rocksdb::ReadOptions(), client_id));
            if (seconds <= recorded) continue;
            // The index entries to move are keyed by the last use, or before the first use by the issue time, which
            // only the record holds: it is read (and parsed) once per client, at its first use.
            int64_t issued_at = 0;
            if (recorded == 0) {
              absl::StatusOr<StoredClient> stored = ReadClient(open, client_id);
              if (absl::IsNotFound(stored.status())) continue;
              RETURN_IF_ERROR(stored.status());
              issued_at = stored->client_id_issued_at();
            } else {
              ASSIGN_OR_RETURN(const bool exists, Exists(open, rocksdb::ReadOptions(), client_id));
              if (!exists) continue;
            }
            RETURN_IF_ERROR(open.Check(batch.Put(open.last_used(), client_id, EncodeInt64(seconds)), "batch last use"));
            RETURN_IF_ERROR(MoveLifecycleEntries(open, batch, client_id, LifecyclePosition{issued_at, recorded},
                                                 LifecyclePosition{issued_at, seconds}));
          }
          return absl::OkStatus();
        });
  }

  absl::StatusOr<int64_t> GetLastUsed(std::string_view client_id) const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<int64_t> {
      // Both reads from one snapshot, so a concurrent Delete is seen either whole or not at all.
      rocksdb::ManagedSnapshot snapshot(open.db.get());
      rocksdb::ReadOptions options;
      options.snapshot = snapshot.snapshot();
      // Entries are written only for stored clients and deleted with them, so this check should never be what
      // decides; it keeps the answer right even if a stray entry survived, e.g. from a bug or a manual repair.
      ASSIGN_OR_RETURN(const bool exists, Exists(open, options, client_id));
      if (!exists) return int64_t{0};
      return ReadLastUsed(open, options, client_id);
    });
  }

  absl::StatusOr<ClientCounts> CountClients() const override {
    return WithDb([](const OpenDb& open) -> absl::StatusOr<ClientCounts> {
      CountDeltas counts;
      for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
        counts[i] = open.client_counts[i].load(std::memory_order_relaxed);
      }
      return ToClientCounts(counts);
    });
  }

  absl::Status CreateInitialAccessToken(const StoredInitialAccessToken& token) override {
    if (token.id().empty() || token.digest().empty()) {
      return absl::InvalidArgumentError("an initial access token needs an id and a digest");
    }
    ASSIGN_OR_RETURN(const std::string record, SerializeToken(token));
    const KeyLockTable::Lock lock(&key_locks_, TokenLockKey(token.id()));
    return WriteBatchWithDb(
        kSynced, "create initial access token", [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
          const absl::StatusOr<StoredInitialAccessToken> existing = ReadTokenRecord(open, token.id());
          if (existing.ok()) return absl::AlreadyExistsError(absl::StrCat("token ", token.id(), " already exists"));
          if (!absl::IsNotFound(existing.status())) return existing.status();
          // Digests are HMACs of 256-bit random tokens and never collide in practice; a token from a config file
          // could be added twice, though, and a second index entry would orphan the first record.
          std::string other;
          const rocksdb::Status read = open.db->Get(rocksdb::ReadOptions(), open.initial_access_tokens(),
                                                    TokenDigestKey(token.digest()), &other);
          if (read.ok()) return absl::AlreadyExistsError("a token with this digest already exists");
          if (!read.IsNotFound()) return open.Check(read, "read initial access token index");
          RETURN_IF_ERROR(open.Check(batch.Put(open.initial_access_tokens(), TokenRecordKey(token.id()), record),
                                     "batch initial access token"));
          return open.Check(batch.Put(open.initial_access_tokens(), TokenDigestKey(token.digest()), token.id()),
                            "batch initial access token index");
        });
  }

  absl::StatusOr<StoredInitialAccessToken> FindInitialAccessToken(std::string_view digest) const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<StoredInitialAccessToken> {
      // Both reads from one snapshot: the index and the record it names were written together.
      rocksdb::ManagedSnapshot snapshot(open.db.get());
      rocksdb::ReadOptions options;
      options.snapshot = snapshot.snapshot();
      std::string id;
      const rocksdb::Status status = open.db->Get(options, open.initial_access_tokens(), TokenDigestKey(digest), &id);
      if (status.IsNotFound()) return absl::NotFoundError("no initial access token has this digest");
      RETURN_IF_ERROR(open.Check(status, "read initial access token index"));
      absl::StatusOr<StoredInitialAccessToken> token = ReadTokenRecord(open, id, options);
      // An index entry without its record is corruption, not an unknown token.
      if (absl::IsNotFound(token.status())) return open.Corrupt(absl::StrCat("token index names missing token ", id));
      return token;
    });
  }

  absl::StatusOr<std::vector<StoredInitialAccessToken>> ListInitialAccessTokens() const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<std::vector<StoredInitialAccessToken>> {
      rocksdb::ManagedSnapshot snapshot(open.db.get());
      rocksdb::ReadOptions options;
      options.snapshot = snapshot.snapshot();
      const std::unique_ptr<rocksdb::Iterator> it(open.db->NewIterator(options, open.initial_access_tokens()));
      const rocksdb::Slice prefix(kInitialAccessTokenRecordPrefix);
      std::vector<StoredInitialAccessToken> tokens;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        rocksdb::Slice id = it->key();
        id.remove_prefix(prefix.size());
        ASSIGN_OR_RETURN(StoredInitialAccessToken token, ParseTokenRecord(open, id.ToStringView(), it->value()));
        tokens.push_back(std::move(token));
      }
      RETURN_IF_ERROR(open.Check(it->status(), "scan initial access tokens"));
      return tokens;
    });
  }

  absl::StatusOr<StoredInitialAccessToken> RevokeInitialAccessToken(std::string_view id, int64_t now) override {
    // The lock CommitCreates takes for the token: no group is between reading and writing its count meanwhile.
    const KeyLockTable::Lock lock(&key_locks_, TokenLockKey(id));
    StoredInitialAccessToken revoked;
    RETURN_IF_ERROR(WriteBatchWithDb(
        kSynced, "revoke initial access token", [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
          ASSIGN_OR_RETURN(revoked, ReadTokenRecord(open, id));
          if (revoked.revoked()) return absl::OkStatus();
          revoked.set_revoked(true);
          revoked.set_revoked_at(now);
          ASSIGN_OR_RETURN(const std::string record, SerializeToken(revoked));
          return open.Check(batch.Put(open.initial_access_tokens(), TokenRecordKey(id), record),
                            "batch initial access token");
        }));
    return revoked;
  }

  absl::Status Checkpoint(const std::string& dir) override {
    // Under the shared lock: a reopen, which closes the database, waits until the checkpoint is written.
    return WithDb([&](const OpenDb& open) -> absl::Status {
      absl::Status written = WriteRocksDbCheckpoint(*open.db, dir);
      // Only the store's own failures count as store errors, not a target the caller got wrong.
      if (absl::IsUnavailable(written) || absl::IsInternal(written)) {
        open.CountError();
        // The checkpoint's flush may have failed, after which RocksDB refuses writes until a reopen. The next
        // health check then writes its probe, which reopens the database if it must.
        last_write_failed_.store(true, std::memory_order_relaxed);
      }
      return written;
    });
  }

 private:
  // Creates waiting for the disk beyond this are refused (ResourceExhausted, 503): under overload, a fast "try again"
  // beats an ever longer queue. A few thousand is a second or more of a slow disk's syncs.
  static constexpr std::size_t kMaxPendingCreates = 4096;
  // Creates per synced batch; more rarely wait, and a bound keeps one batch's callbacks from delaying the next.
  static constexpr std::size_t kMaxCreateGroup = 256;
  // Two: answering a group (building each response and handing it to gRPC) takes about half as long as its synced
  // write, and a second committer writes the next group meanwhile. RocksDB still orders the two writes.
  static constexpr int kCommitters = 2;

  // A Create waiting for the committer thread.
  struct PendingCreate {
    std::string client_id;
    std::string record;
    std::string token_digest;
    StoredClient::State state;
    int64_t issued_at;
    std::optional<InitialAccessTokenUse> use;
    std::function<void(absl::Status)> done;
  };

  // Writes a group of Creates in one synced batch, on a committer thread. Check-then-write is atomic per id: the
  // ids are held in key_locks_, which Update, Delete, RecordLastUsed and Reap take too, from the check that neither a
  // client nor a tombstone holds the id until the batch is durable. Ids drawn from the CSPRNG (128+ bits) never
  // collide, but an id chosen by an operator, or a retried Create racing its first attempt, could; of two Creates of
  // one id, in a group or not, exactly one succeeds. An id whose existence cannot be read fails alone; a failed write
  // fails the whole group.
  //
  // The initial access tokens the group uses are held in key_locks_ too, as RevokeInitialAccessToken holds them, and
  // their uses are counted one Create at a time in group order: a token with one use left lets exactly the first of
  // its Creates through, and the count written with the group is the one after all of them.
  void CommitCreates(std::vector<PendingCreate>& group) {
    std::vector<absl::Status> results(group.size());
    absl::Status written;
    {
      std::vector<std::string> ids;
      ids.reserve(group.size());
      for (const PendingCreate& create : group) {
        ids.push_back(create.client_id);
        if (create.use.has_value()) ids.push_back(TokenLockKey(create.use->token_id));
      }
      // Several Creates of a group may use one token; the table holds each key once.
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      const KeyLockTable::Lock lock(&key_locks_, std::move(ids));
      CountDeltas deltas{};
      std::size_t batched = 0;
      written = WriteBatchWithDb(
          kSynced, "write clients",
          [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
            absl::flat_hash_set<std::string_view> in_group;
            // The tokens this group uses, as they will be once the group is written; read once each.
            absl::flat_hash_map<std::string, TokenInGroup> tokens;
            for (std::size_t i = 0; i < group.size(); ++i) {
              const PendingCreate& create = group[i];
              absl::Status free = CheckIdFree(open, create.client_id);
              if (free.ok() && in_group.contains(create.client_id)) {
                free = absl::AlreadyExistsError(absl::StrCat("client ", create.client_id, " already exists"));
              }
              if (!free.ok()) {
                results[i] = std::move(free);
                continue;
              }
              if (create.use.has_value()) {
                auto [it, inserted] = tokens.try_emplace(create.use->token_id);
                if (inserted) it->second.token = ReadTokenRecord(open, create.use->token_id);
                if (const absl::Status used = UseToken(it->second, create.use->now); !used.ok()) {
                  results[i] = used;
                  continue;
                }
              }
              in_group.insert(create.client_id);
              RETURN_IF_ERROR(
                  open.Check(batch.Put(open.clients(), create.client_id, create.record), "batch client record"));
              AddToCount(deltas, create.state, 1);
              RETURN_IF_ERROR(MoveLifecycleEntries(open, batch, create.client_id, std::nullopt,
                                                   LifecyclePosition{create.issued_at, 0}));
              ++batched;
              // Digests are HMACs of 256-bit random tokens, so a digest already indexed for another client cannot
              // occur in practice (a precondition of Create, client_store.h), and looking it up would cost a read on
              // every Create.
              if (!create.token_digest.empty()) {
                RETURN_IF_ERROR(open.Check(batch.Put(open.token_index(), create.token_digest, create.client_id),
                                           "batch token index"));
              }
            }
            for (const auto& [id, in_group] : tokens) {
              if (in_group.used == 0) continue;
              ASSIGN_OR_RETURN(const std::string record, SerializeToken(*in_group.token));
              RETURN_IF_ERROR(
                  open.Check(batch.Put(open.initial_access_tokens(), TokenRecordKey(id), record), "batch token use"));
            }
            // A batch holding a Create is written next.
            if (batched > 0 && metrics_ != nullptr) metrics_->group_size.Observe(static_cast<double>(batched));
            return absl::OkStatus();
          },
          &deltas);
    }
    // After the locks are released: a callback may start another write of one of these ids.
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done(results[i].ok() ? written : results[i]);
  }

  // A token that a group of Creates uses: as read, plus the uses its Creates have taken so far.
  struct TokenInGroup {
    absl::StatusOr<StoredInitialAccessToken> token = absl::NotFoundError("not read");
    int used = 0;
  };

  // Takes one use of `in_group` for a Create at `now`: OK, and the count advanced, if the token can still register;
  // FailedPrecondition if it is unknown, revoked, expired or used up; a read error as it came.
  static absl::Status UseToken(TokenInGroup& in_group, int64_t now) {
    if (absl::IsNotFound(in_group.token.status())) {
      return absl::FailedPreconditionError("the initial access token is not stored");
    }
    if (!in_group.token.ok()) return in_group.token.status();
    StoredInitialAccessToken& token = *in_group.token;
    if (token.revoked()) return absl::FailedPreconditionError("the initial access token is revoked");
    if (token.expires_at() != 0 && token.expires_at() <= now) {
      return absl::FailedPreconditionError("the initial access token has expired");
    }
    if (token.max_uses() != 0 && token.uses() >= token.max_uses()) {
      return absl::FailedPreconditionError("the initial access token is used up");
    }
    token.set_uses(token.uses() + 1);
    ++in_group.used;
    return absl::OkStatus();
  }

  static absl::StatusOr<std::string> SerializeToken(const StoredInitialAccessToken& token) {
    std::string record;
    if (!token.SerializeToString(&record)) {
      return absl::InternalError(absl::StrCat("cannot serialize initial access token ", token.id()));
    }
    return record;
  }

  // The token stored under `id`, or NotFound; DataLoss for a record that does not parse or names another id.
  static absl::StatusOr<StoredInitialAccessToken> ReadTokenRecord(const OpenDb& open, std::string_view id,
                                                                  const rocksdb::ReadOptions& options = {}) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = open.db->Get(options, open.initial_access_tokens(), TokenRecordKey(id), &value);
    if (status.IsNotFound()) {
      return absl::NotFoundError(absl::StrCat("initial access token ", ToAbsl(id), " not found"));
    }
    RETURN_IF_ERROR(open.Check(status, absl::StrCat("read initial access token ", ToAbsl(id))));
    return ParseTokenRecord(open, id, value);
  }

  static absl::StatusOr<StoredInitialAccessToken> ParseTokenRecord(const OpenDb& open, std::string_view id,
                                                                   const rocksdb::Slice& value) {
    StoredInitialAccessToken token;
    if (value.size() > static_cast<std::size_t>(INT_MAX) ||
        !token.ParseFromArray(value.data(), static_cast<int>(value.size())) || token.id() != id) {
      return open.Corrupt(absl::StrCat("stored initial access token ", ToAbsl(id), " is corrupt"));
    }
    return token;
  }

  // Runs `operation` on the open database under the shared lock. When a failed reopen left none, tries to open it
  // again first, so the store heals as soon as the disk does.
  template <typename Operation>
  auto WithDb(Operation operation) const -> decltype(operation(std::declval<const OpenDb&>())) {
    {
      const std::shared_lock<std::shared_mutex> lock(mutex_);
      if (db_ != nullptr) return operation(*db_);
    }
    Reopen(std::nullopt, absl::UnavailableError("no open database"));
    const std::shared_lock<std::shared_mutex> lock(mutex_);
    if (db_ != nullptr) return operation(*db_);
    return absl::UnavailableError(absl::StrCat("the store at ", path_, " cannot be opened"));
  }

  // Runs `prepare` under WithDb to check preconditions and fill one batch, then writes that batch, unless it is
  // empty, on the same database. RocksDB applies a batch whole or not at all, also across a crash. When the write
  // fails, the database is reopened once the shared lock is released, so that later writes work again.
  // `count_deltas`, if not null, is how the batch that `prepare` fills changes the client counts (read once `prepare`
  // has returned): merged into that batch, and added to the database's counts once the write has succeeded.
  template <typename Prepare>
  absl::Status WriteBatchWithDb(bool sync, std::string_view context, Prepare prepare,
                                const CountDeltas* count_deltas = nullptr) {
    std::optional<uint64_t> failed_generation;
    bool attempted = false;
    const absl::Status status = WithDb([&](const OpenDb& open) -> absl::Status {
      rocksdb::WriteBatch batch;
      RETURN_IF_ERROR(prepare(open, batch));
      if (batch.Count() == 0) return absl::OkStatus();
      if (count_deltas != nullptr) {
        // Merges, not a read and a Put: the two committers write concurrently, and a read-modify-write of a count
        // would lose one of two changes. In the records' own batch, so a count lands, or fails, exactly with them.
        for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
          if ((*count_deltas)[i] == 0) continue;
          RETURN_IF_ERROR(
              open.Check(batch.Merge(open.handles[kDefault], kCountedStates[i].key, EncodeInt64((*count_deltas)[i])),
                         "batch count"));
        }
      }
      attempted = true;
      const rocksdb::Status written = open.Write(sync, batch);
      if (!written.ok()) {
        failed_generation = open.generation;
      } else if (count_deltas != nullptr) {
        for (std::size_t i = 0; i < kCountedStates.size(); ++i) {
          open.client_counts[i].fetch_add((*count_deltas)[i], std::memory_order_relaxed);
        }
      }
      return open.Check(written, ToAbsl(context));
    });
    // A store that could not even open counts as a failed write too: nothing can be written until it does.
    if (attempted || absl::IsUnavailable(status)) last_write_failed_.store(!status.ok(), std::memory_order_relaxed);
    if (failed_generation.has_value()) Reopen(failed_generation, status);
    return status;
  }

  // RocksDB 7.8 keeps refusing writes after a failed WAL write, and Resume() cannot clear that; only a reopen
  // (which replays the WAL, as a restart would) can. One failed disk write must not become 503s until a restart.
  // `failed` is the generation of the database that failed (nullopt: none is open); if another thread has replaced
  // it meanwhile, the new one is left alone.
  void Reopen(std::optional<uint64_t> failed, const absl::Status& failure) const {
    const std::unique_lock<std::shared_mutex> lock(mutex_);
    const std::optional<uint64_t> current =
        db_ != nullptr ? std::optional<uint64_t>(db_->generation) : std::optional<uint64_t>();
    if (current != failed) return;
    db_.reset();
    // Also reads the counts from disk again: a write whose sync failed may have reached the log, and then its
    // records and its counts are both replayed.
    absl::StatusOr<std::unique_ptr<OpenDb>> reopened = OpenDatabase(path_, env_, block_cache_, metrics_);
    if (reopened.ok()) {
      db_ = *std::move(reopened);
      db_->generation = ++last_generation_;  // under the exclusive lock
      common::Log(common::LogLevel::kWarning, "rocksdb_reopened",
                  {{"path", path_}, {"after", std::string(failure.message())}});
    } else if (failed.has_value()) {
      // Logged once per outage: while the disk keeps failing, every operation retries quietly.
      common::Log(common::LogLevel::kError, "rocksdb_reopen_failed",
                  {{"path", path_}, {"error", std::string(reopened.status().message())}});
    }
  }

  static absl::StatusOr<std::string> Serialize(const StoredClient& client) {
    std::string record;
    if (!client.SerializeToString(&record)) {
      return absl::InternalError(absl::StrCat("cannot serialize client ", client.client_id()));
    }
    return record;
  }

  // Whether `family` holds `key`; `what` names it in errors.
  static absl::StatusOr<bool> HasKey(const OpenDb& open, const rocksdb::ReadOptions& options,
                                     rocksdb::ColumnFamilyHandle* family, std::string_view key,
                                     absl::string_view what) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = open.db->Get(options, family, ToSlice(key), &value);
    if (status.IsNotFound()) return false;
    RETURN_IF_ERROR(open.Check(status, absl::StrCat("read ", what, " ", ToAbsl(key))));
    return true;
  }

  static absl::StatusOr<bool> Exists(const OpenDb& open, const rocksdb::ReadOptions& options,
                                     std::string_view client_id) {
    return HasKey(open, options, open.clients(), client_id, "client");
  }

  // OK if a Create may take `client_id`: no client holds it, and no tombstone (a reaped id is never issued again).
  static absl::Status CheckIdFree(const OpenDb& open, std::string_view client_id) {
    ASSIGN_OR_RETURN(const bool exists, Exists(open, rocksdb::ReadOptions(), client_id));
    if (exists) return absl::AlreadyExistsError(absl::StrCat("client ", ToAbsl(client_id), " already exists"));
    ASSIGN_OR_RETURN(const bool reaped,
                     HasKey(open, rocksdb::ReadOptions(), open.tombstones(), client_id, "tombstone of client"));
    if (reaped) {
      return absl::AlreadyExistsError(absl::StrCat("client ", ToAbsl(client_id), " was reaped; its id is not reused"));
    }
    return absl::OkStatus();
  }

  // Delete and Reap (`verb` names which in errors): under the client's lock, reads the client and its last use and,
  // if it is at `expected_version`, lets `also` check it (or refuse, with its status) and add to the batch, then
  // deletes the client and all that is kept with it in that same durable batch.
  template <typename Also>
  absl::Status DeleteAtVersion(std::string_view verb, std::string_view client_id, uint64_t expected_version,
                               Also also) {
    const std::string id(client_id);
    const KeyLockTable::Lock lock(&key_locks_, id);
    CountDeltas deltas{};
    return WriteBatchWithDb(
        kSynced, absl::StrCat(ToAbsl(verb), " client ", id),
        [&](const OpenDb& open, rocksdb::WriteBatch& batch) -> absl::Status {
          ASSIGN_OR_RETURN(const StoredClient stored, ReadForChange(open, id, expected_version));
          ASSIGN_OR_RETURN(const int64_t last_used, ReadLastUsed(open, rocksdb::ReadOptions(), id));
          RETURN_IF_ERROR(also(open, batch, stored, last_used));
          return DeleteClient(open, batch, stored, last_used, deltas);
        },
        &deltas);
  }

  // Adds to `batch` the deletion of `stored` and of all that is kept with it: its token index entry, its last-use
  // record (`last_used`, 0 if none) and its lifecycle index entries; and to `deltas` its leaving its state's count.
  static absl::Status DeleteClient(const OpenDb& open, rocksdb::WriteBatch& batch, const StoredClient& stored,
                                   int64_t last_used, CountDeltas& deltas) {
    const std::string& id = stored.client_id();
    RETURN_IF_ERROR(open.Check(batch.Delete(open.clients(), id), "batch client record"));
    AddToCount(deltas, stored.state(), -1);
    const std::string& token_digest = stored.registration_access_token_digest();
    if (!token_digest.empty()) {
      RETURN_IF_ERROR(open.Check(batch.Delete(open.token_index(), token_digest), "batch token index"));
    }
    // RecordLastUsed writes only for stored clients, under the same lock as every caller, so once this batch lands
    // no entry for the id is left, and a client later created with the same id starts with no last use.
    RETURN_IF_ERROR(open.Check(batch.Delete(open.last_used(), id), "batch last use"));
    return MoveLifecycleEntries(open, batch, id, LifecyclePosition{stored.client_id_issued_at(), last_used},
                                std::nullopt);
  }

  static absl::StatusOr<StoredClient> ReadClient(const OpenDb& open, std::string_view client_id) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = open.db->Get(rocksdb::ReadOptions(), open.clients(), ToSlice(client_id), &value);
    if (status.IsNotFound()) return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " not found"));
    RETURN_IF_ERROR(open.Check(status, absl::StrCat("read client ", ToAbsl(client_id))));
    return ParseRecord(open, ToSlice(client_id), value);
  }

  // The stored client that Update or Delete is about to change, if its version is `expected_version`.
  static absl::StatusOr<StoredClient> ReadForChange(const OpenDb& open, std::string_view client_id,
                                                    uint64_t expected_version) {
    ASSIGN_OR_RETURN(StoredClient stored, ReadClient(open, client_id));
    if (stored.version() != expected_version) {
      return absl::AbortedError(
          absl::StrCat("client ", ToAbsl(client_id), " is at version ", stored.version(), ", not ", expected_version));
    }
    return stored;
  }

  const std::string path_;
  rocksdb::Env* const env_;
  StoreMetrics* const metrics_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  // Shared by every operation; exclusive only while a failed database is replaced.
  // Reader-preferring (glibc), which ScanFrom's visitors rely on: they read from the store while the scan holds the
  // lock shared, and a writer-preferring lock would deadlock them behind a waiting reopen.
  mutable std::shared_mutex mutex_;
  // The generation of the last database opened by Reopen; the first open is 0.
  mutable uint64_t last_generation_ = 0;
  // Null only while the disk refuses a reopen.
  mutable std::unique_ptr<OpenDb> db_;
  // Whether the last write tried failed (CheckHealth).
  std::atomic<bool> last_write_failed_{false};
  // Per client id, held by every check-then-write: Create, Update, Delete, RecordLastUsed and Reap.
  KeyLockTable key_locks_;
  // Last member, so that it is destroyed first: its thread commits what is still queued while the database is open.
  CommitQueue<PendingCreate> creates_{kMaxPendingCreates, kMaxCreateGroup, kCommitters,
                                      [this](std::vector<PendingCreate>& group) { CommitCreates(group); }};
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientStore>> OpenRocksDbClientStore(const std::string& path, rocksdb::Env* env,
                                                                    StoreMetrics* metrics) {
  std::shared_ptr<rocksdb::Cache> block_cache = NewBlockCache();
  ASSIGN_OR_RETURN(std::unique_ptr<OpenDb> db, OpenDatabase(path, env, block_cache, metrics));
  return std::unique_ptr<ClientStore>(
      std::make_unique<RocksDbClientStore>(path, env, metrics, std::move(block_cache), std::move(db)));
}

}  // namespace clientreg::storage
