#include "storage/rocksdb_client_store.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/stored.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"
#include "rocksdb/options.h"
#include "tests/status_matchers.h"
#include "tests/support/fault_injection_fs.h"

namespace clientreg::storage {
namespace {

using ::clientreg::v1::StoredClient;
using ::google::protobuf::util::MessageDifferencer;

// A client with every StoredClient field, and every kind of ClientMetadata field, set to a value derived from `id`.
StoredClient MakeClient(const std::string& id) {
  StoredClient client;
  client.set_client_id(id);
  clientreg::v1::ClientMetadata& metadata = *client.mutable_metadata();
  metadata.mutable_redirect_uris()->add_values("https://app.example/cb/" + id);
  metadata.mutable_redirect_uris()->add_values("https://app.example/cb2");
  metadata.set_token_endpoint_auth_method("client_secret_basic");
  metadata.mutable_grant_types()->add_values("authorization_code");
  metadata.mutable_grant_types()->add_values("refresh_token");
  metadata.mutable_response_types()->add_values("code");
  metadata.set_client_name("Client " + id);
  metadata.set_client_uri("https://app.example/");
  metadata.set_logo_uri("https://app.example/logo.png");
  metadata.set_scope("read write");
  metadata.mutable_contacts()->add_values("ops@app.example");
  metadata.set_tos_uri("https://app.example/tos");
  metadata.set_policy_uri("https://app.example/policy");
  metadata.set_jwks_uri("https://app.example/jwks.json");
  google::protobuf::Struct& key =
      *(*metadata.mutable_jwks()->mutable_fields())["keys"].mutable_list_value()->add_values()->mutable_struct_value();
  (*key.mutable_fields())["kty"].set_string_value("EC");
  (*key.mutable_fields())["crv"].set_string_value("P-256");
  metadata.set_software_id("agent-" + id);
  metadata.set_software_version("1.2.3");
  metadata.set_application_type("web");
  (*metadata.mutable_client_name_localized())["ja-Jpan-JP"] = "クライアント";
  (*metadata.mutable_client_uri_localized())["fr"] = "https://app.example/fr/";
  (*metadata.mutable_logo_uri_localized())["fr"] = "https://app.example/fr/logo.png";
  (*metadata.mutable_tos_uri_localized())["de"] = "https://app.example/de/tos";
  (*metadata.mutable_policy_uri_localized())["de"] = "https://app.example/de/policy";
  client.set_client_secret_digest("secret-digest-" + id);
  client.set_registration_access_token_digest("token-digest-" + id);
  client.set_client_id_issued_at(1'700'000'000);
  client.set_client_secret_expires_at(1'800'000'000);
  client.set_updated_at(1'700'000'100);
  client.set_last_used_at(1'700'000'200);
  client.set_state(StoredClient::STATE_ACTIVE);
  client.set_origin(StoredClient::ORIGIN_DYNAMIC);
  client.set_version(7);
  return client;
}

using ::clientreg::testing::Fault;
using ::clientreg::testing::FaultInjectingFileSystem;

class RocksDbClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = ::testing::TempDir() + "clientreg_storage_XXXXXX";
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr) << "mkdtemp " << dir_template;
    dir_ = dir_template;
    db_path_ = dir_ + "/db";
  }

  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
    EXPECT_FALSE(error) << "remove " << dir_ << ": " << error.message();
  }

  absl::StatusOr<std::unique_ptr<ClientStore>> Open(rocksdb::Env* env = nullptr) {
    return OpenRocksDbClientStore(db_path_, env);
  }

  // Opens the database with RocksDB's own API, read-only, and returns every entry of `column_family`.
  std::map<std::string, std::string> ReadColumnFamily(const std::string& column_family) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {column_family, rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw_db = nullptr;
    const rocksdb::Status status =
        rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path_, descriptors, &handles, &raw_db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    std::map<std::string, std::string> entries;
    if (!status.ok()) return entries;
    std::unique_ptr<rocksdb::DB> db(raw_db);
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[1]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) entries[it->key().ToString()] = it->value().ToString();
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    EXPECT_TRUE(db->Close().ok());
    return entries;
  }

