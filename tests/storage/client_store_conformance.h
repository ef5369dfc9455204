#ifndef CLIENTREG_TESTS_STORAGE_CLIENT_STORE_CONFORMANCE_H_
#define CLIENTREG_TESTS_STORAGE_CLIENT_STORE_CONFORMANCE_H_

// The conformance suite of ClientStore (issue 14): what storage/client_store.h promises, asserted through the
// interface alone, so that every implementation runs the same tests. Engine-specific behaviour (column families,
// checkpoints, file-system faults below one write, migrations) stays in each engine's own tests.
//
// An engine plugs in with one factory type and two lines:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(MyEngine, ClientStoreConformanceTest, ::testing::Types<MyEngineStoreFactory>);
//
// The factory is one object per test, created before the test and destroyed after its stores:
//
//   class MyEngineStoreFactory {
//    public:
//     // Makes a fresh, empty place for a store (a temporary directory, a new database). Called once, first.
//     absl::Status SetUp();
//     // Opens a store on that place. Called again after the previous store was destroyed, it must find everything
//     // the previous one acknowledged: that is how the suite proves durability.
//     absl::StatusOr<std::unique_ptr<storage::ClientStore>> Open();
//     // While `fail` is true, the storage under the store refuses every write (a failing disk, a lost database
//     // connection); false makes it take writes again. The store itself is not told.
//     void SetWritesFail(bool fail);
//     // The destructor removes the place.
//   };
//
// State shared by every test of an engine (a database server started once) belongs in the factory's own statics.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "clientreg/v1/stored.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "storage/client_store.h"
#include "tests/status_matchers.h"
#include "tests/support/concurrently.h"

namespace clientreg::storage {

// Beside LifecycleEntry, where GoogleTest looks for it.
inline void PrintTo(const LifecycleEntry& entry, std::ostream* out) {
  *out << "{" << entry.client_id << ", " << entry.time << "}";
}

namespace conformance {

// Later than every time the suite uses.
inline constexpr int64_t kEndOfTime = 4'000'000'000;
// When the suite's initial access tokens are used.
inline constexpr int64_t kNow = 1'700'000'000;

// The registration access token digest the suite gives client `id`. The store knows no OAuth: any bytes do.
inline std::string TokenDigestOf(const std::string& id) { return "rat-digest-" + id; }

// An active client issued at `issued_at`, with a secret digest, a registration access token digest and some
// metadata, at version 1.
inline clientreg::v1::StoredClient MakeClient(const std::string& id, int64_t issued_at = 1'000) {
  clientreg::v1::StoredClient client;
  client.set_client_id(id);
  clientreg::v1::ClientMetadata& metadata = *client.mutable_metadata();
  metadata.mutable_redirect_uris()->add_values("https://app.example/cb/" + id);
  metadata.set_token_endpoint_auth_method("client_secret_basic");
  metadata.mutable_grant_types()->add_values("authorization_code");
  metadata.set_client_name("Client " + id);
  metadata.set_software_id("software-" + id);
  (*metadata.mutable_client_name_localized())["ja-Jpan-JP"] = "クライアント";
  client.set_client_secret_digest("secret-digest-" + id);
  client.set_registration_access_token_digest(TokenDigestOf(id));
  client.set_client_id_issued_at(issued_at);
  client.set_updated_at(issued_at);
  client.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
  client.set_origin(clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
  client.set_version(1);
  return client;
}

// `client` as its next version: version + 1 and another name.
inline clientreg::v1::StoredClient NextVersion(clientreg::v1::StoredClient client, const std::string& name = "") {
  client.set_version(client.version() + 1);
  client.mutable_metadata()->set_client_name(
      name.empty() ? absl::StrCat("Client ", client.client_id(), " v", client.version()) : name);
  return client;
}

inline clientreg::v1::StoredTombstone TombstoneOf(const clientreg::v1::StoredClient& client,
                                                  clientreg::v1::StoredTombstone::Reason reason,
                                                  int64_t last_used = 0) {
  clientreg::v1::StoredTombstone tombstone;
  tombstone.set_client_id(client.client_id());
  tombstone.set_reaped_at(3'000'000'000);
  tombstone.set_reason(reason);
  tombstone.set_client_id_issued_at(client.client_id_issued_at());
  tombstone.set_last_used_at(last_used);
  tombstone.set_client_name(client.metadata().client_name());
  tombstone.set_software_id(client.metadata().software_id());
  tombstone.set_state(client.state());
  return tombstone;
}

inline clientreg::v1::StoredInitialAccessToken MakeToken(const std::string& id, uint32_t max_uses = 0,
                                                         int64_t expires_at = 0) {
  clientreg::v1::StoredInitialAccessToken token;
  token.set_id(id);
  token.set_digest("iat-digest-" + id);
  token.set_label("label " + id);
  token.set_created_at(kNow - 10);
  token.set_expires_at(expires_at);
  token.set_max_uses(max_uses);
  token.mutable_policy()->add_allowed_redirect_hosts("app.example");
  return token;
}

template <typename Message>
::testing::AssertionResult SameMessage(const Message& actual, const Message& expected) {
  if (google::protobuf::util::MessageDifferencer::Equals(actual, expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual:\n"
                                       << actual.DebugString() << "expected:\n"
                                       << expected.DebugString();
}

// Calls CreateAsync and waits for its `done`; a second call of `done` is counted in `extra_calls`, never waited for.
inline absl::Status CreateAsyncAndWait(ClientStore& store, const clientreg::v1::StoredClient& client,
                                       const std::optional<InitialAccessTokenUse>& use = std::nullopt,
                                       std::atomic<int>* extra_calls = nullptr) {
  struct Outcome {
    std::atomic<int> calls{0};
    absl::Status status;
    absl::Notification done;
  };
  auto outcome = std::make_shared<Outcome>();
  store.CreateAsync(client, use, [outcome, extra_calls](absl::Status status) {
    if (outcome->calls.fetch_add(1) > 0) {
      if (extra_calls != nullptr) ++*extra_calls;
      return;
    }
    outcome->status = std::move(status);
    outcome->done.Notify();
  });
  outcome->done.WaitForNotification();
  return outcome->status;
}

// Waits for a number of calls from other threads.
class Countdown {
 public:
  explicit Countdown(int count) : left_(count) {}

  void CountDown() {
    absl::MutexLock lock(&mutex_);
    --left_;
  }

  void Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(this, &Countdown::Done));
  }

 private:
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return left_ == 0; }

  absl::Mutex mutex_;
  int left_ ABSL_GUARDED_BY(mutex_);
};

// Every stored client's id, by ForEach.
inline std::vector<std::string> ClientIds(const ClientStore& store) {
  std::vector<std::string> ids;
  EXPECT_OK(store.ForEach([&ids](const clientreg::v1::StoredClient& client) {
    ids.push_back(client.client_id());
    return absl::OkStatus();
  }));
  return ids;
}

// The ids ScanFrom visits after `start_after`, stopping after `max` of them.
inline std::vector<std::string> ScannedIds(const ClientStore& store, const std::string& start_after,
                                           std::size_t max = SIZE_MAX) {
  std::vector<std::string> ids;
  EXPECT_OK(store.ScanFrom(start_after, [&](const clientreg::v1::StoredClient& client) -> absl::StatusOr<bool> {
    ids.push_back(client.client_id());
    return ids.size() < max;
  }));
  return ids;
}

inline std::vector<std::string> TombstoneIds(const ClientStore& store, const std::string& start_after = "") {
  std::vector<std::string> ids;
  EXPECT_OK(store.ScanTombstones(start_after, [&ids](const clientreg::v1::StoredTombstone& tombstone) {
    ids.push_back(tombstone.client_id());
    return absl::StatusOr<bool>(true);
  }));
  return ids;
}

// Every entry of `index` before `before`, one ListByLifecycle call.
inline std::vector<LifecycleEntry> Entries(const ClientStore& store, LifecycleIndex index,
                                           int64_t before = kEndOfTime) {
  absl::StatusOr<std::vector<LifecycleEntry>> entries = store.ListByLifecycle(index, before, 1'000'000);
  EXPECT_OK(entries);
  return entries.value_or(std::vector<LifecycleEntry>());
}

inline ClientCounts Counts(const ClientStore& store) {
  absl::StatusOr<ClientCounts> counts = store.CountClients();
  EXPECT_OK(counts);
  return counts.value_or(ClientCounts{-1, -1});
}

inline int64_t LastUsed(const ClientStore& store, const std::string& client_id) {
  absl::StatusOr<int64_t> last_used = store.GetLastUsed(client_id);
  EXPECT_OK(last_used);
  return last_used.value_or(-1);
}

inline uint32_t TokenUses(const ClientStore& store, const std::string& token_id) {
  absl::StatusOr<clientreg::v1::StoredInitialAccessToken> token =
      store.FindInitialAccessToken("iat-digest-" + token_id);
  EXPECT_OK(token);
  return token.ok() ? token->uses() : UINT32_MAX;
}

// Whether `client_id` is in `entries`.
inline bool Lists(const std::vector<LifecycleEntry>& entries, const std::string& client_id) {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const LifecycleEntry& entry) { return entry.client_id == client_id; });
}

// Fails unless `client` is stored whole (record, token index, both lifecycle entries as never used) or not at all
// (NotFound everywhere). Returns whether it is stored.
inline bool ExpectWholeOrAbsent(const ClientStore& store, const clientreg::v1::StoredClient& client) {
  const absl::StatusOr<clientreg::v1::StoredClient> stored = store.Get(client.client_id());
  const absl::StatusOr<std::string> by_token = store.FindByTokenDigest(client.registration_access_token_digest());
  const bool never_used = Lists(Entries(store, LifecycleIndex::kNeverUsed), client.client_id());
  const bool idle = Lists(Entries(store, LifecycleIndex::kIdle), client.client_id());
  if (stored.ok()) {
    EXPECT_TRUE(SameMessage(*stored, client));
    EXPECT_TRUE(by_token.ok() && *by_token == client.client_id()) << by_token.status();
    EXPECT_TRUE(never_used);
    EXPECT_TRUE(idle);
    return true;
  }
  EXPECT_TRUE(absl::IsNotFound(stored.status())) << stored.status();
  EXPECT_TRUE(absl::IsNotFound(by_token.status())) << by_token.status();
  EXPECT_FALSE(never_used);
  EXPECT_FALSE(idle);
  return false;
}

}  // namespace conformance

