#include "storage/rocksdb_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/status.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/rocksdb_status.h"

namespace clientreg::storage {
namespace {

namespace fs = std::filesystem;

// RocksDB writes a checkpoint into this sibling of the target first, then renames it. It empties and removes a
// directory already there without asking, so a name the operator chose must never lead it to one of theirs.
constexpr char kStagingSuffix[] = ".tmp";

// Whether anything, even a dangling link, is at `path`. Unavailable if that cannot be told.
absl::StatusOr<bool> Exists(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  if (status.type() == fs::file_type::not_found) return false;
  if (status.type() == fs::file_type::none) {
    return absl::UnavailableError(absl::StrCat("cannot inspect ", path.string(), ": ", error.message()));
  }
  return true;
}

// Whether `path` is `root` or below it; both are canonical.
bool IsWithin(const fs::path& path, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), path.begin(), path.end()).first == root.end();
}

// The checks of ClientStore::Checkpoint's contract, before RocksDB touches anything. Returns the target without a
// trailing slash.
absl::StatusOr<fs::path> CheckTarget(const std::string& db_path, const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("the backup directory is empty");
  // Relative to what? The caller is rarely in the server's working directory.
  if (!fs::path(dir).is_absolute()) {
    return absl::InvalidArgumentError(absl::StrCat("backup directory ", dir, " is not an absolute path"));
  }
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  for (const fs::path& taken : {target, fs::path(target.string() + kStagingSuffix)}) {
    ASSIGN_OR_RETURN(const bool exists, Exists(taken));
    if (exists) return absl::AlreadyExistsError(absl::StrCat(taken.string(), " already exists"));
  }
  const fs::path parent = target.parent_path();
  std::error_code error;
  if (!fs::is_directory(parent, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the parent of backup directory ", target.string(), " is not an existing directory"));
  }
  const fs::path canonical_parent = fs::canonical(parent, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot resolve ", parent.string(), ": ", error.message()));
  const fs::path canonical_store = fs::canonical(db_path, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot resolve ", db_path, ": ", error.message()));
  // RocksDB would find the backup among its own files, and a restore that replaces the store would delete it.
  if (IsWithin(canonical_parent, canonical_store)) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup directory ", target.string(), " is inside the store's directory ", db_path));
  }
  return target;
}

// 0700 for `dir`, 0600 for every file in it. Under the server's umask 077 RocksDB already creates them so; this
// holds whatever the umask of the process.
absl::Status MakePrivate(const fs::path& dir) {
  using fs::perms;
  std::error_code error;
  fs::permissions(dir, perms::owner_all, error);
  for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator(); it.increment(error)) {
    fs::permissions(it->path(), perms::owner_read | perms::owner_write, error);
    if (error) break;
  }
  if (error) return absl::UnavailableError(absl::StrCat("cannot make ", dir.string(), " private: ", error.message()));
  return absl::OkStatus();
}

absl::Status SyncDirectory(rocksdb::Env& env, const fs::path& dir) {
  std::unique_ptr<rocksdb::Directory> directory;
  RETURN_IF_ERROR(FromRocksDbStatus(env.NewDirectory(dir.string(), &directory), absl::StrCat("open ", dir.string())));
  return FromRocksDbStatus(directory->Fsync(), absl::StrCat("sync ", dir.string()));
}

// After the rename: the permissions, then the syncs RocksDB leaves out. It syncs each copied file and the new
// directory, but not the parent, so without the last sync a power loss could lose the directory's very name.
absl::Status Finish(rocksdb::Env& env, const fs::path& target) {
  RETURN_IF_ERROR(MakePrivate(target));
  RETURN_IF_ERROR(SyncDirectory(env, target));
  return SyncDirectory(env, target.parent_path());
}

}  // namespace

absl::Status WriteRocksDbCheckpoint(rocksdb::DB& db, const std::string& dir) {
  ASSIGN_OR_RETURN(const fs::path target, CheckTarget(db.GetName(), dir));
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  RETURN_IF_ERROR(FromRocksDbStatus(rocksdb::Checkpoint::Create(&db, &raw_checkpoint), "start checkpoint"));
  const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  // log_size_for_flush 0: flush every memtable first, so that the checkpoint is hard links to SST files plus the
  // short tail of the WAL written since, near-instant on one file system. Without the flush up to
  // max_total_wal_size of WAL would be copied. A flush holds writers only while it switches memtables.
  const rocksdb::Status created = checkpoint->CreateCheckpoint(target.string(), /*log_size_for_flush=*/0);
  if (!created.ok()) {
    // Another checkpoint into the same directory may have won since CheckTarget looked.
    const absl::StatusOr<bool> exists = Exists(target);
    if (created.IsInvalidArgument() && exists.ok() && *exists) {
      return absl::AlreadyExistsError(absl::StrCat(target.string(), " already exists"));
    }
    return FromRocksDbStatus(created, absl::StrCat("write checkpoint ", target.string()));
  }
  const absl::Status finished = Finish(*db.GetEnv(), target);
  if (!finished.ok()) {
    // A backup that may not be durable or private is no backup; removing it lets the caller simply retry.
    std::error_code ignored;
    fs::remove_all(target, ignored);
  }
  return finished;
}

}  // namespace clientreg::storage
