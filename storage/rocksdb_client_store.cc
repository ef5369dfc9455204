#include "storage/rocksdb_client_store.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb_status.h"

namespace clientreg::storage {
namespace {

using ::clientreg::v1::StoredClient;

// One LRU cache shared by every column family: data, index and filter blocks all count against it.
constexpr std::size_t kBlockCacheBytes = std::size_t{64} << 20;
// Total of all memtables across column families; reaching it triggers a flush.
constexpr std::size_t kWriteBufferBytes = std::size_t{64} << 20;
// RocksDB's default (-1) keeps every SST file open, so descriptors would grow with the data.
constexpr int kMaxOpenFiles = 1024;
constexpr int kMaxInfoLogFiles = 10;
// About 1% false positives.
constexpr double kBloomBitsPerKey = 10.0;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
absl::string_view ToAbsl(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Serializes work on one key while leaving other keys alone. The table's mutex is held only to add or remove a key,
// never while the holder does I/O.
class KeyLockTable {
 public:
  // Holds `key` from construction to destruction, waiting first for any other holder of the same key.
  class Lock {
   public:
    Lock(KeyLockTable* table, std::string key) : table_(table), key_(std::move(key)) {
      absl::MutexLock lock(&table_->mu_);
      const auto is_free = [this]()
                               ABSL_EXCLUSIVE_LOCKS_REQUIRED(table_->mu_) { return !table_->held_.contains(key_); };
      table_->mu_.Await(absl::Condition(&is_free));
      table_->held_.insert(key_);
    }
    ~Lock() {
      absl::MutexLock lock(&table_->mu_);
      table_->held_.erase(key_);
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    KeyLockTable* const table_;
    const std::string key_;
  };

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

bool IsCompressionSupported(rocksdb::CompressionType type) {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), type) != supported.end();
}

rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(const std::shared_ptr<rocksdb::Cache>& block_cache,
                                                    bool point_lookups) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  // Index and filter blocks live in the bounded cache rather than on the heap, so memory stays bounded however many
  // clients are stored; pinning L0's keeps the hottest of them from being evicted by data blocks.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  if (point_lookups) {
    // Create looks up an id that almost never exists: the filter answers that from memory instead of reading a
    // block from every level.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  }

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 is cheap enough for the upper levels, which are rewritten often; ZSTD packs the bottom level, which holds
  // most of the data and is rewritten least. Each falls back if this RocksDB build lacks it.
  if (IsCompressionSupported(rocksdb::kLZ4Compression)) {
    options.compression = rocksdb::kLZ4Compression;
  } else if (IsCompressionSupported(rocksdb::kSnappyCompression)) {
    options.compression = rocksdb::kSnappyCompression;
  } else {
    options.compression = rocksdb::kNoCompression;
  }
  if (IsCompressionSupported(rocksdb::kZSTD)) options.bottommost_compression = rocksdb::kZSTD;
  return options;
}

rocksdb::DBOptions DbOptions(rocksdb::Env* env) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = kMaxOpenFiles;
  options.db_write_buffer_size = kWriteBufferBytes;
  options.keep_log_file_num = kMaxInfoLogFiles;
  if (env != nullptr) options.env = env;
  return options;
}

// A stored record must parse and must name the key it is stored under; anything else is corruption that the
// checksums did not catch (or a bug that wrote the wrong record), and must not be served as a client.
absl::StatusOr<StoredClient> ParseRecord(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  StoredClient client;
  if (value.size() > static_cast<std::size_t>(INT_MAX) ||
      !client.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("stored record for client ", ToAbsl(key), " does not parse"));
  }
  if (client.client_id() != std::string_view(key.data(), key.size())) {
    return absl::DataLossError(
        absl::StrCat("stored record under client ", ToAbsl(key), " names client ", client.client_id()));
  }
  return client;
}

// Column family handles in the order OpenDatabase opens them.
enum HandleIndex : std::size_t { kDefault = 0, kClients, kTokenIndex, kAudit, kHandleCount };