template <typename Factory>
class ClientStoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(factory_.SetUp());
    ASSERT_OK_AND_ASSIGN(store_, factory_.Open());
  }

  void TearDown() override { store_.reset(); }

  // Closes the store and opens it again on the same place: what it finds is what the first one made durable.
  void Reopen() {
    store_.reset();
    ASSERT_OK_AND_ASSIGN(store_, factory_.Open());
  }

  ClientStore& store() { return *store_; }

  // Before store_: every store is destroyed before the place it was opened on.
  Factory factory_;
  std::unique_ptr<ClientStore> store_;
};

TYPED_TEST_SUITE_P(ClientStoreConformanceTest);

using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredInitialAccessToken;
using ::clientreg::v1::StoredTombstone;

// --- Create, CreateAsync, Get ---

TYPED_TEST_P(ClientStoreConformanceTest, CreateThenGetReturnsTheClientAsWritten) {
  const StoredClient client = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(client));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, client));
}

TYPED_TEST_P(ClientStoreConformanceTest, GetOfAnUnknownIdIsNotFound) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("b").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("").status()));
  // A prefix of a stored id is another id.
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("a ").status()));
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateOfAStoredIdIsAlreadyExistsAndKeepsTheFirst) {
  const StoredClient first = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(first));
  StoredClient second = conformance::MakeClient("a", 2'000);
  second.mutable_metadata()->set_client_name("second");
  second.set_registration_access_token_digest("another digest");
  EXPECT_TRUE(absl::IsAlreadyExists(this->store().Create(second)));
  EXPECT_TRUE(absl::IsAlreadyExists(conformance::CreateAsyncAndWait(this->store(), second)));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, first));
  // Nothing of the refused client was written: not its token, not its time.
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("another digest").status()));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 1'000}}));
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateWithAnEmptyIdIsInvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().Create(conformance::MakeClient(""))));
  EXPECT_TRUE(absl::IsInvalidArgument(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient(""))));
  EXPECT_TRUE(conformance::ClientIds(this->store()).empty());
  EXPECT_EQ(conformance::Counts(this->store()).active, 0);
}

TYPED_TEST_P(ClientStoreConformanceTest, ConcurrentCreatesOfOneIdLetExactlyOneWin) {
  constexpr int kThreads = 16;
  for (int round = 0; round < 5; ++round) {
    const std::string id = absl::StrCat("contested-", round);
    std::atomic<int> won{0};
    std::atomic<int> refused{0};
    std::atomic<int> winner{-1};
    testing::RunConcurrently(kThreads, [&](int i) {
      StoredClient client = conformance::MakeClient(id);
      client.mutable_metadata()->set_client_name(absl::StrCat("thread ", i));
      // Half wait for the write, half queue it.
      const absl::Status status =
          i % 2 == 0 ? this->store().Create(client) : conformance::CreateAsyncAndWait(this->store(), client);
      if (status.ok()) {
        ++won;
        winner = i;
      } else if (absl::IsAlreadyExists(status)) {
        ++refused;
      } else {
        ADD_FAILURE() << status;
      }
    });
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get(id));
    EXPECT_EQ(stored.metadata().client_name(), absl::StrCat("thread ", winner.load()));
  }
  EXPECT_EQ(conformance::Counts(this->store()).active, 5);
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateAsyncCallsDoneOnceAndTheClientIsDurable) {
  constexpr int kCreates = 50;
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  absl::Notification all_done;
  for (int i = 0; i < kCreates; ++i) {
    this->store().CreateAsync(conformance::MakeClient(absl::StrCat("c", 100 + i)), [&](absl::Status status) {
      if (!status.ok()) ++failures;
      if (++calls == kCreates) all_done.Notify();
    });
  }
  all_done.WaitForNotification();
  EXPECT_EQ(failures.load(), 0);
  this->Reopen();
  // The first store is gone: no `done` can come late any more.
  EXPECT_EQ(calls.load(), kCreates);
  for (int i = 0; i < kCreates; ++i) {
    const std::string id = absl::StrCat("c", 100 + i);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get(id));
    EXPECT_TRUE(conformance::SameMessage(stored, conformance::MakeClient(id)));
    ASSERT_OK_AND_ASSIGN(const std::string by_token, this->store().FindByTokenDigest(conformance::TokenDigestOf(id)));
    EXPECT_EQ(by_token, id);
  }
  EXPECT_EQ(conformance::Counts(this->store()).active, kCreates);
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateAsyncDoneMayQueueAnotherCreate) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("taken")));
  // The service retries a colliding id with another from its callback. The outcome outlives this test's frame:
  // `done` may still be returning when the waiter wakes.
  struct Outcome {
    absl::Status first;
    absl::Status second;
    absl::Notification retried;
  };
  auto outcome = std::make_shared<Outcome>();
  ClientStore& store = this->store();
  store.CreateAsync(conformance::MakeClient("taken"), [outcome, &store](absl::Status status) {
    outcome->first = status;
    store.CreateAsync(conformance::MakeClient("free"), [outcome](absl::Status retry) {
      outcome->second = retry;
      outcome->retried.Notify();
    });
  });
  outcome->retried.WaitForNotification();
  EXPECT_TRUE(absl::IsAlreadyExists(outcome->first)) << outcome->first;
  EXPECT_OK(outcome->second);
  EXPECT_OK(this->store().Get("free"));
}

// --- Update ---

TYPED_TEST_P(ClientStoreConformanceTest, UpdateAtTheStoredVersionReplacesTheRecord) {
  const StoredClient v1 = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(v1));
  StoredClient v2 = conformance::NextVersion(v1, "renamed");
  v2.set_state(StoredClient::STATE_DISABLED);
  v2.set_client_secret_digest("rotated secret digest");
  ASSERT_OK(this->store().Update(v2, 1));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, v2));
  // A version may jump: the caller chooses it, the store only requires it to advance.
  StoredClient v9 = v2;
  v9.set_version(9);
  ASSERT_OK(this->store().Update(v9, 2));
  ASSERT_OK_AND_ASSIGN(const StoredClient jumped, this->store().Get("a"));
  EXPECT_EQ(jumped.version(), 9u);
}

TYPED_TEST_P(ClientStoreConformanceTest, UpdateAtAStaleVersionIsAbortedAndChangesNothing) {
  const StoredClient v1 = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(v1));
  const StoredClient v2 = conformance::NextVersion(v1);
  ASSERT_OK(this->store().Update(v2, 1));
  StoredClient late = conformance::NextVersion(v1, "late");
  late.set_registration_access_token_digest("late digest");
  late.set_state(StoredClient::STATE_DISABLED);
  const absl::Status stale = this->store().Update(late, 1);
  EXPECT_TRUE(absl::IsAborted(stale)) << stale;
  // A version ahead of the stored one is as wrong as one behind it.
  StoredClient ahead = conformance::NextVersion(v2);
  ahead.set_version(10);
  EXPECT_TRUE(absl::IsAborted(this->store().Update(ahead, 5)));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, v2));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("late digest").status()));
  ASSERT_OK_AND_ASSIGN(const std::string by_token, this->store().FindByTokenDigest(conformance::TokenDigestOf("a")));
  EXPECT_EQ(by_token, "a");
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
  EXPECT_EQ(conformance::Counts(this->store()).disabled, 0);
}

