#include "storage/rocksdb_status.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "rocksdb/io_status.h"
#include "rocksdb/status.h"

namespace clientreg::storage {
namespace {

struct Case {
  rocksdb::Status from;
  absl::StatusCode to;
};

TEST(FromRocksDbStatusTest, MapsEveryCode) {
  const Case cases[] = {
      {rocksdb::Status::NotFound("k"), absl::StatusCode::kNotFound},
      {rocksdb::Status::Corruption("bad block"), absl::StatusCode::kDataLoss},
      {rocksdb::Status::IOError("disk"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::NoSpace("full"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::PathNotFound("gone"), absl::StatusCode::kUnavailable},
      {rocksdb::IOStatus::IOFenced("fenced"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Busy("stall"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TimedOut("slow"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TryAgain("later"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::ShutdownInProgress("closing"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Incomplete("partial"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Aborted("aborted"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::CompactionTooLarge("big"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::NotSupported("zstd"), absl::StatusCode::kFailedPrecondition},
      {rocksdb::Status::InvalidArgument("cf"), absl::StatusCode::kInternal},
      {rocksdb::Status::MergeInProgress("m"), absl::StatusCode::kInternal},
      {rocksdb::Status::Expired("ttl"), absl::StatusCode::kInternal},
      {rocksdb::Status::ColumnFamilyDropped("cf"), absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FromRocksDbStatus(c.from, "op").code(), c.to) << c.from.ToString();
  }
}

TEST(FromRocksDbStatusTest, OkIsOk) { EXPECT_TRUE(FromRocksDbStatus(rocksdb::Status::OK(), "op").ok()); }

TEST(FromRocksDbStatusTest, MessageHasContextAndRocksDbText) {
  const absl::Status status = FromRocksDbStatus(rocksdb::Status::NoSpace("while appending to WAL"), "write client c1");
  const std::string message(status.message());
  EXPECT_EQ(message.rfind("write client c1: ", 0), 0u) << message;
  EXPECT_NE(message.find("IO error"), std::string::npos) << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
  EXPECT_NE(message.find("while appending to WAL"), std::string::npos) << message;
}

}  // namespace
}  // namespace clientreg::storage
