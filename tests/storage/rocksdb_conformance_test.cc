// The ClientStore conformance suite (client_store_conformance.h) run against the RocksDB store: one database per
// test in a fresh temporary directory, on a file system whose writes a test can make fail.

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "tests/storage/client_store_conformance.h"
#include "tests/support/fault_injection_fs.h"
#include "tests/support/test_files.h"

namespace clientreg::storage {
namespace {

class RocksDbStoreFactory {
 public:
  RocksDbStoreFactory() = default;
  RocksDbStoreFactory(const RocksDbStoreFactory&) = delete;
  RocksDbStoreFactory& operator=(const RocksDbStoreFactory&) = delete;

  ~RocksDbStoreFactory() {
    if (dir_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
    EXPECT_FALSE(error) << "remove " << dir_ << ": " << error.message();
  }

  absl::Status SetUp() {
    dir_ = testing::MakeTestDir("clientreg_conformance_");
    if (dir_.empty()) return absl::InternalError("cannot make a temporary directory");
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<ClientStore>> Open() { return OpenRocksDbClientStore(dir_ + "/db", env_.get()); }

  // Appends and syncs fail, as on a disk that refuses writes: the WAL write of the next change fails.
  void SetWritesFail(bool fail) {
    file_system_->set_fault(fail ? testing::Fault::kAppendAndSync : testing::Fault::kNone);
  }

 private:
  const std::shared_ptr<testing::FaultInjectingFileSystem> file_system_ =
      std::make_shared<testing::FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(file_system_);
  std::string dir_;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, ClientStoreConformanceTest, ::testing::Types<RocksDbStoreFactory>);

}  // namespace clientreg::storage