TYPED_TEST_P(ClientStoreConformanceTest, UpdateThatDoesNotAdvanceTheVersionIsInvalidArgument) {
  const StoredClient v1 = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(v1));
  StoredClient same = v1;
  same.mutable_metadata()->set_client_name("same version");
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().Update(same, 1)));
  StoredClient behind = v1;
  behind.set_version(0);
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().Update(behind, 1)));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, v1));
}

TYPED_TEST_P(ClientStoreConformanceTest, UpdateOfAnUnknownOrDeletedClientIsNotFoundAndCreatesNothing) {
  EXPECT_TRUE(absl::IsNotFound(this->store().Update(conformance::NextVersion(conformance::MakeClient("never")), 1)));
  const StoredClient gone = conformance::MakeClient("gone");
  ASSERT_OK(this->store().Create(gone));
  ASSERT_OK(this->store().Delete("gone", 1));
  EXPECT_TRUE(absl::IsNotFound(this->store().Update(conformance::NextVersion(gone), 1)));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("never").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("gone").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("gone")).status()));
  EXPECT_TRUE(conformance::ClientIds(this->store()).empty());
  EXPECT_EQ(conformance::Counts(this->store()).active, 0);
}

// --- Delete ---

TYPED_TEST_P(ClientStoreConformanceTest, DeleteRemovesTheClientAndAllKeptWithItAndLeavesNoTombstone) {
  const StoredClient a = conformance::MakeClient("a", 100);
  ASSERT_OK(this->store().Create(a));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b", 200)));
  ASSERT_OK(this->store().RecordLastUsed({{"a", 500}}));
  ASSERT_OK(this->store().Delete("a", 1));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("a").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("a")).status()));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 0);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"b", 200}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"b", 200}}));
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"b"});
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
  EXPECT_TRUE(absl::IsNotFound(this->store().GetTombstone("a").status()));
  // No tombstone: the id may be created again, and starts afresh.
  ASSERT_OK(this->store().Create(conformance::MakeClient("a", 300)));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 0);
  EXPECT_TRUE(conformance::Lists(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), "a"));
}

TYPED_TEST_P(ClientStoreConformanceTest, DeleteAtAStaleVersionIsAbortedAndKeepsTheClient) {
  const StoredClient v1 = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(v1));
  const StoredClient v2 = conformance::NextVersion(v1);
  ASSERT_OK(this->store().Update(v2, 1));
  ASSERT_OK(this->store().RecordLastUsed({{"a", 5'000}}));
  EXPECT_TRUE(absl::IsAborted(this->store().Delete("a", 1)));
  EXPECT_TRUE(absl::IsAborted(this->store().Delete("a", 3)));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, v2));
  ASSERT_OK_AND_ASSIGN(const std::string by_token, this->store().FindByTokenDigest(conformance::TokenDigestOf("a")));
  EXPECT_EQ(by_token, "a");
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 5'000);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 5'000}}));
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
  ASSERT_OK(this->store().Delete("a", 2));
}

TYPED_TEST_P(ClientStoreConformanceTest, DeleteOfAnUnknownClientIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(this->store().Delete("never", 1)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  ASSERT_OK(this->store().Delete("a", 1));
  EXPECT_TRUE(absl::IsNotFound(this->store().Delete("a", 1)));
}

// --- The registration access token index ---

TYPED_TEST_P(ClientStoreConformanceTest, FindByTokenDigestFollowsCreateUpdateAndDelete) {
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("unknown").status()));
  const StoredClient v1 = conformance::MakeClient("a");
  ASSERT_OK(this->store().Create(v1));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b")));
  ASSERT_OK_AND_ASSIGN(std::string found, this->store().FindByTokenDigest(conformance::TokenDigestOf("a")));
  EXPECT_EQ(found, "a");

  // Another token: the old digest finds nothing, at once.
  StoredClient v2 = conformance::NextVersion(v1);
  v2.set_registration_access_token_digest("rotated");
  ASSERT_OK(this->store().Update(v2, 1));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("a")).status()));
  ASSERT_OK_AND_ASSIGN(found, this->store().FindByTokenDigest("rotated"));
  EXPECT_EQ(found, "a");

  // The same token in a new version stays indexed.
  const StoredClient v3 = conformance::NextVersion(v2);
  ASSERT_OK(this->store().Update(v3, 2));
  ASSERT_OK_AND_ASSIGN(found, this->store().FindByTokenDigest("rotated"));
  EXPECT_EQ(found, "a");

  // No token, then a token again.
  StoredClient v4 = conformance::NextVersion(v3);
  v4.clear_registration_access_token_digest();
  ASSERT_OK(this->store().Update(v4, 3));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("rotated").status()));
  StoredClient v5 = conformance::NextVersion(v4);
  v5.set_registration_access_token_digest("reissued");
  ASSERT_OK(this->store().Update(v5, 4));
  ASSERT_OK_AND_ASSIGN(found, this->store().FindByTokenDigest("reissued"));
  EXPECT_EQ(found, "a");

  ASSERT_OK(this->store().Delete("a", 5));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("reissued").status()));
  // The other client's entry was never touched.
  ASSERT_OK_AND_ASSIGN(found, this->store().FindByTokenDigest(conformance::TokenDigestOf("b")));
  EXPECT_EQ(found, "b");
}

TYPED_TEST_P(ClientStoreConformanceTest, AClientWithoutATokenIsFoundByNoDigest) {
  StoredClient client = conformance::MakeClient("a");
  client.clear_registration_access_token_digest();
  ASSERT_OK(this->store().Create(client));
  EXPECT_OK(this->store().Get("a"));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest("").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("a")).status()));
}

// --- ForEach, ScanFrom ---

TYPED_TEST_P(ClientStoreConformanceTest, ForEachVisitsEveryClientInIdOrder) {
  for (const char* id : {"m", "b", "z", "a", "ab"}) ASSERT_OK(this->store().Create(conformance::MakeClient(id)));
  ASSERT_OK(this->store().Delete("z", 1));
  EXPECT_EQ(conformance::ClientIds(this->store()), (std::vector<std::string>{"a", "ab", "b", "m"}));
  // A visit may read from the store.
  int read = 0;
  EXPECT_OK(this->store().ForEach([&](const StoredClient& client) -> absl::Status {
    absl::StatusOr<StoredClient> again = this->store().Get(client.client_id());
    if (!again.ok()) return again.status();
    if (!conformance::SameMessage(*again, client)) return absl::InternalError("visited client differs from Get");
    ++read;
    return absl::OkStatus();
  }));
  EXPECT_EQ(read, 4);
}

