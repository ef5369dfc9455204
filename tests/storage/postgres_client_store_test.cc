#include "storage/postgres_client_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/client_store.h"
#include "storage/store_metrics.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"
#include "tests/support/test_postgres.h"

namespace clientreg::storage {
namespace {

using ::clientreg::testing::RunConcurrently;
using ::clientreg::testing::TestPostgres;
using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredInitialAccessToken;
using ::clientreg::v1::StoredTombstone;

StoredClient Client(const std::string& id, int64_t issued_at = 1000, const std::string& digest = "") {
  StoredClient client;
  client.set_client_id(id);
  client.set_client_id_issued_at(issued_at);
  client.set_state(StoredClient::STATE_ACTIVE);
  client.set_version(1);
  client.set_registration_access_token_digest(digest.empty() ? "digest-" + id : digest);
  client.mutable_metadata()->set_client_name("client " + id);
  return client;
}

StoredTombstone Tombstone(const std::string& id) {
  StoredTombstone tombstone;
  tombstone.set_client_id(id);
  tombstone.set_reaped_at(99999);
  tombstone.set_reason(StoredTombstone::REASON_NEVER_USED);
  return tombstone;
}

std::vector<std::string> Ids(const std::vector<LifecycleEntry>& entries) {
  std::vector<std::string> ids;
  for (const LifecycleEntry& entry : entries) ids.push_back(entry.client_id);
  return ids;
}

class PostgresClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, TestPostgres::Start());
    ASSERT_OK_AND_ASSIGN(store_, Open());
  }

  PostgresStoreOptions Options() {
    PostgresStoreOptions options;
    options.dsn = server_->dsn();
    options.pool_size = 8;
    options.connect_timeout = std::chrono::milliseconds(3000);
    options.statement_timeout = std::chrono::milliseconds(5000);
    options.metrics = &metrics_;
    return options;
  }

  absl::StatusOr<std::unique_ptr<ClientStore>> Open() { return OpenPostgresClientStore(Options()); }

  // CreateAsync with an initial access token use, waited for.
  absl::Status CreateUsing(const StoredClient& client, const std::string& token_id, int64_t now) {
    absl::Status result;
    absl::Notification done;
    store_->CreateAsync(client, InitialAccessTokenUse{token_id, now}, [&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  common::MetricsRegistry registry_;
  StoreMetrics metrics_{registry_};
  std::unique_ptr<TestPostgres> server_;
  std::unique_ptr<ClientStore> store_;
};

TEST_F(PostgresClientStoreTest, CreateGetUpdateDeleteWithVersionChecks) {
  const StoredClient client = Client("alpha");
  ASSERT_OK(store_->Create(client));
  ASSERT_OK_AND_ASSIGN(StoredClient stored, store_->Get("alpha"));
  EXPECT_EQ(stored.SerializeAsString(), client.SerializeAsString());
  EXPECT_EQ(store_->Create(client).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Create(Client("")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("missing").status().code(), absl::StatusCode::kNotFound);

  StoredClient changed = client;
  changed.set_version(2);
  changed.mutable_metadata()->set_client_name("renamed");
  EXPECT_EQ(store_->Update(changed, 2).code(), absl::StatusCode::kInvalidArgument);
  changed.set_version(6);
  EXPECT_EQ(store_->Update(changed, 5).code(), absl::StatusCode::kAborted);
  changed.set_version(2);
  ASSERT_OK(store_->Update(changed, 1));
  ASSERT_OK_AND_ASSIGN(stored, store_->Get("alpha"));
  EXPECT_EQ(stored.metadata().client_name(), "renamed");
  EXPECT_EQ(stored.version(), 2u);
  changed.set_version(3);
  EXPECT_EQ(store_->Update(changed, 1).code(), absl::StatusCode::kAborted);

  StoredClient absent = Client("absent");
  absent.set_version(2);
  EXPECT_EQ(store_->Update(absent, 1).code(), absl::StatusCode::kNotFound);

  EXPECT_EQ(store_->Delete("alpha", 1).code(), absl::StatusCode::kAborted);
  ASSERT_OK(store_->Delete("alpha", 2));
  EXPECT_EQ(store_->Get("alpha").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("alpha", 2).code(), absl::StatusCode::kNotFound);
  // An update never resurrects a deleted client; a delete leaves no tombstone, so the id may be created again.
  EXPECT_EQ(store_->Update(changed, 2).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetTombstone("alpha").status().code(), absl::StatusCode::kNotFound);
  EXPECT_OK(store_->Create(client));
}

TEST_F(PostgresClientStoreTest, TokenDigestIndexFollowsTheRecordAndIsBinarySafe) {
  const std::string digest("\x00\xff\x01token\x00", 9);
  ASSERT_OK(store_->Create(Client("c1", 1000, digest)));
  ASSERT_OK_AND_ASSIGN(const std::string found, store_->FindByTokenDigest(digest));
  EXPECT_EQ(found, "c1");
  EXPECT_EQ(store_->FindByTokenDigest(std::string("\x00\xff", 2)).status().code(), absl::StatusCode::kNotFound);

  StoredClient rotated = Client("c1", 1000, "new-digest");
  rotated.set_version(2);
  ASSERT_OK(store_->Update(rotated, 1));
  EXPECT_EQ(store_->FindByTokenDigest(digest).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const std::string after, store_->FindByTokenDigest("new-digest"));
  EXPECT_EQ(after, "c1");
  ASSERT_OK(store_->Delete("c1", 2));
  EXPECT_EQ(store_->FindByTokenDigest("new-digest").status().code(), absl::StatusCode::kNotFound);
}

// A digest held by another client violates a precondition (client_store.h); this store refuses it, naming the
// digest's conflict rather than the client's, and the refusal fails that write alone.
TEST_F(PostgresClientStoreTest, ADigestHeldByAnotherClientIsRefusedAsInUse) {
  ASSERT_OK(store_->Create(Client("a", 1000, "shared")));
  const absl::Status second = store_->Create(Client("b", 1000, "shared"));
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(second.message()), ::testing::HasSubstr("registration access token digest already in use"));
  EXPECT_EQ(store_->Get("b").status().code(), absl::StatusCode::kNotFound);
  // The same id is still the client's conflict.
  const absl::Status same_id = store_->Create(Client("a", 1000, "shared"));
  EXPECT_EQ(same_id.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(same_id.message()), ::testing::HasSubstr("client a already exists"));

  ASSERT_OK(store_->Create(Client("c")));
  StoredClient c2 = Client("c", 1000, "shared");
  c2.set_version(2);
  const absl::Status update = store_->Update(c2, 1);
  EXPECT_EQ(update.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(update.message()), ::testing::HasSubstr("registration access token digest already in use"));
  ASSERT_OK_AND_ASSIGN(const StoredClient c_now, store_->Get("c"));
  EXPECT_EQ(c_now.version(), 1u);
  ASSERT_OK_AND_ASSIGN(const std::string holder, store_->FindByTokenDigest("shared"));
  EXPECT_EQ(holder, "a");

  // Queued together, so that they share groups: only the conflicting Create fails.
  constexpr int kCreates = 40;
  absl::Mutex mutex;
  std::vector<absl::Status> results(kCreates + 1);
  int left = kCreates + 1;
  const auto done = [&](int i) {
    return [&, i](absl::Status status) {
      absl::MutexLock lock(&mutex);
      results[static_cast<std::size_t>(i)] = std::move(status);
      --left;
    };
  };
  for (int i = 0; i < kCreates; ++i) {
    store_->CreateAsync(Client("group-" + std::to_string(i)), done(i));
    if (i == kCreates / 2) store_->CreateAsync(Client("conflict", 1000, "shared"), done(kCreates));
  }
  {
    absl::MutexLock lock(&mutex);
    mutex.Await(absl::Condition(
        +[](int* left) { return *left == 0; }, &left));
  }
  for (int i = 0; i < kCreates; ++i) EXPECT_OK(results[static_cast<std::size_t>(i)]) << i;
  EXPECT_EQ(results[kCreates].code(), absl::StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, 2 + kCreates);
}

TEST_F(PostgresClientStoreTest, ScansInClientIdOrderAcrossPages) {
  // More than one page of the scan, created concurrently.
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back("id-" + std::to_string(100000 + (i * 7919) % 600));
  std::atomic<int> failures{0};
  RunConcurrently(8, [&](int t) {
    for (std::size_t i = static_cast<std::size_t>(t); i < ids.size(); i += 8) {
      if (!store_->Create(Client(ids[i])).ok()) ++failures;
    }
  });
  ASSERT_EQ(failures.load(), 0);
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> seen;
  ASSERT_OK(store_->ForEach([&](const StoredClient& client) {
    seen.push_back(client.client_id());
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, ids);

  seen.clear();
  ASSERT_OK(store_->ScanFrom(ids[299], [&](const StoredClient& client) -> absl::StatusOr<bool> {
    seen.push_back(client.client_id());
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{ids[300], ids[301], ids[302]}));

  // A start that is not stored; a visitor's error ends the scan with that error.
  seen.clear();
  EXPECT_EQ(store_
                ->ScanFrom("id-100000x",
                           [&](const StoredClient& client) -> absl::StatusOr<bool> {
                             seen.push_back(client.client_id());
                             return absl::CancelledError("enough");
                           })
                .code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, (std::vector<std::string>{"id-100001"}));
}

TEST_F(PostgresClientStoreTest, CountsFollowCreatesStateChangesAndDeletes) {
  ASSERT_OK(store_->Create(Client("a")));
  ASSERT_OK(store_->Create(Client("b")));
  StoredClient disabled = Client("c");
  disabled.set_state(StoredClient::STATE_DISABLED);
  ASSERT_OK(store_->Create(disabled));
  ASSERT_OK_AND_ASSIGN(ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, 2);
  EXPECT_EQ(counts.disabled, 1);

  StoredClient b = Client("b");
  b.set_state(StoredClient::STATE_DISABLED);
  b.set_version(2);
  ASSERT_OK(store_->Update(b, 1));
  ASSERT_OK(store_->Delete("a", 1));
  // A refused write changes no count.
  EXPECT_EQ(store_->Delete("c", 7).code(), absl::StatusCode::kAborted);
  ASSERT_OK_AND_ASSIGN(counts, store_->CountClients());
  EXPECT_EQ(counts.active, 0);
  EXPECT_EQ(counts.disabled, 2);
}

TEST_F(PostgresClientStoreTest, LastUseMovesClientsInTheLifecycleIndexes) {
  ASSERT_OK(store_->Create(Client("a", 100)));
  ASSERT_OK(store_->Create(Client("b", 200)));
  ASSERT_OK(store_->Create(Client("c", 300)));
  ASSERT_OK_AND_ASSIGN(std::vector<LifecycleEntry> never, store_->ListByLifecycle(LifecycleIndex::kNeverUsed, 250, 10));
  EXPECT_EQ(never, (std::vector<LifecycleEntry>{{"a", 100}, {"b", 200}}));

  // The latest of several entries counts; unknown clients and times that are not positive are ignored.
  ASSERT_OK(store_->RecordLastUsed({{"b", 900}, {"b", 1000}, {"ghost", 5}, {"c", 0}}));
  ASSERT_OK_AND_ASSIGN(int64_t last_used, store_->GetLastUsed("b"));
  EXPECT_EQ(last_used, 1000);
  ASSERT_OK(store_->RecordLastUsed({{"b", 500}}));  // never backwards
  ASSERT_OK_AND_ASSIGN(last_used, store_->GetLastUsed("b"));
  EXPECT_EQ(last_used, 1000);
  ASSERT_OK_AND_ASSIGN(last_used, store_->GetLastUsed("ghost"));
  EXPECT_EQ(last_used, 0);

  ASSERT_OK_AND_ASSIGN(never, store_->ListByLifecycle(LifecycleIndex::kNeverUsed, 10000, 10));
  EXPECT_EQ(Ids(never), (std::vector<std::string>{"a", "c"}));
  ASSERT_OK_AND_ASSIGN(std::vector<LifecycleEntry> idle, store_->ListByLifecycle(LifecycleIndex::kIdle, 10000, 10));
  EXPECT_EQ(idle, (std::vector<LifecycleEntry>{{"a", 100}, {"c", 300}, {"b", 1000}}));
  // Paging: after an entry, limited, bounded by `before`.
  ASSERT_OK_AND_ASSIGN(idle, store_->ListByLifecycle(LifecycleIndex::kIdle, 10000, 1, LifecycleEntry{"a", 100}));
  EXPECT_EQ(idle, (std::vector<LifecycleEntry>{{"c", 300}}));
  ASSERT_OK_AND_ASSIGN(idle, store_->ListByLifecycle(LifecycleIndex::kIdle, 1000, 10, LifecycleEntry{"c", 300}));
  EXPECT_TRUE(idle.empty());
  ASSERT_OK_AND_ASSIGN(idle, store_->ListByLifecycle(LifecycleIndex::kIdle, 10000, 0));
  EXPECT_TRUE(idle.empty());

  // An update keeps the last use.
  StoredClient b = Client("b", 200);
  b.set_version(2);
  ASSERT_OK(store_->Update(b, 1));
  ASSERT_OK_AND_ASSIGN(last_used, store_->GetLastUsed("b"));
  EXPECT_EQ(last_used, 1000);
}

TEST_F(PostgresClientStoreTest, ReapLeavesATombstoneOnlyForClientsStillDue) {
  ASSERT_OK(store_->Create(Client("a", 100)));
  ASSERT_OK(store_->Create(Client("b", 200)));
  ASSERT_OK(store_->RecordLastUsed({{"b", 5000}}));

  EXPECT_EQ(store_->Reap(Tombstone("a"), 9, LifecycleIndex::kNeverUsed, 250).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Reap(Tombstone("a"), 1, LifecycleIndex::kNeverUsed, 100).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reap(Tombstone("b"), 1, LifecycleIndex::kNeverUsed, 250).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reap(Tombstone("b"), 1, LifecycleIndex::kIdle, 5000).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reap(Tombstone("zz"), 1, LifecycleIndex::kIdle, 5000).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Reap(Tombstone(""), 1, LifecycleIndex::kIdle, 5000).code(), absl::StatusCode::kInvalidArgument);

  ASSERT_OK(store_->Reap(Tombstone("a"), 1, LifecycleIndex::kNeverUsed, 250));
  ASSERT_OK(store_->Reap(Tombstone("b"), 1, LifecycleIndex::kIdle, 5001));
  EXPECT_EQ(store_->Get("a").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store_->GetLastUsed("b"));
  EXPECT_EQ(last_used, 0);
  ASSERT_OK_AND_ASSIGN(const StoredTombstone tombstone, store_->GetTombstone("a"));
  EXPECT_EQ(tombstone.SerializeAsString(), Tombstone("a").SerializeAsString());
  EXPECT_EQ(store_->Create(Client("a")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Get("a").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> idle,
                       store_->ListByLifecycle(LifecycleIndex::kIdle, 1'000'000, 10));
  EXPECT_TRUE(idle.empty());
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, 0);

  std::vector<std::string> reaped;
  ASSERT_OK(store_->ScanTombstones("", [&](const StoredTombstone& t) -> absl::StatusOr<bool> {
    reaped.push_back(t.client_id());
    return true;
  }));
  EXPECT_EQ(reaped, (std::vector<std::string>{"a", "b"}));
}

TEST_F(PostgresClientStoreTest, InitialAccessTokenUsesNeverExceedTheLimit) {
  StoredInitialAccessToken token;
  token.set_id("iat-1");
  token.set_digest(std::string("\x01\x00\x02", 3));
  token.set_max_uses(5);
  token.set_expires_at(10'000);
  ASSERT_OK(store_->CreateInitialAccessToken(token));
  EXPECT_EQ(store_->CreateInitialAccessToken(token).code(), absl::StatusCode::kAlreadyExists);
  StoredInitialAccessToken no_digest;
  no_digest.set_id("x");
  EXPECT_EQ(store_->CreateInitialAccessToken(no_digest).code(), absl::StatusCode::kInvalidArgument);

  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  RunConcurrently(32, [&](int i) {
    const absl::Status status = CreateUsing(Client("t" + std::to_string(i)), "iat-1", 100);
    if (status.ok()) {
      ++created;
    } else if (absl::IsFailedPrecondition(status)) {
      ++refused;
    }
  });
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(refused.load(), 27);
  ASSERT_OK_AND_ASSIGN(StoredInitialAccessToken stored, store_->FindInitialAccessToken(token.digest()));
  EXPECT_EQ(stored.uses(), 5u);
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, 5);

  StoredInitialAccessToken other = token;
  other.set_id("iat-2");
  other.set_digest("other");
  other.set_max_uses(0);
  ASSERT_OK(store_->CreateInitialAccessToken(other));
  EXPECT_EQ(CreateUsing(Client("late"), "iat-2", 10'000).code(), absl::StatusCode::kFailedPrecondition);  // expired
  EXPECT_EQ(CreateUsing(Client("u1"), "unknown", 100).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(CreateUsing(Client("u2"), "iat-2", 100));
  // A Create refused for its id does not use the token.
  EXPECT_EQ(CreateUsing(Client("u2"), "iat-2", 100).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(stored, store_->RevokeInitialAccessToken("iat-2", 500));
  EXPECT_TRUE(stored.revoked());
  EXPECT_EQ(stored.uses(), 1u);
  EXPECT_EQ(CreateUsing(Client("u3"), "iat-2", 100).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(stored, store_->RevokeInitialAccessToken("iat-2", 900));
  EXPECT_EQ(stored.revoked_at(), 500);
  EXPECT_EQ(store_->RevokeInitialAccessToken("nope", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->FindInitialAccessToken("nope").status().code(), absl::StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> tokens, store_->ListInitialAccessTokens());
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].id(), "iat-1");
  EXPECT_EQ(tokens[1].id(), "iat-2");
}

TEST_F(PostgresClientStoreTest, ConcurrentCreatesShareCommitsAndAllAreDurable) {
  constexpr int kThreads = 64;
  constexpr int kPerThread = 10;
  std::atomic<int> failures{0};
  RunConcurrently(kThreads, [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      if (!store_->Create(Client("g" + std::to_string(t) + "-" + std::to_string(i))).ok()) ++failures;
    }
  });
  ASSERT_EQ(failures.load(), 0);
  const common::Histogram::Snapshot groups = metrics_.group_size.Read();
  EXPECT_EQ(groups.sum, kThreads * kPerThread);
  // Fewer commits than Creates: some groups held more than one.
  EXPECT_LT(groups.count, static_cast<uint64_t>(kThreads * kPerThread));

  // Durable: a restart of the server finds every acknowledged client.
  store_.reset();
  ASSERT_OK(server_->Stop());
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(store_, Open());
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_OK(store_->Get("g" + std::to_string(t) + "-" + std::to_string(kPerThread - 1)));
  }
}

TEST_F(PostgresClientStoreTest, ReopeningAndConcurrentOpensShareOneSchema) {
  ASSERT_OK(store_->Create(Client("kept")));
  store_.reset();
  std::vector<absl::StatusOr<std::unique_ptr<ClientStore>>> opened(4);
  RunConcurrently(4, [&](int i) { opened[static_cast<std::size_t>(i)] = Open(); });
  for (auto& store : opened) {
    ASSERT_OK(store);
    EXPECT_OK((*store)->Get("kept"));
  }
  // Replicas share one database: what one writes, another reads.
  ASSERT_OK((*opened[0])->Create(Client("shared")));
  ASSERT_OK_AND_ASSIGN(const StoredClient shared, (*opened[1])->Get("shared"));
  EXPECT_EQ(shared.client_id(), "shared");
  StoredClient updated = shared;
  updated.set_version(2);
  ASSERT_OK((*opened[2])->Update(updated, 1));
  EXPECT_EQ((*opened[3])->Update(updated, 1).code(), absl::StatusCode::kAborted);
}

TEST_F(PostgresClientStoreTest, FreshDatabaseOpensConcurrently) {
  // A new server whose database was never migrated: the replicas race to create the schema.
  store_.reset();
  server_.reset();
  ASSERT_OK_AND_ASSIGN(server_, TestPostgres::Start());
  std::vector<absl::StatusOr<std::unique_ptr<ClientStore>>> opened(4);
  RunConcurrently(4, [&](int i) { opened[static_cast<std::size_t>(i)] = Open(); });
  for (auto& store : opened) ASSERT_OK(store);
  ASSERT_OK((*opened[0])->Create(Client("x")));
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, (*opened[3])->CountClients());
  EXPECT_EQ(counts.active, 1);
}

TEST_F(PostgresClientStoreTest, ServerRestartIsUnavailableThenRecoversWithoutReopening) {
  ASSERT_OK(store_->Create(Client("before")));
  // Nested scans hold every connection of the pool at once, so that all of them are pooled, idle, when the server
  // goes away.
  const std::function<void(int)> hold = [&](int depth) {
    if (depth == 0) return;
    EXPECT_OK(store_->ScanFrom("", [&](const StoredClient&) -> absl::StatusOr<bool> {
      hold(depth - 1);
      return false;
    }));
  };
  hold(static_cast<int>(Options().pool_size));
  ASSERT_OK(store_->CheckHealth());
  ASSERT_OK(server_->Stop());
  EXPECT_EQ(store_->Get("before").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Create(Client("during")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->CheckHealth().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->CountClients().status().code(), absl::StatusCode::kUnavailable);
  const uint64_t errors = metrics_.errors.Value();
  EXPECT_GT(errors, 0u);
  ASSERT_OK(server_->Restart());

  // A pooled connection the restart closed is replaced before it fails anything: every operation succeeds at the
  // first try, however many dead connections the pool held.
  for (std::size_t i = 0; i < Options().pool_size + 1; ++i) {
    EXPECT_OK(store_->CheckHealth()) << i;
    EXPECT_OK(store_->Get("before")) << i;
  }
  hold(static_cast<int>(Options().pool_size));
  EXPECT_OK(store_->Create(Client("after")));
  EXPECT_OK(store_->Get("after"));
  EXPECT_EQ(store_->Get("during").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(metrics_.errors.Value(), errors);
}

TEST_F(PostgresClientStoreTest, CheckpointIsUnimplemented) {
  EXPECT_EQ(store_->Checkpoint("/tmp/x").code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace clientreg::storage
