#include "storage/rocksdb_options.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace clientreg::storage {
namespace {

// One LRU cache shared by every column family: data, index and filter blocks all count against it.
constexpr std::size_t kBlockCacheBytes = std::size_t{64} << 20;
// Total of all memtables across column families; reaching it triggers a flush.
constexpr std::size_t kWriteBufferBytes = std::size_t{64} << 20;
// RocksDB's default (-1) keeps every SST file open, so descriptors would grow with the data.
constexpr int kMaxOpenFiles = 1024;
constexpr int kMaxInfoLogFiles = 10;
// About 1% false positives.
constexpr double kBloomBitsPerKey = 10.0;

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

}  // namespace clientreg::storage