TYPED_TEST_P(ClientStoreConformanceTest, ForEachStopsAtAndReturnsTheFirstError) {
  for (const char* id : {"a", "b", "c"}) ASSERT_OK(this->store().Create(conformance::MakeClient(id)));
  std::vector<std::string> visited;
  const absl::Status status = this->store().ForEach([&](const StoredClient& client) -> absl::Status {
    visited.push_back(client.client_id());
    if (client.client_id() == "b") return absl::CancelledError("enough");
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_EQ(status.message(), "enough");
  EXPECT_EQ(visited, (std::vector<std::string>{"a", "b"}));
  EXPECT_OK(this->store().ForEach([](const StoredClient&) { return absl::OkStatus(); }));
}

TYPED_TEST_P(ClientStoreConformanceTest, ScanFromStartsAfterTheGivenIdAndStopsWhenAsked) {
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_OK(this->store().Create(conformance::MakeClient(id)));
  EXPECT_EQ(conformance::ScannedIds(this->store(), ""), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(conformance::ScannedIds(this->store(), "b"), (std::vector<std::string>{"c", "d"}));
  // start_after need not be stored.
  EXPECT_EQ(conformance::ScannedIds(this->store(), "bb"), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(conformance::ScannedIds(this->store(), "d"), std::vector<std::string>{});
  EXPECT_EQ(conformance::ScannedIds(this->store(), "", 2), (std::vector<std::string>{"a", "b"}));

  std::vector<std::string> visited;
  const absl::Status error = this->store().ScanFrom("a", [&](const StoredClient& client) -> absl::StatusOr<bool> {
    visited.push_back(client.client_id());
    if (client.client_id() == "c") return absl::AbortedError("stop here");
    return true;
  });
  EXPECT_TRUE(absl::IsAborted(error)) << error;
  EXPECT_EQ(visited, (std::vector<std::string>{"b", "c"}));
}

TYPED_TEST_P(ClientStoreConformanceTest, ScanFromPagesThroughEveryClientOnce) {
  std::vector<std::string> expected;
  for (int i = 0; i < 53; ++i) {
    expected.push_back(absl::StrCat("client-", 1000 + i));
    ASSERT_OK(this->store().Create(conformance::MakeClient(expected.back())));
  }
  std::vector<std::string> paged;
  std::string start_after;
  for (;;) {
    const std::vector<std::string> page = conformance::ScannedIds(this->store(), start_after, 10);
    paged.insert(paged.end(), page.begin(), page.end());
    if (page.size() < 10) break;
    start_after = page.back();
  }
  EXPECT_EQ(paged, expected);
}

// --- Last use ---

TYPED_TEST_P(ClientStoreConformanceTest, RecordLastUsedKeepsTheLatestTime) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b")));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 0);
  ASSERT_OK(this->store().RecordLastUsed({{"a", 5'000}}));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 5'000);
  // Never backwards, whether in a later call or in the same one.
  ASSERT_OK(this->store().RecordLastUsed({{"a", 4'000}}));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 5'000);
  ASSERT_OK(this->store().RecordLastUsed({{"a", 7'000}, {"b", 3'000}, {"a", 6'000}, {"b", 2'000}}));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 7'000);
  EXPECT_EQ(conformance::LastUsed(this->store(), "b"), 3'000);
  // Times that are not positive are ignored.
  ASSERT_OK(this->store().Create(conformance::MakeClient("c")));
  ASSERT_OK(this->store().RecordLastUsed({{"c", 0}, {"c", -5}}));
  EXPECT_EQ(conformance::LastUsed(this->store(), "c"), 0);
  EXPECT_TRUE(conformance::Lists(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), "c"));
  // The record is the client's own: last use is kept apart from it.
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
  EXPECT_TRUE(conformance::SameMessage(stored, conformance::MakeClient("a")));
  // An Update keeps the last use.
  ASSERT_OK(this->store().Update(conformance::NextVersion(stored), 1));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 7'000);
}

TYPED_TEST_P(ClientStoreConformanceTest, RecordLastUsedIgnoresUnknownClients) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  ASSERT_OK(this->store().RecordLastUsed({{"ghost", 5'000}, {"a", 6'000}}));
  EXPECT_EQ(conformance::LastUsed(this->store(), "ghost"), 0);
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 6'000);
  EXPECT_FALSE(conformance::Lists(conformance::Entries(this->store(), LifecycleIndex::kIdle), "ghost"));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("ghost").status()));
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"a"});
  // A client created later under that id was never used.
  ASSERT_OK(this->store().Create(conformance::MakeClient("ghost")));
  EXPECT_EQ(conformance::LastUsed(this->store(), "ghost"), 0);
  EXPECT_OK(this->store().RecordLastUsed({}));
}

TYPED_TEST_P(ClientStoreConformanceTest, ConcurrentRecordLastUsedKeepsTheMaximum) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("a", 10)));
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  testing::RunConcurrently(kThreads, [&](int i) {
    for (int n = 0; n < kRounds; ++n) {
      // Every thread's times interleave with the others', rising and falling.
      const int64_t time = 1'000 + ((n * 7 + i * 13) % kRounds) * kThreads + i;
      EXPECT_OK(this->store().RecordLastUsed({{"a", time}}));
    }
  });
  const int64_t max = 1'000 + (kRounds - 1) * kThreads + (kThreads - 1);
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), max);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", max}}));
  EXPECT_TRUE(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed).empty());
}

// --- CountClients ---

TYPED_TEST_P(ClientStoreConformanceTest, CountClientsFollowsEveryChangeOfState) {
  using Pair = std::pair<int64_t, int64_t>;  // active, disabled
  auto counts = [this] {
    const ClientCounts counts = conformance::Counts(this->store());
    return std::pair(counts.active, counts.disabled);
  };
  EXPECT_EQ(counts(), Pair(0, 0));
  const StoredClient a = conformance::MakeClient("a", 10);
  ASSERT_OK(this->store().Create(a));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b")));
  StoredClient disabled = conformance::MakeClient("c");
  disabled.set_state(StoredClient::STATE_DISABLED);
  ASSERT_OK(this->store().Create(disabled));
  EXPECT_EQ(counts(), Pair(2, 1));
  // In neither count, but a client all the same.
  StoredClient unspecified = conformance::MakeClient("u");
  unspecified.set_state(StoredClient::STATE_UNSPECIFIED);
  ASSERT_OK(this->store().Create(unspecified));
  EXPECT_EQ(counts(), Pair(2, 1));
  EXPECT_EQ(conformance::ClientIds(this->store()).size(), 4u);

  // Disable b; an Update that keeps the state counts nothing; a refused one counts nothing.
  StoredClient b2 = conformance::NextVersion(conformance::MakeClient("b"));
  b2.set_state(StoredClient::STATE_DISABLED);
  ASSERT_OK(this->store().Update(b2, 1));
  EXPECT_EQ(counts(), Pair(1, 2));
  ASSERT_OK(this->store().Update(conformance::NextVersion(b2), 2));
  EXPECT_EQ(counts(), Pair(1, 2));
  StoredClient stale = conformance::NextVersion(b2);
  stale.set_state(StoredClient::STATE_ACTIVE);
  EXPECT_TRUE(absl::IsAborted(this->store().Update(stale, 2)));
  EXPECT_EQ(counts(), Pair(1, 2));
  // From unspecified into a count.
  StoredClient u2 = conformance::NextVersion(unspecified);
  u2.set_state(StoredClient::STATE_ACTIVE);
  ASSERT_OK(this->store().Update(u2, 1));
  EXPECT_EQ(counts(), Pair(2, 2));

  ASSERT_OK(this->store().Delete("c", 1));
  EXPECT_EQ(counts(), Pair(2, 1));
  EXPECT_TRUE(absl::IsAborted(this->store().Delete("b", 1)));
  EXPECT_EQ(counts(), Pair(2, 1));
  ASSERT_OK(this->store().Reap(conformance::TombstoneOf(a, StoredTombstone::REASON_NEVER_USED), 1,
                               LifecycleIndex::kNeverUsed, 100));
  EXPECT_EQ(counts(), Pair(1, 1));
  // Tokens are not clients.
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("t")));
  EXPECT_EQ(counts(), Pair(1, 1));
  this->Reopen();
  EXPECT_EQ(counts(), Pair(1, 1));
}

// --- Lifecycle indexes ---

TYPED_TEST_P(ClientStoreConformanceTest, ListByLifecycleOrdersByTimeThenIdBeforeTheBound) {
  // Created out of order; b and c share a time; a time before the epoch sorts first.
  ASSERT_OK(this->store().Create(conformance::MakeClient("d", 300)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("c", 200)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b", 200)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("a", 100)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("old", -50)));
  const std::vector<LifecycleEntry> all = {{"old", -50}, {"a", 100}, {"b", 200}, {"c", 200}, {"d", 300}};
  for (const LifecycleIndex index : {LifecycleIndex::kNeverUsed, LifecycleIndex::kIdle}) {
    SCOPED_TRACE(index == LifecycleIndex::kNeverUsed ? "never used" : "idle");
    EXPECT_EQ(conformance::Entries(this->store(), index), all);
    // Strictly before the bound.
    EXPECT_EQ(conformance::Entries(this->store(), index, 200), (std::vector<LifecycleEntry>{{"old", -50}, {"a", 100}}));
    EXPECT_EQ(conformance::Entries(this->store(), index, 201),
              (std::vector<LifecycleEntry>(all.begin(), all.end() - 1)));
    EXPECT_TRUE(conformance::Entries(this->store(), index, -50).empty());
    // A limit; none at all.
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> two,
                         this->store().ListByLifecycle(index, conformance::kEndOfTime, 2));
    EXPECT_EQ(two, (std::vector<LifecycleEntry>{{"old", -50}, {"a", 100}}));
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> none,
                         this->store().ListByLifecycle(index, conformance::kEndOfTime, 0));
    EXPECT_TRUE(none.empty());
    // Pages go on after the last entry, within a time and across times.
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> after_b,
                         this->store().ListByLifecycle(index, conformance::kEndOfTime, 2, LifecycleEntry{"b", 200}));
    EXPECT_EQ(after_b, (std::vector<LifecycleEntry>{{"c", 200}, {"d", 300}}));
    // start_after need not be in the index.
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> after_gone,
                         this->store().ListByLifecycle(index, conformance::kEndOfTime, 10, LifecycleEntry{"bb", 200}));
    EXPECT_EQ(after_gone, (std::vector<LifecycleEntry>{{"c", 200}, {"d", 300}}));
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> after_time,
                         this->store().ListByLifecycle(index, conformance::kEndOfTime, 10, LifecycleEntry{"zzz", 150}));
    EXPECT_EQ(after_time, (std::vector<LifecycleEntry>{{"b", 200}, {"c", 200}, {"d", 300}}));
    ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> after_bound,
                         this->store().ListByLifecycle(index, 250, 10, LifecycleEntry{"c", 200}));
    EXPECT_TRUE(after_bound.empty());
  }
}

