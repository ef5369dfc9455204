#ifndef CLIENTREG_STORAGE_ROCKSDB_OPTIONS_H_
#define CLIENTREG_STORAGE_ROCKSDB_OPTIONS_H_

#include <memory>

#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace clientreg::storage {

// The block cache every column family of one store shares: data, index and filter blocks all count against it, so
// the store's memory stays bounded however many clients it holds.
std::shared_ptr<rocksdb::Cache> NewBlockCache();

// Options of one column family. `point_lookups`: it is read by key (a bloom filter pays off); otherwise only
// scanned in order.
rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(const std::shared_ptr<rocksdb::Cache>& block_cache,
                                                    bool point_lookups);

// Options of a column family ordered by time that loses its oldest keys as fast as it gains new ones (the lifecycle
// indexes): scanned in order from the oldest, like ColumnFamilyOptionsFor(block_cache, false).
rocksdb::ColumnFamilyOptions TimeIndexColumnFamilyOptions(const std::shared_ptr<rocksdb::Cache>& block_cache);

// Options of the database; `env` replaces RocksDB's default environment unless null.
rocksdb::DBOptions DbOptions(rocksdb::Env* env);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_OPTIONS_H_
