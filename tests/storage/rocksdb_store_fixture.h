#ifndef CLIENTREG_TESTS_STORAGE_ROCKSDB_STORE_FIXTURE_H_
#define CLIENTREG_TESTS_STORAGE_ROCKSDB_STORE_FIXTURE_H_

#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/stored.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "storage/store_metrics.h"
#include "tests/status_matchers.h"

// The RocksDB store's tests: a store in a fresh temporary directory, and raw access to its column families.
namespace clientreg::storage {

// A client with every StoredClient field, and every kind of ClientMetadata field, set to a value derived from `id`.
inline clientreg::v1::StoredClient MakeClient(const std::string& id) {
  clientreg::v1::StoredClient client;
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
  client.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
  client.set_origin(clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
  client.set_version(7);
  return client;
}

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

  absl::StatusOr<std::unique_ptr<ClientStore>> Open(rocksdb::Env* env = nullptr, StoreMetrics* metrics = nullptr) {
    return OpenRocksDbClientStore(db_path_, env, metrics);
  }

  // Options of the column family `name` as a tool must open it: the default one with the store's merge operator.
  static rocksdb::ColumnFamilyDescriptor DescriptorFor(const std::string& name) {
    rocksdb::ColumnFamilyDescriptor descriptor(name, rocksdb::ColumnFamilyOptions());
    if (name == rocksdb::kDefaultColumnFamilyName) descriptor.options.merge_operator = NewInt64AddMergeOperator();
    return descriptor;
  }

  // Opens the database with RocksDB's own API, read-only, and returns every entry of `column_family`.
  std::map<std::string, std::string> ReadColumnFamily(const std::string& column_family) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {DescriptorFor(rocksdb::kDefaultColumnFamilyName)};
    if (column_family != rocksdb::kDefaultColumnFamilyName) descriptors.push_back(DescriptorFor(column_family));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw_db = nullptr;
    const rocksdb::Status status =
        rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path_, descriptors, &handles, &raw_db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    std::map<std::string, std::string> entries;
    if (!status.ok()) return entries;
    std::unique_ptr<rocksdb::DB> db(raw_db);
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles.back()));
      for (it->SeekToFirst(); it->Valid(); it->Next()) entries[it->key().ToString()] = it->value().ToString();
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    EXPECT_TRUE(db->Close().ok());
    return entries;
  }

  // Applies `change` to `column_family` with RocksDB's own API, bypassing the store, in one synced write. Opens every
  // column family the database has, as DB::Open requires, plus the old layout's when it is new.
  void ChangeRaw(const std::string& column_family,
                 const std::function<rocksdb::Status(rocksdb::WriteBatch&, rocksdb::ColumnFamilyHandle*)>& change) {
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path_, &names).ok()) {
      names = {rocksdb::kDefaultColumnFamilyName, kClientsColumnFamily, kTokenIndexColumnFamily, kAuditColumnFamily};
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.push_back(DescriptorFor(name));
    std::size_t target = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == column_family) target = i;
    }
    ASSERT_LT(target, names.size()) << "no column family " << column_family;
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw_db = nullptr;
    const rocksdb::Status status = rocksdb::DB::Open(db_options, db_path_, descriptors, &handles, &raw_db);
    ASSERT_TRUE(status.ok()) << status.ToString();
    std::unique_ptr<rocksdb::DB> db(raw_db);
    rocksdb::WriteBatch batch;
    EXPECT_TRUE(change(batch, handles[target]).ok());
    rocksdb::WriteOptions options;
    options.sync = true;
    EXPECT_TRUE(db->Write(options, &batch).ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    EXPECT_TRUE(db->Close().ok());
  }

  // Writes `value` under `key` in `column_family`, as ChangeRaw does.
  void PutRaw(const std::string& column_family, const std::string& key, const std::string& value) {
    ChangeRaw(column_family, [&](rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* handle) {
      return batch.Put(handle, key, value);
    });
  }

  // Deletes `key` from `column_family`, as ChangeRaw does.
  void DeleteRaw(const std::string& column_family, const std::string& key) {
    ChangeRaw(column_family, [&](rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* handle) {
      return batch.Delete(handle, key);
    });
  }

  void PutRawClientRecord(const std::string& key, const std::string& value) {
    PutRaw(kClientsColumnFamily, key, value);
  }

  static std::vector<std::string> VisitedIds(const ClientStore& store) {
    std::vector<std::string> ids;
    const absl::Status status = store.ForEach([&ids](const clientreg::v1::StoredClient& client) {
      ids.push_back(client.client_id());
      return absl::OkStatus();
    });
    EXPECT_OK(status);
    return ids;
  }

  std::string dir_;
  std::string db_path_;
};

inline void ExpectSameClient(const clientreg::v1::StoredClient& actual, const clientreg::v1::StoredClient& expected) {
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(actual, expected))
      << "actual:\n"
      << actual.DebugString() << "expected:\n"
      << expected.DebugString();
}

}  // namespace clientreg::storage

#endif  // CLIENTREG_TESTS_STORAGE_ROCKSDB_STORE_FIXTURE_H_