  // Writes `value` under `key` in the clients column family with RocksDB's own API, bypassing the store.
  void PutRawClientRecord(const std::string& key, const std::string& value) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {kClientsColumnFamily, rocksdb::ColumnFamilyOptions()},
        {kTokenIndexColumnFamily, rocksdb::ColumnFamilyOptions()},
        {kAuditColumnFamily, rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw_db = nullptr;
    const rocksdb::Status status = rocksdb::DB::Open(rocksdb::DBOptions(), db_path_, descriptors, &handles, &raw_db);
    ASSERT_TRUE(status.ok()) << status.ToString();
    std::unique_ptr<rocksdb::DB> db(raw_db);
    rocksdb::WriteOptions options;
    options.sync = true;
    EXPECT_TRUE(db->Put(options, handles[1], key, value).ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    EXPECT_TRUE(db->Close().ok());
  }

  static std::vector<std::string> VisitedIds(const ClientStore& store) {
    std::vector<std::string> ids;
    const absl::Status status = store.ForEach([&ids](const StoredClient& client) {
      ids.push_back(client.client_id());
      return absl::OkStatus();
    });
    EXPECT_OK(status);
    return ids;
  }

  std::string dir_;
  std::string db_path_;
};

void ExpectSameClient(const StoredClient& actual, const StoredClient& expected) {
  EXPECT_TRUE(MessageDifferencer::Equals(actual, expected)) << "actual:\n"
                                                            << actual.DebugString() << "expected:\n"
                                                            << expected.DebugString();
}

TEST_F(RocksDbClientStoreTest, CreateThenGetReturnsEveryField) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient client = MakeClient("c1");
  ASSERT_OK(store->Create(client));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, client);
}

TEST_F(RocksDbClientStoreTest, GetOfMissingIdIsNotFound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->Get("missing").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(store->Create(MakeClient("present")));
  EXPECT_EQ(store->Get("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RocksDbClientStoreTest, CreateOfDuplicateIdIsAlreadyExistsAndKeepsTheOriginal) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));

  StoredClient other = MakeClient("c1");
  other.mutable_metadata()->set_client_name("impostor");
  other.set_registration_access_token_digest("token-digest-impostor");
  EXPECT_EQ(store->Create(other).code(), absl::StatusCode::kAlreadyExists);

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, original);
  store.reset();
  const std::map<std::string, std::string> index = ReadColumnFamily(kTokenIndexColumnFamily);
  EXPECT_EQ(index, (std::map<std::string, std::string>{{"token-digest-c1", "c1"}}));
}

TEST_F(RocksDbClientStoreTest, CreateWithEmptyIdIsInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->Create(MakeClient("")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(VisitedIds(*store).empty());
}

TEST_F(RocksDbClientStoreTest, ForEachVisitsClientsInIdOrder) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_TRUE(VisitedIds(*store).empty());
  for (const char* id : {"m", "b", "zz", "a", "z", "B"}) ASSERT_OK(store->Create(MakeClient(id)));
  // Bytewise order: upper case before lower case.
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"B", "a", "b", "m", "z", "zz"}));
}

TEST_F(RocksDbClientStoreTest, ForEachStopsAtAndReturnsTheFirstError) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_OK(store->Create(MakeClient(id)));
  std::vector<std::string> visited;
  const absl::Status status = store->ForEach([&visited](const StoredClient& client) {
    visited.push_back(client.client_id());
    if (client.client_id() == "b") return absl::CancelledError("enough");
    return absl::OkStatus();
  });
  EXPECT_EQ(status, absl::CancelledError("enough"));
  EXPECT_EQ(visited, (std::vector<std::string>{"a", "b"}));
}

TEST_F(RocksDbClientStoreTest, ForEachReadsASnapshot) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const char* id : {"a", "c"}) ASSERT_OK(store->Create(MakeClient(id)));
  std::vector<std::string> visited;
  const absl::Status status = store->ForEach([&](const StoredClient& client) {
    visited.push_back(client.client_id());
    if (client.client_id() == "a") return store->Create(MakeClient("b"));
    return absl::OkStatus();
  });
  ASSERT_OK(status);
  EXPECT_EQ(visited, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(RocksDbClientStoreTest, ReopenAfterCloseFindsEverything) {
  std::vector<StoredClient> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(MakeClient("client-" + std::to_string(1000 + i)));
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    for (const StoredClient& client : clients) ASSERT_OK(store->Create(client));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const StoredClient& client : clients) {
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get(client.client_id()));
    ExpectSameClient(stored, client);
  }
  EXPECT_EQ(VisitedIds(*store).size(), clients.size());
  EXPECT_EQ(store->Create(clients[0]).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RocksDbClientStoreTest, SecondOpenOfAnOpenStoreIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kUnavailable);
  store.reset();
  EXPECT_OK(Open());
}

