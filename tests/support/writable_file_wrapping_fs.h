#ifndef CLIENTREG_TESTS_SUPPORT_WRITABLE_FILE_WRAPPING_FS_H_
#define CLIENTREG_TESTS_SUPPORT_WRITABLE_FILE_WRAPPING_FS_H_

#include <memory>
#include <string>
#include <utility>

#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"

namespace clientreg::testing {

// A RocksDB file system that hands every file it opens for writing (new, reopened or reused, which covers the WAL,
// SST, MANIFEST and OPTIONS files) through Wrap() first. The fault-injecting file system of the tests and the
// sync-skipping one of the store benchmark differ only in that wrapper.
class WritableFileWrappingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit WritableFileWrappingFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    return WrapIfOpened(target()->NewWritableFile(name, options, result, dbg), result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    return WrapIfOpened(target()->ReopenWritableFile(name, options, result, dbg), result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    return WrapIfOpened(target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
  }

 protected:
  // The file RocksDB will write through, wrapping `file`.
  virtual std::unique_ptr<rocksdb::FSWritableFile> Wrap(std::unique_ptr<rocksdb::FSWritableFile> file) = 0;

 private:
  rocksdb::IOStatus WrapIfOpened(rocksdb::IOStatus status, std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (status.ok()) *result = Wrap(std::move(*result));
    return status;
  }
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_WRITABLE_FILE_WRAPPING_FS_H_
