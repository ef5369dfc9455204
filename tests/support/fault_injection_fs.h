#ifndef CLIENTREG_TESTS_SUPPORT_FAULT_INJECTION_FS_H_
#define CLIENTREG_TESTS_SUPPORT_FAULT_INJECTION_FS_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"
#include "tests/support/writable_file_wrapping_fs.h"

namespace clientreg::testing {

// Which writes the fault-injecting file system fails.
enum class Fault { kNone, kAppendAndSync, kSyncOnly };

// Fails writes and syncs of every file opened for writing while its fault is set, as a failing disk would.
class FaultInjectingWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultInjectingWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<Fault>* fault)
      : FSWritableFileOwnerWrapper(std::move(file)), fault_(fault) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (FailAppend()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& verification_info,
                           rocksdb::IODebugContext* dbg) override {
    if (FailAppend()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::Append(data, options, verification_info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (FailAppend()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& verification_info,
                                     rocksdb::IODebugContext* dbg) override {
    if (FailAppend()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, verification_info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (FailSync()) return rocksdb::IOStatus::IOError("injected sync failure");
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (FailSync()) return rocksdb::IOStatus::IOError("injected fsync failure");
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool FailAppend() const { return fault_->load() == Fault::kAppendAndSync; }
  bool FailSync() const { return fault_->load() != Fault::kNone; }

  const std::atomic<Fault>* const fault_;
};

class FaultInjectingFileSystem : public WritableFileWrappingFileSystem {
 public:
  explicit FaultInjectingFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : WritableFileWrappingFileSystem(target) {}

  const char* Name() const override { return "FaultInjectingFileSystem"; }

  void set_fault(Fault fault) { fault_.store(fault); }

 protected:
  std::unique_ptr<rocksdb::FSWritableFile> Wrap(std::unique_ptr<rocksdb::FSWritableFile> file) override {
    return std::make_unique<FaultInjectingWritableFile>(std::move(file), &fault_);
  }

 private:
  std::atomic<Fault> fault_{Fault::kNone};
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_FAULT_INJECTION_FS_H_
