#ifndef CLIENTREG_TESTS_SERVER_STORE_FIXTURE_H_
#define CLIENTREG_TESTS_SERVER_STORE_FIXTURE_H_

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/secrets.h"
#include "gtest/gtest.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "tests/status_matchers.h"

namespace clientreg::testing {

// Where the test clock starts.
inline constexpr int64_t kNow = 1'700'000'000;
// The server key of the tests' digests.
inline constexpr char kServerKey[] = "0123456789abcdef0123456789abcdef";

// The digest under which the server stores `secret`.
inline std::string Digest(const std::string& secret) {
  absl::StatusOr<std::string> digest = common::HmacSha256(kServerKey, secret);
  EXPECT_OK(digest);
  return digest.value_or("");
}

// A real RocksDB store in a fresh temporary directory, removed afterwards, and a fake clock at kNow. Fixtures that
// hold objects using the store reset them before calling TearDown().
class ClientStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = ::testing::TempDir() + "clientreg_server_XXXXXX";
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr) << "mkdtemp " << dir_template;
    dir_ = dir_template;
    ASSERT_OK_AND_ASSIGN(store_, storage::OpenRocksDbClientStore(dir_ + "/db"));
  }

  void TearDown() override {
    store_.reset();
    if (dir_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
    EXPECT_FALSE(error) << "remove " << dir_ << ": " << error.message();
  }

  // An active client using `method`, holding `secret` (none when empty) and a registration access token digest.
  static clientreg::v1::StoredClient MakeClient(const std::string& client_id,
                                                const std::string& method = "client_secret_basic",
                                                const std::string& secret = "s3cret") {
    clientreg::v1::StoredClient client;
    client.set_client_id(client_id);
    client.mutable_metadata()->set_token_endpoint_auth_method(method);
    client.mutable_metadata()->set_client_name("Client " + client_id);
    if (!secret.empty()) client.set_client_secret_digest(Digest(secret));
    client.set_registration_access_token_digest(Digest("rat-" + client_id));
    client.set_client_id_issued_at(kNow - 1000);
    client.set_updated_at(kNow - 1000);
    client.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
    client.set_origin(clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
    client.set_version(1);
    return client;
  }

  void Store(const clientreg::v1::StoredClient& client) { ASSERT_OK(store_->Create(client)); }

  // The last use recorded in the store (not what is pending in memory).
  int64_t StoredLastUse(const std::string& client_id) {
    absl::StatusOr<int64_t> last_used = store_->GetLastUsed(client_id);
    EXPECT_OK(last_used);
    return last_used.value_or(-1);
  }

  std::string dir_;
  common::FakeClock clock_{kNow};
  std::unique_ptr<storage::ClientStore> store_;
};

// A ClientStore that forwards every call to a real one; tests override the calls they want to disturb.
class ForwardingClientStore : public storage::ClientStore {
 public:
  // `store` must outlive this one.
  explicit ForwardingClientStore(storage::ClientStore* store) : store_(store) {}

  using storage::ClientStore::CreateAsync;

  absl::Status Create(const clientreg::v1::StoredClient& client) override { return store_->Create(client); }
  void CreateAsync(const clientreg::v1::StoredClient& client, const std::optional<storage::InitialAccessTokenUse>& use,
                   std::function<void(absl::Status)> done) override {
    // A token use must be counted by the real store; without one, Create stays the call tests override.
    if (use.has_value()) return store_->CreateAsync(client, use, std::move(done));
    done(Create(client));
  }
  absl::StatusOr<clientreg::v1::StoredClient> Get(std::string_view client_id) const override {
    return store_->Get(client_id);
  }
  absl::Status ForEach(const std::function<absl::Status(const clientreg::v1::StoredClient&)>& visit) const override {
    return store_->ForEach(visit);
  }
  absl::Status ScanFrom(
      std::string_view start_after,
      const std::function<absl::StatusOr<bool>(const clientreg::v1::StoredClient&)>& visit) const override {
    return store_->ScanFrom(start_after, visit);
  }
  absl::Status Update(const clientreg::v1::StoredClient& client, uint64_t expected_version) override {
    return store_->Update(client, expected_version);
  }
  absl::Status Delete(std::string_view client_id, uint64_t expected_version) override {
    return store_->Delete(client_id, expected_version);
  }
  absl::StatusOr<std::string> FindByTokenDigest(std::string_view token_digest) const override {
    return store_->FindByTokenDigest(token_digest);
  }
  absl::Status RecordLastUsed(const std::vector<std::pair<std::string, int64_t>>& last_used) override {
    return store_->RecordLastUsed(last_used);
  }
  absl::StatusOr<int64_t> GetLastUsed(std::string_view client_id) const override {
    return store_->GetLastUsed(client_id);
  }
  absl::Status CheckHealth() override { return store_->CheckHealth(); }
  absl::StatusOr<storage::ClientCounts> CountClients() const override { return store_->CountClients(); }
  absl::Status Checkpoint(const std::string& dir) override { return store_->Checkpoint(dir); }
  absl::Status CreateInitialAccessToken(const clientreg::v1::StoredInitialAccessToken& token) override {
    return store_->CreateInitialAccessToken(token);
  }
  absl::StatusOr<clientreg::v1::StoredInitialAccessToken> FindInitialAccessToken(
      std::string_view digest) const override {
    return store_->FindInitialAccessToken(digest);
  }
  absl::StatusOr<std::vector<clientreg::v1::StoredInitialAccessToken>> ListInitialAccessTokens() const override {
    return store_->ListInitialAccessTokens();
  }
  absl::StatusOr<clientreg::v1::StoredInitialAccessToken> RevokeInitialAccessToken(std::string_view id,
                                                                                   int64_t now) override {
    return store_->RevokeInitialAccessToken(id, now);
  }
  absl::StatusOr<std::vector<storage::LifecycleEntry>> ListByLifecycle(
      storage::LifecycleIndex index, int64_t before, std::size_t limit,
      const std::optional<storage::LifecycleEntry>& start_after) const override {
    return store_->ListByLifecycle(index, before, limit, start_after);
  }
  absl::Status Reap(const clientreg::v1::StoredTombstone& tombstone, uint64_t expected_version,
                    storage::LifecycleIndex index, int64_t before) override {
    return store_->Reap(tombstone, expected_version, index, before);
  }
  absl::StatusOr<clientreg::v1::StoredTombstone> GetTombstone(std::string_view client_id) const override {
    return store_->GetTombstone(client_id);
  }
  absl::Status ScanTombstones(
      std::string_view start_after,
      const std::function<absl::StatusOr<bool>(const clientreg::v1::StoredTombstone&)>& visit) const override {
    return store_->ScanTombstones(start_after, visit);
  }

 protected:
  storage::ClientStore* store() const { return store_; }

 private:
  storage::ClientStore* store_;
};

// Fails RecordLastUsed while `fail` is set, and counts the calls that reached it.
class FailingLastUseStore final : public ForwardingClientStore {
 public:
  using ForwardingClientStore::ForwardingClientStore;

  absl::Status RecordLastUsed(const std::vector<std::pair<std::string, int64_t>>& last_used) override {
    ++calls;
    if (fail) return absl::UnavailableError("injected write failure");
    return ForwardingClientStore::RecordLastUsed(last_used);
  }

  bool fail = true;
  int calls = 0;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SERVER_STORE_FIXTURE_H_
