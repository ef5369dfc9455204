#ifndef CLIENTREG_STORAGE_ROCKSDB_STATUS_H_
#define CLIENTREG_STORAGE_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace clientreg::storage {

// Converts a RocksDB status into an absl::Status. This is the only place where that mapping is made.
//
//   OK                                              -> OK
//   NotFound                                        -> NotFound
//   Corruption                                      -> DataLoss
//   IOError (any subcode, incl. no space), Busy,
//   TimedOut, TryAgain, ShutdownInProgress,
//   Incomplete, Aborted, CompactionTooLarge         -> Unavailable (the operation did not take effect; 503)
//   NotSupported                                    -> FailedPrecondition (this RocksDB build or DB lacks a feature)
//   InvalidArgument, MergeInProgress, Expired,
//   ColumnFamilyDropped, anything unknown           -> Internal (the store used RocksDB in a way it never should)
//
// A failed write therefore never maps to OK or to a client error. The message is `context`, then ": ", then
// RocksDB's own text (which names the code and subcode, e.g. "IO error: No space left on device: ...").
[[nodiscard]] absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view context);

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_STATUS_H_