TYPED_TEST_P(ClientStoreConformanceTest, ALastUseMovesTheClientFromNeverUsedToItsTimeInIdle) {
  ASSERT_OK(this->store().Create(conformance::MakeClient("a", 100)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("b", 200)));
  ASSERT_OK(this->store().Create(conformance::MakeClient("c", 300)));
  ASSERT_OK(this->store().RecordLastUsed({{"a", 900}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed),
            (std::vector<LifecycleEntry>{{"b", 200}, {"c", 300}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"b", 200}, {"c", 300}, {"a", 900}}));
  ASSERT_OK(this->store().RecordLastUsed({{"a", 950}, {"b", 250}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"c", 300}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"b", 250}, {"c", 300}, {"a", 950}}));
  // An older use moves nothing.
  ASSERT_OK(this->store().RecordLastUsed({{"a", 400}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"b", 250}, {"c", 300}, {"a", 950}}));
}

TYPED_TEST_P(ClientStoreConformanceTest, UpdateKeepsTheEntriesAndMovesThemWithTheIssueTime) {
  const StoredClient a = conformance::MakeClient("a", 100);
  ASSERT_OK(this->store().Create(a));
  const StoredClient b = conformance::MakeClient("b", 200);
  ASSERT_OK(this->store().Create(b));
  ASSERT_OK(this->store().RecordLastUsed({{"b", 900}}));
  ASSERT_OK(this->store().Update(conformance::NextVersion(a), 1));
  ASSERT_OK(this->store().Update(conformance::NextVersion(b), 1));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"a", 100}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"a", 100}, {"b", 900}}));
  // A new issue time moves the entries keyed by it, and only those.
  StoredClient a3 = conformance::NextVersion(conformance::NextVersion(a));
  a3.set_client_id_issued_at(1'000);
  ASSERT_OK(this->store().Update(a3, 2));
  StoredClient b3 = conformance::NextVersion(conformance::NextVersion(b));
  b3.set_client_id_issued_at(50);
  ASSERT_OK(this->store().Update(b3, 2));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed),
            (std::vector<LifecycleEntry>{{"a", 1'000}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"b", 900}, {"a", 1'000}}));
}

// --- Reap and tombstones ---

TYPED_TEST_P(ClientStoreConformanceTest, ReapDeletesTheClientAndLeavesItsTombstone) {
  const StoredClient idle = conformance::MakeClient("idle", 100);
  ASSERT_OK(this->store().Create(idle));
  const StoredClient fresh = conformance::MakeClient("fresh", 150);
  ASSERT_OK(this->store().Create(fresh));
  ASSERT_OK(this->store().RecordLastUsed({{"idle", 500}}));
  const StoredTombstone tombstone = conformance::TombstoneOf(idle, StoredTombstone::REASON_IDLE, 500);
  ASSERT_OK(this->store().Reap(tombstone, 1, LifecycleIndex::kIdle, 501));

  EXPECT_TRUE(absl::IsNotFound(this->store().Get("idle").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("idle")).status()));
  EXPECT_EQ(conformance::LastUsed(this->store(), "idle"), 0);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 150}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed),
            (std::vector<LifecycleEntry>{{"fresh", 150}}));
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"fresh"});
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
  ASSERT_OK_AND_ASSIGN(const StoredTombstone stored, this->store().GetTombstone("idle"));
  EXPECT_TRUE(conformance::SameMessage(stored, tombstone));

  // By the other index.
  ASSERT_OK(this->store().Reap(conformance::TombstoneOf(fresh, StoredTombstone::REASON_NEVER_USED), 1,
                               LifecycleIndex::kNeverUsed, 151));
  EXPECT_TRUE(conformance::ClientIds(this->store()).empty());
  EXPECT_EQ(conformance::TombstoneIds(this->store()), (std::vector<std::string>{"fresh", "idle"}));
  EXPECT_EQ(conformance::Counts(this->store()).active, 0);
}

TYPED_TEST_P(ClientStoreConformanceTest, ReapKeepsAClientThatIsNotAtTheVersionOrNoLongerDue) {
  const StoredClient a = conformance::MakeClient("a", 100);
  ASSERT_OK(this->store().Create(a));
  const StoredTombstone tombstone = conformance::TombstoneOf(a, StoredTombstone::REASON_NEVER_USED);
  // Not at the version.
  EXPECT_TRUE(absl::IsAborted(this->store().Reap(tombstone, 2, LifecycleIndex::kNeverUsed, 101)));
  // Not before the bound: its time equals it.
  EXPECT_TRUE(absl::IsFailedPrecondition(this->store().Reap(tombstone, 1, LifecycleIndex::kNeverUsed, 100)));
  // Used since it was listed: no longer in the never-used index, and later in the idle one.
  ASSERT_OK(this->store().RecordLastUsed({{"a", 700}}));
  EXPECT_TRUE(absl::IsFailedPrecondition(this->store().Reap(tombstone, 1, LifecycleIndex::kNeverUsed, 101)));
  EXPECT_TRUE(absl::IsFailedPrecondition(this->store().Reap(tombstone, 1, LifecycleIndex::kIdle, 101)));
  // Changed since it was listed.
  ASSERT_OK(this->store().Update(conformance::NextVersion(a), 1));
  EXPECT_TRUE(absl::IsAborted(this->store().Reap(tombstone, 1, LifecycleIndex::kIdle, 701)));
  // Unknown, and unnamed.
  EXPECT_TRUE(absl::IsNotFound(
      this->store().Reap(conformance::TombstoneOf(conformance::MakeClient("never"), StoredTombstone::REASON_IDLE), 1,
                         LifecycleIndex::kIdle, conformance::kEndOfTime)));
  StoredTombstone unnamed = tombstone;
  unnamed.clear_client_id();
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().Reap(unnamed, 2, LifecycleIndex::kIdle, conformance::kEndOfTime)));

  // Nothing was reaped.
  EXPECT_OK(this->store().Get("a"));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 700);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 700}}));
  EXPECT_TRUE(absl::IsNotFound(this->store().GetTombstone("a").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().GetTombstone("never").status()));
  EXPECT_TRUE(conformance::TombstoneIds(this->store()).empty());
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
  // Due at last, at its version.
  ASSERT_OK(this->store().Reap(conformance::TombstoneOf(a, StoredTombstone::REASON_IDLE, 700), 2, LifecycleIndex::kIdle,
                               701));
  EXPECT_TRUE(absl::IsNotFound(this->store().Reap(tombstone, 2, LifecycleIndex::kIdle, 701)));
}

TYPED_TEST_P(ClientStoreConformanceTest, AReapedIdIsNeverCreatedAgain) {
  const StoredClient a = conformance::MakeClient("a", 100);
  ASSERT_OK(this->store().Create(a));
  ASSERT_OK(this->store().RecordLastUsed({{"a", 200}}));
  const StoredTombstone tombstone = conformance::TombstoneOf(a, StoredTombstone::REASON_IDLE, 200);
  ASSERT_OK(this->store().Reap(tombstone, 1, LifecycleIndex::kIdle, 300));
  EXPECT_TRUE(absl::IsAlreadyExists(this->store().Create(conformance::MakeClient("a", 400))));
  EXPECT_TRUE(absl::IsAlreadyExists(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("a", 400))));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("a").status()));
  EXPECT_EQ(conformance::LastUsed(this->store(), "a"), 0);
  ASSERT_OK_AND_ASSIGN(const StoredTombstone kept, this->store().GetTombstone("a"));
  EXPECT_TRUE(conformance::SameMessage(kept, tombstone));
  EXPECT_TRUE(conformance::Entries(this->store(), LifecycleIndex::kIdle).empty());
}

TYPED_TEST_P(ClientStoreConformanceTest, ScanTombstonesVisitsTombstonesInIdOrder) {
  for (const char* id : {"d", "b", "a", "c"}) {
    const StoredClient client = conformance::MakeClient(id, 100);
    ASSERT_OK(this->store().Create(client));
    ASSERT_OK(this->store().Reap(conformance::TombstoneOf(client, StoredTombstone::REASON_NEVER_USED), 1,
                                 LifecycleIndex::kNeverUsed, 101));
  }
  ASSERT_OK(this->store().Create(conformance::MakeClient("alive", 100)));
  EXPECT_EQ(conformance::TombstoneIds(this->store()), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(conformance::TombstoneIds(this->store(), "b"), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(conformance::TombstoneIds(this->store(), "bb"), (std::vector<std::string>{"c", "d"}));
  EXPECT_TRUE(conformance::TombstoneIds(this->store(), "d").empty());
  // Tombstones are not clients.
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"alive"});

  std::vector<std::string> visited;
  EXPECT_OK(this->store().ScanTombstones("", [&](const StoredTombstone& tombstone) -> absl::StatusOr<bool> {
    visited.push_back(tombstone.client_id());
    return visited.size() < 2;
  }));
  EXPECT_EQ(visited, (std::vector<std::string>{"a", "b"}));
  visited.clear();
  const absl::Status error =
      this->store().ScanTombstones("a", [&](const StoredTombstone& tombstone) -> absl::StatusOr<bool> {
        visited.push_back(tombstone.client_id());
        return absl::DataLossError("bad tombstone");
      });
  EXPECT_TRUE(absl::IsDataLoss(error)) << error;
  EXPECT_EQ(visited, std::vector<std::string>{"b"});
}