TEST_F(RocksDbClientStoreTest, CreateIndexesTheTokenDigest) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK(store->Create(MakeClient("with-token")));
    StoredClient without_token = MakeClient("without-token");
    without_token.clear_registration_access_token_digest();
    ASSERT_OK(store->Create(without_token));
  }
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-with-token", "with-token"}}));
  const std::map<std::string, std::string> clients = ReadColumnFamily(kClientsColumnFamily);
  EXPECT_EQ(clients.size(), 2u);
  EXPECT_TRUE(ReadColumnFamily(kAuditColumnFamily).empty());
}

TEST_F(RocksDbClientStoreTest, UnparsableRecordIsDataLoss) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK(store->Create(MakeClient("good")));
  }
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("broken", "\xff\xff\xff\xff"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->Get("broken").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->ForEach([](const StoredClient&) { return absl::OkStatus(); }).code(), absl::StatusCode::kDataLoss);
  EXPECT_OK(store->Get("good"));
}

TEST_F(RocksDbClientStoreTest, RecordStoredUnderAnotherIdIsDataLoss) {
  ASSERT_OK(Open());
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("alias", MakeClient("real").SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->Get("alias").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RocksDbClientStoreTest, ConcurrentCreatesAreAllReadable) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        if (!store->Create(MakeClient("t" + std::to_string(t) + "-" + std::to_string(i))).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get(id));
      ExpectSameClient(stored, MakeClient(id));
    }
  }
  EXPECT_EQ(VisitedIds(*store).size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(RocksDbClientStoreTest, ConcurrentCreatesOfOneIdLetExactlyOneWin) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = "contended-" + std::to_string(round);
    std::atomic<int> created{0};
    std::atomic<int> already_exists{0};
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        StoredClient client = MakeClient(id);
        client.set_registration_access_token_digest("digest-" + id + "-thread-" + std::to_string(t));
        start.arrive_and_wait();
        const absl::Status status = store->Create(client);
        if (status.ok()) ++created;
        if (status.code() == absl::StatusCode::kAlreadyExists) ++already_exists;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(created.load(), 1) << id;
    EXPECT_EQ(already_exists.load(), kThreads - 1) << id;
  }
  // Only the winner's digest was indexed, and it is the one in the stored record.
  std::map<std::string, std::string> expected_index;
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = "contended-" + std::to_string(round);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get(id));
    expected_index.emplace(stored.registration_access_token_digest(), id);
  }
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily), expected_index);
}

TEST_F(RocksDbClientStoreTest, FailedWriteIsUnavailableAndLeavesNothingBehind) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient before = MakeClient("before");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(before));

    file_system->set_fault(Fault::kAppendAndSync);
    EXPECT_EQ(store->Create(MakeClient("failed")).code(), absl::StatusCode::kUnavailable);
    file_system->set_fault(Fault::kNone);

    EXPECT_EQ(store->Get("failed").status().code(), absl::StatusCode::kNotFound);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("before"));
    ExpectSameClient(stored, before);
    // Once the disk works again, so does the open store: one failed write is not a permanent outage.
    ASSERT_OK(store->Create(MakeClient("recovered")));
    ASSERT_OK(store->Get("recovered").status());
  }
  // After a failed WAL write RocksDB may refuse further writes until reopened; reopen without faults.
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    EXPECT_EQ(store->Get("failed").status().code(), absl::StatusCode::kNotFound);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("before"));
    ExpectSameClient(stored, before);
    EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"before", "recovered"}));
    ASSERT_OK(store->Create(MakeClient("after")));
  }
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-after", "after"},
                                                {"token-digest-before", "before"},
                                                {"token-digest-recovered", "recovered"}}));
}

TEST_F(RocksDbClientStoreTest, FailedSyncIsUnavailableAndNeverHalfWritten) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient before = MakeClient("before");
  const StoredClient failed = MakeClient("failed");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(before));
    file_system->set_fault(Fault::kSyncOnly);
    EXPECT_EQ(store->Create(failed).code(), absl::StatusCode::kUnavailable);
    file_system->set_fault(Fault::kNone);
  }
  bool failed_is_present = false;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("before"));
    ExpectSameClient(stored, before);
    // The data reached the file before the sync failed, so it may be replayed; if so, all of it.
    const absl::StatusOr<StoredClient> maybe_failed = store->Get("failed");
    failed_is_present = maybe_failed.ok();
    if (failed_is_present) {
      ExpectSameClient(*maybe_failed, failed);
    } else {
      EXPECT_EQ(maybe_failed.status().code(), absl::StatusCode::kNotFound);
    }
  }
  std::map<std::string, std::string> expected_index = {{"token-digest-before", "before"}};
  if (failed_is_present) expected_index.emplace("token-digest-failed", "failed");
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily), expected_index);
}

}  // namespace
}  // namespace clientreg::storage
