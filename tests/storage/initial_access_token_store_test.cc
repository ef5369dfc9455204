// Initial access tokens in the RocksDB store: their records, revocation, and the use a Create consumes in its own
// write, including the last use raced by many threads.
#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "clientreg/v1/stored.pb.h"
#include "gtest/gtest.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"

namespace clientreg::storage {
namespace {

using ::clientreg::testing::kNow;
using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredInitialAccessToken;

class InitialAccessTokenStoreTest : public testing::ClientStoreFixture {
 protected:
  static StoredInitialAccessToken MakeToken(const std::string& id, uint32_t max_uses = 0, int64_t expires_at = 0) {
    StoredInitialAccessToken token;
    token.set_id(id);
    token.set_digest(testing::Digest("iat-" + id));
    token.set_label("label " + id);
    token.set_created_at(kNow - 10);
    token.set_expires_at(expires_at);
    token.set_max_uses(max_uses);
    token.mutable_policy()->add_allowed_redirect_hosts("app.example");
    return token;
  }

  // CreateAsync with a use of `token_id` at kNow, waited for.
  absl::Status CreateUsing(const std::string& client_id, const std::string& token_id) {
    absl::Status result;
    absl::Notification done;
    store_->CreateAsync(MakeClient(client_id), InitialAccessTokenUse{token_id, kNow}, [&](absl::Status status) {
      result = status;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  uint32_t Uses(const std::string& id) {
    absl::StatusOr<StoredInitialAccessToken> token = store_->FindInitialAccessToken(testing::Digest("iat-" + id));
    EXPECT_OK(token);
    return token.ok() ? token->uses() : 0;
  }

  int64_t Clients() {
    absl::StatusOr<ClientCounts> counts = store_->CountClients();
    EXPECT_OK(counts);
    return counts.ok() ? counts->active : -1;
  }
};

TEST_F(InitialAccessTokenStoreTest, CreatedTokenIsFoundByDigestAndListedById) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("b")));
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("a", 3, kNow + 60)));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken found, store_->FindInitialAccessToken(testing::Digest("iat-a")));
  EXPECT_EQ(found.id(), "a");
  EXPECT_EQ(found.max_uses(), 3u);
  EXPECT_EQ(found.expires_at(), kNow + 60);
  EXPECT_EQ(found.policy().allowed_redirect_hosts(0), "app.example");
  EXPECT_TRUE(absl::IsNotFound(store_->FindInitialAccessToken(testing::Digest("iat-c")).status()));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> listed, store_->ListInitialAccessTokens());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id(), "a");
  EXPECT_EQ(listed[1].id(), "b");
  // Tokens are not clients.
  EXPECT_EQ(Clients(), 0);
}

TEST_F(InitialAccessTokenStoreTest, DuplicateIdOrDigestIsAlreadyExists) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("a")));
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateInitialAccessToken(MakeToken("a"))));
  StoredInitialAccessToken same_digest = MakeToken("b");
  same_digest.set_digest(testing::Digest("iat-a"));
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateInitialAccessToken(same_digest)));
  StoredInitialAccessToken no_digest = MakeToken("c");
  no_digest.clear_digest();
  EXPECT_TRUE(absl::IsInvalidArgument(store_->CreateInitialAccessToken(no_digest)));
}

TEST_F(InitialAccessTokenStoreTest, CreateUsingATokenCountsTheUseWithTheClient) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("t", 2)));
  ASSERT_OK(CreateUsing("c1", "t"));
  EXPECT_EQ(Uses("t"), 1u);
  ASSERT_OK(CreateUsing("c2", "t"));
  EXPECT_EQ(Uses("t"), 2u);
  const absl::Status third = CreateUsing("c3", "t");
  EXPECT_TRUE(absl::IsFailedPrecondition(third)) << third;
  EXPECT_TRUE(absl::IsNotFound(store_->Get("c3").status()));
  EXPECT_EQ(Uses("t"), 2u);
  EXPECT_EQ(Clients(), 2);
  // A Create whose client id is taken consumes nothing.
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("u", 5)));
  EXPECT_TRUE(absl::IsAlreadyExists(CreateUsing("c1", "u")));
  EXPECT_EQ(Uses("u"), 0u);
}