// --- Initial access tokens ---

TYPED_TEST_P(ClientStoreConformanceTest, InitialAccessTokensAreFoundByDigestAndListedById) {
  EXPECT_TRUE(absl::IsNotFound(this->store().FindInitialAccessToken("iat-digest-a").status()));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> empty, this->store().ListInitialAccessTokens());
  EXPECT_TRUE(empty.empty());
  const StoredInitialAccessToken b = conformance::MakeToken("b");
  const StoredInitialAccessToken a = conformance::MakeToken("a", 3, conformance::kNow + 60);
  ASSERT_OK(this->store().CreateInitialAccessToken(b));
  ASSERT_OK(this->store().CreateInitialAccessToken(a));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken found, this->store().FindInitialAccessToken("iat-digest-a"));
  EXPECT_TRUE(conformance::SameMessage(found, a));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindInitialAccessToken("iat-digest-c").status()));
  // By digest only: an id is no digest.
  EXPECT_TRUE(absl::IsNotFound(this->store().FindInitialAccessToken("a").status()));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> listed, this->store().ListInitialAccessTokens());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_TRUE(conformance::SameMessage(listed[0], a));
  EXPECT_TRUE(conformance::SameMessage(listed[1], b));
  // Tokens are not clients.
  EXPECT_TRUE(conformance::ClientIds(this->store()).empty());
  EXPECT_EQ(conformance::Counts(this->store()).active, 0);
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateInitialAccessTokenRefusesDuplicatesAndEmptyKeys) {
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("a")));
  StoredInitialAccessToken same_id = conformance::MakeToken("a");
  same_id.set_digest("another digest");
  EXPECT_TRUE(absl::IsAlreadyExists(this->store().CreateInitialAccessToken(same_id)));
  StoredInitialAccessToken same_digest = conformance::MakeToken("b");
  same_digest.set_digest("iat-digest-a");
  EXPECT_TRUE(absl::IsAlreadyExists(this->store().CreateInitialAccessToken(same_digest)));
  StoredInitialAccessToken no_id = conformance::MakeToken("c");
  no_id.clear_id();
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().CreateInitialAccessToken(no_id)));
  StoredInitialAccessToken no_digest = conformance::MakeToken("d");
  no_digest.clear_digest();
  EXPECT_TRUE(absl::IsInvalidArgument(this->store().CreateInitialAccessToken(no_digest)));
  // Only the first was written.
  EXPECT_TRUE(absl::IsNotFound(this->store().FindInitialAccessToken("another digest").status()));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> listed, this->store().ListInitialAccessTokens());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conformance::SameMessage(listed[0], conformance::MakeToken("a")));
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateUsingATokenCountsTheUseWithTheClient) {
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("t", 2)));
  const InitialAccessTokenUse use{"t", conformance::kNow};
  ASSERT_OK(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("c1"), use));
  EXPECT_EQ(conformance::TokenUses(this->store(), "t"), 1u);
  ASSERT_OK(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("c2"), use));
  EXPECT_EQ(conformance::TokenUses(this->store(), "t"), 2u);
  // Used up.
  const absl::Status third = conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("c3"), use);
  EXPECT_TRUE(absl::IsFailedPrecondition(third)) << third;
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("c3").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("c3")).status()));
  EXPECT_EQ(conformance::TokenUses(this->store(), "t"), 2u);
  EXPECT_EQ(conformance::Counts(this->store()).active, 2);

  // A Create refused for its id consumes nothing.
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("u", 5)));
  EXPECT_TRUE(absl::IsAlreadyExists(
      conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("c1"), InitialAccessTokenUse{"u", 1})));
  EXPECT_EQ(conformance::TokenUses(this->store(), "u"), 0u);

  // Unlimited.
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("unlimited")));
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient(absl::StrCat("u", i)),
                                              InitialAccessTokenUse{"unlimited", conformance::kNow}));
  }
  EXPECT_EQ(conformance::TokenUses(this->store(), "unlimited"), 5u);

  // The uses are as durable as the clients.
  this->Reopen();
  EXPECT_EQ(conformance::TokenUses(this->store(), "t"), 2u);
  EXPECT_EQ(conformance::TokenUses(this->store(), "unlimited"), 5u);
  EXPECT_EQ(conformance::Counts(this->store()).active, 7);
}

TYPED_TEST_P(ClientStoreConformanceTest, CreateUsingAnExpiredRevokedOrUnknownTokenCreatesNothing) {
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("expired", 0, conformance::kNow)));
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("later", 0, conformance::kNow + 1)));
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("revoked")));
  ASSERT_OK(this->store().RevokeInitialAccessToken("revoked", conformance::kNow - 1).status());
  auto create_using = [this](const std::string& client_id, const std::string& token_id) {
    return conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient(client_id),
                                           InitialAccessTokenUse{token_id, conformance::kNow});
  };
  // expires_at <= now is expired.
  EXPECT_TRUE(absl::IsFailedPrecondition(create_using("c1", "expired")));
  EXPECT_TRUE(absl::IsFailedPrecondition(create_using("c2", "revoked")));
  EXPECT_TRUE(absl::IsFailedPrecondition(create_using("c3", "unknown")));
  EXPECT_OK(create_using("c4", "later"));
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"c4"});
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("c1")).status()));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed),
            (std::vector<LifecycleEntry>{{"c4", 1'000}}));
  EXPECT_EQ(conformance::TokenUses(this->store(), "expired"), 0u);
  EXPECT_EQ(conformance::TokenUses(this->store(), "revoked"), 0u);
  EXPECT_EQ(conformance::TokenUses(this->store(), "later"), 1u);
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
}

TYPED_TEST_P(ClientStoreConformanceTest, RevokeIsDurableIdempotentAndNotFoundForUnknownIds) {
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("t", 4)));
  ASSERT_OK(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("c1"),
                                            InitialAccessTokenUse{"t", conformance::kNow}));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken revoked,
                       this->store().RevokeInitialAccessToken("t", conformance::kNow));
  StoredInitialAccessToken expected = conformance::MakeToken("t", 4);
  expected.set_uses(1);
  expected.set_revoked(true);
  expected.set_revoked_at(conformance::kNow);
  EXPECT_TRUE(conformance::SameMessage(revoked, expected));
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken again,
                       this->store().RevokeInitialAccessToken("t", conformance::kNow + 5));
  EXPECT_TRUE(conformance::SameMessage(again, expected));
  EXPECT_TRUE(absl::IsNotFound(this->store().RevokeInitialAccessToken("nope", conformance::kNow).status()));
  // A revoked token registers nothing more.
  EXPECT_TRUE(absl::IsFailedPrecondition(conformance::CreateAsyncAndWait(
      this->store(), conformance::MakeClient("c2"), InitialAccessTokenUse{"t", conformance::kNow})));

  this->Reopen();
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken reopened, this->store().FindInitialAccessToken("iat-digest-t"));
  EXPECT_TRUE(conformance::SameMessage(reopened, expected));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoredInitialAccessToken> listed, this->store().ListInitialAccessTokens());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(conformance::SameMessage(listed[0], expected));
}

TYPED_TEST_P(ClientStoreConformanceTest, NoCreateAcknowledgedAfterARevokeUsedTheToken) {
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("t")));
  std::atomic<bool> revoked{false};
  std::atomic<int> created_after_revoke{0};
  std::atomic<int> created{0};
  std::atomic<int> finished{0};
  testing::RunConcurrently(5, [&](int i) {
    if (i == 0) {
      // Let the others get going first.
      while (created.load() < 4 && finished.load() < 4) std::this_thread::yield();
      EXPECT_OK(this->store().RevokeInitialAccessToken("t", conformance::kNow));
      revoked = true;
      return;
    }
    for (int n = 0; n < 40; ++n) {
      const bool started_after_revoke = revoked.load();
      const absl::Status status =
          conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient(absl::StrCat("c", i, "-", n)),
                                          InitialAccessTokenUse{"t", conformance::kNow});
      if (status.ok()) {
        ++created;
        if (started_after_revoke) ++created_after_revoke;
      } else {
        EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
      }
    }
    ++finished;
  });
  EXPECT_TRUE(revoked.load());
  EXPECT_GE(created.load(), 4);
  EXPECT_EQ(created_after_revoke.load(), 0);
  EXPECT_EQ(static_cast<int64_t>(conformance::TokenUses(this->store(), "t")), created.load());
  EXPECT_EQ(conformance::Counts(this->store()).active, created.load());
}

