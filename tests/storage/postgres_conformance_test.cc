// The ClientStore conformance suite (client_store_conformance.h) run against the PostgreSQL store: one private
// PostgreSQL server per test (ctest runs each test in its own process), whose writes a test makes fail by stopping
// the server, as a PostgreSQL deployment fails: the database goes away, and comes back.

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/client_store.h"
#include "storage/postgres_client_store.h"
#include "tests/status_matchers.h"
#include "tests/storage/client_store_conformance.h"
#include "tests/support/test_postgres.h"

namespace clientreg::storage {
namespace {

class PostgresStoreFactory {
 public:
  PostgresStoreFactory() = default;
  PostgresStoreFactory(const PostgresStoreFactory&) = delete;
  PostgresStoreFactory& operator=(const PostgresStoreFactory&) = delete;

  absl::Status SetUp() {
    absl::StatusOr<std::unique_ptr<testing::TestPostgres>> server = testing::TestPostgres::Start();
    if (!server.ok()) return server.status();
    server_ = *std::move(server);
    return absl::OkStatus();
  }

  // A small pool, so that the suite's concurrent tests wait for connections as a busy server does.
  absl::StatusOr<std::unique_ptr<ClientStore>> Open() {
    PostgresStoreOptions options;
    options.dsn = server_->dsn();
    options.pool_size = 4;
    options.connect_timeout = std::chrono::milliseconds(2000);
    return OpenPostgresClientStore(options);
  }

  // The database goes away (a fast stop closes every connection) and comes back with its data.
  void SetWritesFail(bool fail) {
    if (fail) {
      EXPECT_OK(server_->Stop());
    } else {
      EXPECT_OK(server_->Restart());
    }
  }

 private:
  std::unique_ptr<testing::TestPostgres> server_;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ClientStoreConformanceTest, ::testing::Types<PostgresStoreFactory>);

}  // namespace clientreg::storage