TEST_F(InitialAccessTokenStoreTest, ExpiredRevokedOrUnknownTokenFailsTheCreate) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("expired", 0, kNow)));
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("later", 0, kNow + 1)));
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("revoked")));
  ASSERT_OK(store_->RevokeInitialAccessToken("revoked", kNow).status());
  EXPECT_TRUE(absl::IsFailedPrecondition(CreateUsing("c1", "expired")));
  EXPECT_TRUE(absl::IsFailedPrecondition(CreateUsing("c2", "revoked")));
  EXPECT_TRUE(absl::IsFailedPrecondition(CreateUsing("c3", "unknown")));
  EXPECT_OK(CreateUsing("c4", "later"));
  EXPECT_EQ(Clients(), 1);
}

TEST_F(InitialAccessTokenStoreTest, RevokeIsDurableIdempotentAndNotFoundForUnknownIds) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("t")));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken revoked, store_->RevokeInitialAccessToken("t", kNow));
  EXPECT_TRUE(revoked.revoked());
  EXPECT_EQ(revoked.revoked_at(), kNow);
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken again, store_->RevokeInitialAccessToken("t", kNow + 5));
  EXPECT_EQ(again.revoked_at(), kNow);
  EXPECT_TRUE(absl::IsNotFound(store_->RevokeInitialAccessToken("nope", kNow).status()));

  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, OpenRocksDbClientStore(dir_ + "/db"));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken reopened,
                       store_->FindInitialAccessToken(testing::Digest("iat-t")));
  EXPECT_TRUE(reopened.revoked());
}

// The acceptance case: a one-use token raced by many threads, each with its own client id, registers exactly one.
TEST_F(InitialAccessTokenStoreTest, ConcurrentLastUseRegistersExactlyOneClient) {
  constexpr int kThreads = 32;
  for (int round = 0; round < 5; ++round) {
    const std::string token_id = "one-use-" + std::to_string(round);
    ASSERT_OK(store_->CreateInitialAccessToken(MakeToken(token_id, 1)));
    std::atomic<int> created{0};
    std::atomic<int> refused{0};
    testing::RunConcurrently(kThreads, [&](int i) {
      const absl::Status status = CreateUsing(token_id + "-c" + std::to_string(i), token_id);
      if (status.ok()) {
        ++created;
      } else if (absl::IsFailedPrecondition(status)) {
        ++refused;
      }
    });
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
    EXPECT_EQ(Uses(token_id), 1u);
  }
  EXPECT_EQ(Clients(), 5);
}

// Many Creates using one token queued at once land in few groups: the uses are counted one by one inside a group.
TEST_F(InitialAccessTokenStoreTest, UsesWithinOneCommitGroupAreCountedOneByOne) {
  constexpr int kCreates = 200;
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("t", 7)));
  std::atomic<int> created{0};
  std::atomic<int> finished{0};
  absl::Notification all_done;
  for (int i = 0; i < kCreates; ++i) {
    store_->CreateAsync(MakeClient("c" + std::to_string(i)), InitialAccessTokenUse{"t", kNow},
                        [&](absl::Status status) {
                          if (status.ok()) ++created;
                          if (++finished == kCreates) all_done.Notify();
                        });
  }
  all_done.WaitForNotification();
  EXPECT_EQ(created.load(), 7);
  EXPECT_EQ(Uses("t"), 7u);
  EXPECT_EQ(Clients(), 7);
}

TEST_F(InitialAccessTokenStoreTest, RevokeRacingCreatesLeavesNoUseAfterIt) {
  ASSERT_OK(store_->CreateInitialAccessToken(MakeToken("t")));
  std::atomic<bool> revoked{false};
  std::atomic<int> after_revoke_successes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 30; ++n) {
        const bool was_revoked = revoked.load();
        const absl::Status status = CreateUsing(absl::StrCat("c", i, "-", n), "t");
        // A Create that started after the revocation returned must fail.
        if (was_revoked && status.ok()) ++after_revoke_successes;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_OK(store_->RevokeInitialAccessToken("t", kNow).status());
  revoked.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(after_revoke_successes.load(), 0);
  EXPECT_EQ(static_cast<int64_t>(Uses("t")), Clients());
}

}  // namespace
}  // namespace clientreg::storage