// --- Health ---

TYPED_TEST_P(ClientStoreConformanceTest, CheckHealthIsOkOnAWorkingStore) {
  EXPECT_OK(this->store().CheckHealth());
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  EXPECT_OK(this->store().CheckHealth());
  EXPECT_OK(this->store().CheckHealth());
  // A health check is no client.
  EXPECT_EQ(conformance::ClientIds(this->store()), std::vector<std::string>{"a"});
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
}

// --- Concurrency ---

TYPED_TEST_P(ClientStoreConformanceTest, ConcurrentUpdatesFromOneVersionLetExactlyOneWin) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  ASSERT_OK(this->store().Create(conformance::MakeClient("a")));
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_OK_AND_ASSIGN(const StoredClient current, this->store().Get("a"));
    ASSERT_EQ(current.version(), static_cast<uint64_t>(round + 1));
    std::atomic<int> won{0};
    std::atomic<int> aborted{0};
    std::atomic<int> winner{-1};
    testing::RunConcurrently(kThreads, [&](int i) {
      StoredClient next = conformance::NextVersion(current, absl::StrCat("round ", round, " thread ", i));
      next.set_registration_access_token_digest(absl::StrCat("digest ", round, " ", i));
      const absl::Status status = this->store().Update(next, current.version());
      if (status.ok()) {
        ++won;
        winner = i;
      } else if (absl::IsAborted(status)) {
        ++aborted;
      } else {
        ADD_FAILURE() << status;
      }
    });
    ASSERT_EQ(won.load(), 1);
    EXPECT_EQ(aborted.load(), kThreads - 1);
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, this->store().Get("a"));
    EXPECT_EQ(stored.metadata().client_name(), absl::StrCat("round ", round, " thread ", winner.load()));
    // Only the winner's token works.
    for (int i = 0; i < kThreads; ++i) {
      const absl::StatusOr<std::string> found = this->store().FindByTokenDigest(absl::StrCat("digest ", round, " ", i));
      EXPECT_EQ(found.ok(), i == winner.load()) << found.status();
    }
  }
  ASSERT_OK_AND_ASSIGN(const StoredClient last, this->store().Get("a"));
  EXPECT_EQ(last.version(), static_cast<uint64_t>(kRounds + 1));
  EXPECT_EQ(conformance::Counts(this->store()).active, 1);
}

TYPED_TEST_P(ClientStoreConformanceTest, ConcurrentCreateAsyncOfDistinctClientsAreAllDurable) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  testing::RunConcurrently(kThreads, [&](int i) {
    // Shared with the callbacks: the last may still be unlocking when this thread wakes and returns.
    auto pending = std::make_shared<conformance::Countdown>(kPerThread);
    for (int n = 0; n < kPerThread; ++n) {
      this->store().CreateAsync(conformance::MakeClient(absl::StrCat("t", i, "-", n), 100 + n),
                                [pending, &failures](absl::Status status) {
                                  if (!status.ok()) ++failures;
                                  pending->CountDown();
                                });
    }
    pending->Wait();
  });
  EXPECT_EQ(failures.load(), 0);
  this->Reopen();
  EXPECT_EQ(conformance::ClientIds(this->store()).size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int i = 0; i < kThreads; ++i) {
    for (int n = 0; n < kPerThread; ++n) {
      const std::string id = absl::StrCat("t", i, "-", n);
      EXPECT_OK(this->store().Get(id));
      ASSERT_OK_AND_ASSIGN(const std::string by_token, this->store().FindByTokenDigest(conformance::TokenDigestOf(id)));
      EXPECT_EQ(by_token, id);
    }
  }
  EXPECT_EQ(conformance::Counts(this->store()).active, kThreads * kPerThread);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed).size(),
            static_cast<std::size_t>(kThreads * kPerThread));
}

TYPED_TEST_P(ClientStoreConformanceTest, ConcurrentTokenUsesNeverExceedMaxUses) {
  constexpr int kThreads = 24;
  constexpr uint32_t kMaxUses = 5;
  for (int round = 0; round < 3; ++round) {
    const std::string token_id = absl::StrCat("t", round);
    ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken(token_id, kMaxUses)));
    std::atomic<int> created{0};
    std::atomic<int> refused{0};
    testing::RunConcurrently(kThreads, [&](int i) {
      const absl::Status status =
          conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient(absl::StrCat(token_id, "-c", i)),
                                          InitialAccessTokenUse{token_id, conformance::kNow});
      if (status.ok()) {
        ++created;
      } else if (absl::IsFailedPrecondition(status)) {
        ++refused;
      } else {
        ADD_FAILURE() << status;
      }
    });
    EXPECT_EQ(created.load(), static_cast<int>(kMaxUses));
    EXPECT_EQ(refused.load(), kThreads - static_cast<int>(kMaxUses));
    EXPECT_EQ(conformance::TokenUses(this->store(), token_id), kMaxUses);
  }
  EXPECT_EQ(conformance::Counts(this->store()).active, 3 * static_cast<int64_t>(kMaxUses));
  EXPECT_EQ(conformance::ClientIds(this->store()).size(), 3 * kMaxUses);
}

// --- Durability ---

TYPED_TEST_P(ClientStoreConformanceTest, EverythingAcknowledgedIsThereAfterReopen) {
  const StoredClient kept = conformance::MakeClient("kept", 100);
  ASSERT_OK(this->store().Create(kept));
  const StoredClient updated_v1 = conformance::MakeClient("updated", 200);
  ASSERT_OK(this->store().Create(updated_v1));
  StoredClient updated = conformance::NextVersion(updated_v1);
  updated.set_registration_access_token_digest("rotated");
  updated.set_state(StoredClient::STATE_DISABLED);
  ASSERT_OK(this->store().Update(updated, 1));
  ASSERT_OK(this->store().Create(conformance::MakeClient("deleted", 300)));
  ASSERT_OK(this->store().Delete("deleted", 1));
  const StoredClient reaped = conformance::MakeClient("reaped", 50);
  ASSERT_OK(this->store().Create(reaped));
  const StoredTombstone tombstone = conformance::TombstoneOf(reaped, StoredTombstone::REASON_NEVER_USED);
  ASSERT_OK(this->store().Reap(tombstone, 1, LifecycleIndex::kNeverUsed, 60));
  ASSERT_OK(this->store().RecordLastUsed({{"kept", 900}}));
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("iat", 3)));
  ASSERT_OK(conformance::CreateAsyncAndWait(this->store(), conformance::MakeClient("by-token", 400),
                                            InitialAccessTokenUse{"iat", conformance::kNow}));

  this->Reopen();
  ASSERT_OK_AND_ASSIGN(const StoredClient kept_after, this->store().Get("kept"));
  EXPECT_TRUE(conformance::SameMessage(kept_after, kept));
  ASSERT_OK_AND_ASSIGN(const StoredClient updated_after, this->store().Get("updated"));
  EXPECT_TRUE(conformance::SameMessage(updated_after, updated));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("deleted").status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().Get("reaped").status()));
  EXPECT_EQ(conformance::ClientIds(this->store()), (std::vector<std::string>{"by-token", "kept", "updated"}));
  ASSERT_OK_AND_ASSIGN(std::string found, this->store().FindByTokenDigest("rotated"));
  EXPECT_EQ(found, "updated");
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("updated")).status()));
  EXPECT_TRUE(absl::IsNotFound(this->store().FindByTokenDigest(conformance::TokenDigestOf("deleted")).status()));
  ASSERT_OK_AND_ASSIGN(found, this->store().FindByTokenDigest(conformance::TokenDigestOf("by-token")));
  EXPECT_EQ(found, "by-token");
  // A clean close is no crash: even the unsynced last use is kept.
  EXPECT_EQ(conformance::LastUsed(this->store(), "kept"), 900);
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed),
            (std::vector<LifecycleEntry>{{"updated", 200}, {"by-token", 400}}));
  EXPECT_EQ(conformance::Entries(this->store(), LifecycleIndex::kIdle),
            (std::vector<LifecycleEntry>{{"updated", 200}, {"by-token", 400}, {"kept", 900}}));
  ASSERT_OK_AND_ASSIGN(const StoredTombstone tombstone_after, this->store().GetTombstone("reaped"));
  EXPECT_TRUE(conformance::SameMessage(tombstone_after, tombstone));
  EXPECT_TRUE(absl::IsAlreadyExists(this->store().Create(conformance::MakeClient("reaped"))));
  EXPECT_EQ(conformance::TokenUses(this->store(), "iat"), 1u);
  const ClientCounts counts = conformance::Counts(this->store());
  EXPECT_EQ(counts.active, 2);
  EXPECT_EQ(counts.disabled, 1);
  EXPECT_OK(this->store().CheckHealth());
}

