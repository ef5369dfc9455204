#include "storage/rocksdb_options.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/table_properties_collectors.h"

namespace clientreg::storage {
namespace {

// Sizes below are set for bench/fill.sh's targets (bench/README.md, "1,000,000 clients"): at 1,000,000 clients at
// most 150 MiB of server RSS, at most 1 KiB of disk per client, and no registration rate lost as the store grows.
// glibc keeps each malloc arena's high-water mark resident, so a budget costs RSS at its peak and more (64 MiB of
// cache + 64 MiB of memtables left the server at 218 MiB after the fill and 40,000 lookups).
//
// One LRU cache shared by every column family: data, index and filter blocks all count against it. 16 MiB holds
// every index and filter block at 1M clients (~5 MB) with room for hot data blocks; uniform reads over ~200 MB of
// SST files miss a 64 MiB cache nearly as often, and the page cache serves those misses.
constexpr std::size_t kBlockCacheBytes = std::size_t{16} << 20;
// Total of all memtables across column families; reaching 7/8 of it flushes the largest. The memtables' peak
// (this plus one being flushed) stays resident in the writer thread's malloc arena.
constexpr std::size_t kWriteBufferBytes = std::size_t{16} << 20;
// Per column family (RocksDB's default is 64 MiB each): clients and token_index, both written by every Create,
// flush at 8 MiB on their own, so one memtable being flushed and the next stay within ~24 MiB together.
constexpr std::size_t kMemtableBytes = std::size_t{8} << 20;
// Small memtables flush small L0 files (~3 MB), and every L0 file overlaps all of the base level (client ids and
// token digests are random), so each L0 compaction rewrites the base level. Sized from the bottom up (dynamic), the
// base level stays about a tenth of the last one. With RocksDB's static 256 MiB L1 instead, flush and compaction CPU
// grew from 3.5 to 25-40 ms per 1,000 registrations over a 1M fill, and the slowest window ran at 0.67 of the first.
constexpr std::uint64_t kBaseLevelBytes = std::uint64_t{64} << 20;
// 16 MiB files instead of 64: a compaction into the last level takes one file and its overlap, in small steps.
constexpr std::uint64_t kTargetFileBytes = std::uint64_t{16} << 20;
// SST files are synced in 1 MiB steps, so a flush or compaction never queues tens of MB of dirty pages in front of
// the WAL's fdatasync, which every registration waits for.
constexpr std::uint64_t kBytesPerSync = std::uint64_t{1} << 20;
// A column family written rarely (last_used) would otherwise keep every WAL file alive until its own memtable
// fills, up to 4 x the sum of all memtable budgets: disk held for nothing and a longer replay at start.
constexpr std::uint64_t kMaxTotalWalBytes = std::uint64_t{64} << 20;
// RocksDB's default (-1) keeps every SST file open, so descriptors would grow with the data.
constexpr int kMaxOpenFiles = 1024;
constexpr int kMaxInfoLogFiles = 10;
// About 1% false positives.
constexpr double kBloomBitsPerKey = 10.0;
// A lifecycle index file with half or more of any 1,000 consecutive entries deleted is compacted at once.
constexpr std::size_t kDeletionWindowEntries = 1000;
constexpr std::size_t kDeletionWindowTrigger = 500;

bool IsCompressionSupported(rocksdb::CompressionType type) {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), type) != supported.end();
}

}  // namespace

std::shared_ptr<rocksdb::Cache> NewBlockCache() { return rocksdb::NewLRUCache(kBlockCacheBytes); }

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
    // Filter blocks sized to what malloc really hands out: less memory lost to rounding, and the cache charges what
    // is really used.
    table.optimize_filters_for_memory = true;
  }

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_size = kMemtableBytes;
  // See kBaseLevelBytes.
  options.level_compaction_dynamic_level_bytes = true;
  options.max_bytes_for_level_base = kBaseLevelBytes;
  options.target_file_size_base = kTargetFileBytes;
  // LZ4 on every level, the bottom one too: ids and token digests are random, so every compaction into the last
  // level rewrites its files, and ZSTD there took 8.4 s of compaction CPU over a 1M fill against LZ4's 5.1 s, to save
  // 13% of the disk (194 against 223 bytes per client). Falls back if this RocksDB build lacks LZ4.
  if (IsCompressionSupported(rocksdb::kLZ4Compression)) {
    options.compression = rocksdb::kLZ4Compression;
  } else if (IsCompressionSupported(rocksdb::kSnappyCompression)) {
    options.compression = rocksdb::kSnappyCompression;
  } else {
    options.compression = rocksdb::kNoCompression;
  }
  return options;
}

rocksdb::ColumnFamilyOptions TimeIndexColumnFamilyOptions(const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::ColumnFamilyOptions options = ColumnFamilyOptionsFor(block_cache, /*point_lookups=*/false);
  // A reaper deletes from the old end of an index, and each use moves a client's idle entry from its old time to
  // now: deletions gather where every pass starts, to be stepped over by each scan until a compaction drops them.
  // A file dense with deletions is compacted as soon as it is written rather than when its level fills. Measured
  // with bench/store_benchmark.cc at 1,000,000 clients, half used and an eighth reaped, the store then reopened: a
  // page with nothing due took 2.3 ms (never used) and 7.0 ms (idle) without this, 2.4 and 1.5 µs with it.
  options.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(kDeletionWindowEntries, kDeletionWindowTrigger));
  return options;
}

rocksdb::DBOptions DbOptions(rocksdb::Env* env) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = kMaxOpenFiles;
  options.db_write_buffer_size = kWriteBufferBytes;
  options.max_total_wal_size = kMaxTotalWalBytes;
  options.bytes_per_sync = kBytesPerSync;
  options.keep_log_file_num = kMaxInfoLogFiles;
  if (env != nullptr) options.env = env;
  return options;
}

}  // namespace clientreg::storage