// One open RocksDB instance and its column family handles, closed on destruction.
struct OpenDb {
  std::string path;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  rocksdb::ColumnFamilyHandle* clients() const { return handles[kClients]; }
  rocksdb::ColumnFamilyHandle* token_index() const { return handles[kTokenIndex]; }

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

absl::StatusOr<std::unique_ptr<OpenDb>> OpenDatabase(const std::string& path, rocksdb::Env* env,
                                                     const std::shared_ptr<rocksdb::Cache>& block_cache) {
  std::vector<rocksdb::ColumnFamilyDescriptor> column_families(kHandleCount);
  column_families[kDefault] = {rocksdb::kDefaultColumnFamilyName,
                               ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/false)};
  column_families[kClients] = {kClientsColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  column_families[kTokenIndex] = {kTokenIndexColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/true)};
  // The change log is only ever scanned in order, so a filter would be memory spent for nothing.
  column_families[kAudit] = {kAuditColumnFamily, ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/false)};

  auto open = std::make_unique<OpenDb>();
  open->path = path;
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(FromRocksDbStatus(rocksdb::DB::Open(DbOptions(env), path, column_families, &open->handles, &db),
                                    absl::StrCat("open RocksDB at ", path)));
  open->db.reset(db);
  return open;
}

class RocksDbClientStore final : public ClientStore {
 public:
  RocksDbClientStore(std::string path, rocksdb::Env* env, std::shared_ptr<rocksdb::Cache> block_cache,
                     std::unique_ptr<OpenDb> db)
      : path_(std::move(path)), env_(env), block_cache_(std::move(block_cache)), db_(std::move(db)) {}

  absl::Status Create(const StoredClient& client) override {
    const std::string& client_id = client.client_id();
    if (client_id.empty()) return absl::InvalidArgumentError("client_id is empty");
    std::string record;
    if (!client.SerializeToString(&record)) {
      return absl::InternalError(absl::StrCat("cannot serialize client ", client_id));
    }

    // Check-then-write is made atomic per id. Ids drawn from the CSPRNG (128+ bits) never collide, but an id chosen
    // by an operator, or a retried Create racing its first attempt, could; without the lock both writes would
    // return OK and the second would silently replace the first. Creates of different ids never wait for each
    // other and no lock is held across the sync write of another id, so concurrent writers still reach RocksDB
    // together and share one WAL sync through its group commit.
    const KeyLockTable::Lock lock(&create_locks_, client_id);
    const OpenDb* failed_db = nullptr;
    const absl::Status status = WithDb([&](const OpenDb& open) -> absl::Status {
      ASSIGN_OR_RETURN(const bool exists, Exists(open, client_id));
      if (exists) return absl::AlreadyExistsError(absl::StrCat("client ", client_id, " already exists"));

      // Record and index in one batch: RocksDB applies a batch whole or not at all, also across a crash.
      rocksdb::WriteBatch batch;
      RETURN_IF_ERROR(FromRocksDbStatus(batch.Put(open.clients(), client_id, record), "batch client record"));
      const std::string& token_digest = client.registration_access_token_digest();
      // Digests are HMACs of 256-bit random tokens, so a digest already indexed for another client cannot occur
      // in practice, and looking it up would cost a read on every Create.
      if (!token_digest.empty()) {
        RETURN_IF_ERROR(FromRocksDbStatus(batch.Put(open.token_index(), token_digest, client_id), "batch token index"));
      }
      rocksdb::WriteOptions options;
      // sync=true: the WAL is fdatasync'ed before Write returns, so a 201 survives a crash or power loss.
      // Concurrent writers are batched by RocksDB's group commit into one sync.
      options.sync = true;
      const rocksdb::Status written = open.db->Write(options, &batch);
      if (!written.ok()) failed_db = &open;
      return FromRocksDbStatus(written, absl::StrCat("write client ", client_id));
    });
    if (failed_db != nullptr) Reopen(failed_db, status);
    return status;
  }

  absl::StatusOr<StoredClient> Get(std::string_view client_id) const override {
    return WithDb([&](const OpenDb& open) -> absl::StatusOr<StoredClient> {
      rocksdb::PinnableSlice value;
      const rocksdb::Status status = open.db->Get(rocksdb::ReadOptions(), open.clients(), ToSlice(client_id), &value);
      if (status.IsNotFound()) return absl::NotFoundError(absl::StrCat("client ", ToAbsl(client_id), " not found"));
      RETURN_IF_ERROR(FromRocksDbStatus(status, absl::StrCat("read client ", ToAbsl(client_id))));
      return ParseRecord(ToSlice(client_id), value);
    });
  }