// --- Failure ---

// While the storage refuses writes, every write is Unavailable (never OK) and the store is not healthy; once it
// takes writes again, the store is healthy at the next check without being reopened, and every refused change is
// there whole or not at all (class comment: Unavailable is "not acknowledged", not "certainly absent").
TYPED_TEST_P(ClientStoreConformanceTest, FailedWritesAreUnavailableAndNeverHalfDone) {
  const StoredClient updated_v1 = conformance::MakeClient("updated", 100);
  ASSERT_OK(this->store().Create(updated_v1));
  const StoredClient deleted = conformance::MakeClient("deleted", 200);
  ASSERT_OK(this->store().Create(deleted));
  const StoredClient reaped = conformance::MakeClient("reaped", 50);
  ASSERT_OK(this->store().Create(reaped));
  ASSERT_OK(this->store().CreateInitialAccessToken(conformance::MakeToken("iat", 3)));
  ASSERT_OK(this->store().RecordLastUsed({{"deleted", 700}}));
  ASSERT_OK(this->store().CheckHealth());

  StoredClient updated = conformance::NextVersion(updated_v1);
  updated.set_registration_access_token_digest("rotated");
  updated.set_state(StoredClient::STATE_DISABLED);
  const StoredClient created = conformance::MakeClient("created", 300);
  const StoredClient by_token = conformance::MakeClient("by-token", 400);

  this->factory_.SetWritesFail(true);
  EXPECT_EQ(this->store().Create(created).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().CheckHealth().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().Update(updated, 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().Delete("deleted", 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      this->store()
          .Reap(conformance::TombstoneOf(reaped, StoredTombstone::REASON_NEVER_USED), 1, LifecycleIndex::kNeverUsed, 60)
          .code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      conformance::CreateAsyncAndWait(this->store(), by_token, InitialAccessTokenUse{"iat", conformance::kNow}).code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().CreateInitialAccessToken(conformance::MakeToken("new-iat")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().RevokeInitialAccessToken("iat", conformance::kNow).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().RecordLastUsed({{"updated", 800}}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().CheckHealth().code(), absl::StatusCode::kUnavailable);

  this->factory_.SetWritesFail(false);
  EXPECT_OK(this->store().CheckHealth());
  EXPECT_OK(this->store().CheckHealth());

  // Each refused change is whole or absent, and the counts agree with what is there.
  const bool created_there = conformance::ExpectWholeOrAbsent(this->store(), created);
  const bool by_token_there = conformance::ExpectWholeOrAbsent(this->store(), by_token);
  EXPECT_EQ(conformance::TokenUses(this->store(), "iat"), by_token_there ? 1u : 0u);
  ASSERT_OK_AND_ASSIGN(const StoredClient updated_now, this->store().Get("updated"));
  const bool update_there = updated_now.version() == 2;
  EXPECT_TRUE(conformance::SameMessage(updated_now, update_there ? updated : updated_v1));
  EXPECT_EQ(this->store().FindByTokenDigest("rotated").ok(), update_there);
  EXPECT_EQ(this->store().FindByTokenDigest(conformance::TokenDigestOf("updated")).ok(), !update_there);
  const absl::StatusOr<StoredClient> deleted_now = this->store().Get("deleted");
  const bool delete_there = absl::IsNotFound(deleted_now.status());
  if (!delete_there) {
    ASSERT_OK(deleted_now);
    EXPECT_TRUE(conformance::SameMessage(*deleted_now, deleted));
  }
  EXPECT_EQ(this->store().FindByTokenDigest(conformance::TokenDigestOf("deleted")).ok(), !delete_there);
  EXPECT_EQ(conformance::LastUsed(this->store(), "deleted"), delete_there ? 0 : 700);
  const bool reap_there = absl::IsNotFound(this->store().Get("reaped").status());
  EXPECT_EQ(this->store().GetTombstone("reaped").ok(), reap_there);
  EXPECT_EQ(conformance::Lists(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), "reaped"), !reap_there);
  const int64_t updated_last_use = conformance::LastUsed(this->store(), "updated");
  EXPECT_TRUE(updated_last_use == 0 || updated_last_use == 800) << updated_last_use;
  EXPECT_EQ(conformance::Lists(conformance::Entries(this->store(), LifecycleIndex::kNeverUsed), "updated"),
            updated_last_use == 0);
  ASSERT_OK_AND_ASSIGN(const StoredInitialAccessToken iat, this->store().FindInitialAccessToken("iat-digest-iat"));
  EXPECT_EQ(iat.revoked(), iat.revoked_at() == conformance::kNow);
  const ClientCounts counts = conformance::Counts(this->store());
  const int64_t stored = static_cast<int64_t>(conformance::ClientIds(this->store()).size());
  EXPECT_EQ(counts.active + counts.disabled, stored);
  EXPECT_EQ(counts.disabled, update_there ? 1 : 0);

  // The store takes writes again without being reopened, and none of the above is lost by a reopen.
  ASSERT_OK(this->store().Create(conformance::MakeClient("after", 500)));
  this->Reopen();
  EXPECT_OK(this->store().Get("after"));
  EXPECT_EQ(this->store().Get("created").ok(), created_there);
  EXPECT_EQ(conformance::Counts(this->store()).active + conformance::Counts(this->store()).disabled, stored + 1);
}

REGISTER_TYPED_TEST_SUITE_P(
    ClientStoreConformanceTest,  //
    CreateThenGetReturnsTheClientAsWritten, GetOfAnUnknownIdIsNotFound,
    CreateOfAStoredIdIsAlreadyExistsAndKeepsTheFirst, CreateWithAnEmptyIdIsInvalidArgument,
    ConcurrentCreatesOfOneIdLetExactlyOneWin, CreateAsyncCallsDoneOnceAndTheClientIsDurable,
    CreateAsyncDoneMayQueueAnotherCreate, UpdateAtTheStoredVersionReplacesTheRecord,
    UpdateAtAStaleVersionIsAbortedAndChangesNothing, UpdateThatDoesNotAdvanceTheVersionIsInvalidArgument,
    UpdateOfAnUnknownOrDeletedClientIsNotFoundAndCreatesNothing,
    DeleteRemovesTheClientAndAllKeptWithItAndLeavesNoTombstone, DeleteAtAStaleVersionIsAbortedAndKeepsTheClient,
    DeleteOfAnUnknownClientIsNotFound, FindByTokenDigestFollowsCreateUpdateAndDelete,
    AClientWithoutATokenIsFoundByNoDigest, ForEachVisitsEveryClientInIdOrder, ForEachStopsAtAndReturnsTheFirstError,
    ScanFromStartsAfterTheGivenIdAndStopsWhenAsked, ScanFromPagesThroughEveryClientOnce,
    RecordLastUsedKeepsTheLatestTime, RecordLastUsedIgnoresUnknownClients, ConcurrentRecordLastUsedKeepsTheMaximum,
    CountClientsFollowsEveryChangeOfState, ListByLifecycleOrdersByTimeThenIdBeforeTheBound,
    ALastUseMovesTheClientFromNeverUsedToItsTimeInIdle, UpdateKeepsTheEntriesAndMovesThemWithTheIssueTime,
    ReapDeletesTheClientAndLeavesItsTombstone, ReapKeepsAClientThatIsNotAtTheVersionOrNoLongerDue,
    AReapedIdIsNeverCreatedAgain, ScanTombstonesVisitsTombstonesInIdOrder,
    InitialAccessTokensAreFoundByDigestAndListedById, CreateInitialAccessTokenRefusesDuplicatesAndEmptyKeys,
    CreateUsingATokenCountsTheUseWithTheClient, CreateUsingAnExpiredRevokedOrUnknownTokenCreatesNothing,
    RevokeIsDurableIdempotentAndNotFoundForUnknownIds, NoCreateAcknowledgedAfterARevokeUsedTheToken,
    CheckHealthIsOkOnAWorkingStore, ConcurrentUpdatesFromOneVersionLetExactlyOneWin,
    ConcurrentCreateAsyncOfDistinctClientsAreAllDurable, ConcurrentTokenUsesNeverExceedMaxUses,
    EverythingAcknowledgedIsThereAfterReopen, FailedWritesAreUnavailableAndNeverHalfDone);

}  // namespace clientreg::storage

#endif  // CLIENTREG_TESTS_STORAGE_CLIENT_STORE_CONFORMANCE_H_
