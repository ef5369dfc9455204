// A registration whose durable write fails gets 503, never 201, and leaves nothing half-written; the service
// registers again once the disk works.
#include <string>

#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "storage/rocksdb_client_store.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/fault_injection_fs.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

class FailedWriteTest : public ServiceFixture {};

TEST_F(FailedWriteTest, FailedWriteIs503AndNothingIsStored) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(auto store, storage::OpenRocksDbClientStore(store_path(), env.get()));
  StartServer(std::move(store));
  StartGateway();
  const std::string request = PostRequest("/oauth/register", R"({"redirect_uris":["https://c.example/cb"]})");

  const auto before = RoundTrip(http_port(), request);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(before->status, 201);
  const std::string stored_id = JsonView(before->body).String("client_id").value_or("");

  file_system->set_fault(Fault::kAppendAndSync);
  const auto failed = RoundTrip(http_port(), request);
  file_system->set_fault(Fault::kNone);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, 503) << failed->body;
  EXPECT_EQ(failed->Header("cache-control"), "no-store");
  EXPECT_FALSE(failed->Header("retry-after").empty());
  const JsonView error(failed->body);
  EXPECT_EQ(error.String("error"), "temporarily_unavailable");
  EXPECT_FALSE(error.Has("client_id"));
  EXPECT_FALSE(error.Has("client_secret"));

  // The disk works again: so does registration, without a restart.
  const auto after = RoundTrip(http_port(), request);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 201) << after->body;
  const std::string after_id = JsonView(after->body).String("client_id").value_or("");

  StopGateway();
  StopServer();
  ASSERT_OK_AND_ASSIGN(auto reopened, storage::OpenRocksDbClientStore(store_path()));
  std::vector<std::string> ids;
  ASSERT_OK(reopened->ForEach([&](const clientreg::v1::StoredClient& client) {
    ids.push_back(client.client_id());
    EXPECT_FALSE(client.client_secret_digest().empty());
    EXPECT_TRUE(client.metadata().has_redirect_uris());
    return absl::OkStatus();
  }));
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected = {stored_id, after_id};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected) << "only the two acknowledged clients may be stored";
}

}  // namespace
}  // namespace clientreg::testing
