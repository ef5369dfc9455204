#ifndef CLIENTREG_STORAGE_ROCKSDB_CHECKPOINT_H_
#define CLIENTREG_STORAGE_ROCKSDB_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace clientreg::storage {

// Writes a checkpoint of the open database `db` (every column family) into the new directory `dir`, with its
// environment's file system: what RocksDbClientStore's ClientStore::Checkpoint does, with the same contract and the
// same errors. Only the store's own files: it knows nothing of clients.
[[nodiscard]] absl::Status WriteRocksDbCheckpoint(rocksdb::DB& db, const std::string& dir);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_CHECKPOINT_H_
