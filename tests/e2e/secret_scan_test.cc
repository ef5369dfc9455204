// Registers clients, then reads every key and value of every RocksDB column family and every file of the data dir:
// no issued client secret, registration access token or initial access token may appear in plaintext (spec.md §7,
// checklist 70), while its digest must (so the scan really sees the records).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "common/secrets.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/rocksdb_client_store.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

class SecretScanTest : public ServiceFixture {};

TEST_F(SecretScanTest, NoPlaintextSecretInAnyKeyOrValue) {
  server_config_.mutable_initial_access_tokens()->set_mode("optional");
  StartServer();
  StartGateway();
  std::vector<std::string> secrets;
  // Initial access tokens, one of them used: its record and the client both hold only its digest and id.
  const auto admin = clientreg::v1::ClientAdmin::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    clientreg::v1::CreateInitialAccessTokenRequest request;
    request.set_label("scan");
    request.set_max_uses(2);
    clientreg::v1::CreateInitialAccessTokenResponse created;
    grpc::ClientContext context;
    ASSERT_TRUE(admin->CreateInitialAccessToken(&context, request, &created).ok());
    ASSERT_EQ(created.initial_access_token().size(), 43u);
    secrets.push_back(created.initial_access_token());
  }
  const auto invited =
      RoundTrip(http_port(), PostRequest("/oauth/register", R"({"redirect_uris":["https://c.example/cb"]})",
                                         "application/json", "Authorization: Bearer " + secrets.front() + "\r\n"));
  ASSERT_TRUE(invited.has_value());
  ASSERT_EQ(invited->status, 201);
  for (int i = 0; i < 25; ++i) {
    const char* method = i % 2 == 0 ? "client_secret_basic" : "client_secret_post";
    const auto response = RoundTrip(
        http_port(), PostRequest("/oauth/register", std::string(R"({"redirect_uris":["https://c.example/cb"],)") +
                                                        R"("token_endpoint_auth_method":")" + method + "\"}"));
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->status, 201);
    secrets.push_back(JsonView(response->body).String("client_secret").value_or(""));
    ASSERT_EQ(secrets.back().size(), 43u);
    secrets.push_back(JsonView(response->body).String("registration_access_token").value_or(""));
    ASSERT_EQ(secrets.back().size(), 43u);
  }
  StopGateway();
  StopServer();

  ASSERT_OK_AND_ASSIGN(const std::string key, common::LoadOrCreateServerKey(data_dir() + "/server.key"));
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), store_path(), &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& family : families) {
    descriptors.emplace_back(family, rocksdb::ColumnFamilyOptions());
    // The default column family's client counts are merges, which RocksDB reads only through the store's operator.
    if (family == rocksdb::kDefaultColumnFamilyName) {
      descriptors.back().options.merge_operator = storage::NewInt64AddMergeOperator();
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), store_path(), descriptors, &handles, &raw_db).ok());
  std::unique_ptr<rocksdb::DB> db(raw_db);

  std::string everything;
  int records = 0;
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handle));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      everything.append(it->key().data(), it->key().size());
      everything.append(it->value().data(), it->value().size());
      ++records;
    }
    ASSERT_TRUE(it->status().ok());
  }
  EXPECT_GE(records, 25);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << "plaintext secret found in the store";
    ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(key, secret));
    EXPECT_NE(everything.find(digest), std::string::npos) << "digest missing: the scan did not see the record";
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());

  // Nor in any file of the data dir as bytes on disk: WAL, SST files, MANIFEST, RocksDB's own LOG, the key file.
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    for (const std::string& secret : secrets) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "plaintext secret in " << entry.path();
    }
  }
  EXPECT_GT(files, 3);
}

}  // namespace
}  // namespace clientreg::testing