  absl::Status ForEach(const std::function<absl::Status(const StoredClient&)>& visit) const override {
    return WithDb([&](const OpenDb& open) -> absl::Status {
      // Declared before the iterator, so it is released after it.
      rocksdb::ManagedSnapshot snapshot(open.db.get());
      rocksdb::ReadOptions options;
      options.snapshot = snapshot.snapshot();
      // A full scan would otherwise evict the blocks that point lookups keep hot.
      options.fill_cache = false;
      const std::unique_ptr<rocksdb::Iterator> it(open.db->NewIterator(options, open.clients()));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ASSIGN_OR_RETURN(const StoredClient client, ParseRecord(it->key(), it->value()));
        RETURN_IF_ERROR(visit(client));
      }
      // Valid() turns false on an error as well as at the end; only status() tells them apart.
      return FromRocksDbStatus(it->status(), "scan clients");
    });
  }

 private:
  // Runs `operation` on the open database under the shared lock. When a failed reopen left none, tries to open it
  // again first, so the store heals as soon as the disk does.
  template <typename Operation>
  auto WithDb(Operation operation) const -> decltype(operation(std::declval<const OpenDb&>())) {
    {
      const std::shared_lock<std::shared_mutex> lock(mutex_);
      if (db_ != nullptr) return operation(*db_);
    }
    Reopen(nullptr, absl::UnavailableError("no open database"));
    const std::shared_lock<std::shared_mutex> lock(mutex_);
    if (db_ != nullptr) return operation(*db_);
    return absl::UnavailableError(absl::StrCat("the store at ", path_, " cannot be opened"));
  }

  // RocksDB 7.8 keeps refusing writes after a failed WAL write, and Resume() cannot clear that; only a reopen
  // (which replays the WAL, as a restart would) can. One failed disk write must not become 503s until a restart.
  // `failed` is the database that failed (null: none is open); if another thread has replaced it meanwhile, the
  // new one is left alone.
  void Reopen(const OpenDb* failed, const absl::Status& failure) const {
    const std::unique_lock<std::shared_mutex> lock(mutex_);
    if (db_.get() != failed) return;
    db_.reset();
    absl::StatusOr<std::unique_ptr<OpenDb>> reopened = OpenDatabase(path_, env_, block_cache_);
    if (reopened.ok()) {
      db_ = *std::move(reopened);
      common::Log(common::LogLevel::kWarning, "rocksdb_reopened",
                  {{"path", path_}, {"after", std::string(failure.message())}});
    } else if (failed != nullptr) {
      // Logged once per outage: while the disk keeps failing, every operation retries quietly.
      common::Log(common::LogLevel::kError, "rocksdb_reopen_failed",
                  {{"path", path_}, {"error", std::string(reopened.status().message())}});
    }
  }

  static absl::StatusOr<bool> Exists(const OpenDb& open, const std::string& client_id) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = open.db->Get(rocksdb::ReadOptions(), open.clients(), client_id, &value);
    if (status.IsNotFound()) return false;
    RETURN_IF_ERROR(FromRocksDbStatus(status, absl::StrCat("read client ", client_id)));
    return true;
  }

  const std::string path_;
  rocksdb::Env* const env_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  // Shared by every operation; exclusive only while a failed database is replaced.
  mutable std::shared_mutex mutex_;
  // Null only while the disk refuses a reopen.
  mutable std::unique_ptr<OpenDb> db_;
  KeyLockTable create_locks_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientStore>> OpenRocksDbClientStore(const std::string& path, rocksdb::Env* env) {
  std::shared_ptr<rocksdb::Cache> block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  ASSIGN_OR_RETURN(std::unique_ptr<OpenDb> db, OpenDatabase(path, env, block_cache));
  return std::unique_ptr<ClientStore>(
      std::make_unique<RocksDbClientStore>(path, env, std::move(block_cache), std::move(db)));
}

}  // namespace clientreg::storage
