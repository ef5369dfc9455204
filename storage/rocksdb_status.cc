#include "storage/rocksdb_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace clientreg::storage {
namespace {

absl::StatusCode CodeFor(const rocksdb::Status& status) {
  // No `default`: -Wswitch (in -Wall) then flags every code a newer RocksDB adds, so the mapping is revisited.
  switch (status.code()) {
    case rocksdb::Status::kOk:
      return absl::StatusCode::kOk;
    case rocksdb::Status::kNotFound:
      return absl::StatusCode::kNotFound;
    case rocksdb::Status::kCorruption:
      return absl::StatusCode::kDataLoss;
    // Each of these means the operation did not take effect for a reason outside the request: a disk that failed or
    // filled up, a WAL sync that failed, write stalls, shutdown. The caller must answer 503, never success, and a
    // retry later may succeed.
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kCompactionTooLarge:
      return absl::StatusCode::kUnavailable;
    // The library or the files on disk lack a feature this build relies on (e.g. a compression type): an operator
    // has to fix the deployment, retrying will not help.
    case rocksdb::Status::kNotSupported:
      return absl::StatusCode::kFailedPrecondition;
    // The store never passes request data to RocksDB unchecked, reads its merged counts only with reads that may
    // do I/O (MergeInProgress comes from those that may not), never uses TTLs and never drops a column family, so
    // each of these is a bug in the store.
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kExpired:
    case rocksdb::Status::kColumnFamilyDropped:
    case rocksdb::Status::kMaxCode:
      return absl::StatusCode::kInternal;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view context) {
  const absl::StatusCode code = CodeFor(status);
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  return absl::Status(code, absl::StrCat(context, ": ", status.ToString()));
}

}  // namespace clientreg::storage
