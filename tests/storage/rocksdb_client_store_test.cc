#include "storage/rocksdb_client_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clientreg/v1/stored.pb.h"
#include "common/metrics.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"
#include "rocksdb/options.h"
#include "storage/store_metrics.h"
#include "tests/status_matchers.h"
#include "tests/storage/rocksdb_store_fixture.h"
#include "tests/support/concurrently.h"
#include "tests/support/fault_injection_fs.h"

namespace clientreg::storage {
namespace {

using ::clientreg::testing::Fault;
using ::clientreg::testing::FaultInjectingFileSystem;
using ::clientreg::testing::RunConcurrently;
using ::clientreg::v1::StoredClient;

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
  RunConcurrently(kThreads, [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      if (!store->Create(MakeClient("t" + std::to_string(t) + "-" + std::to_string(i))).ok()) ++failures;
    }
  });
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

// Creates of one id submitted together usually land in one commit group: the group must still let exactly one win.
TEST_F(RocksDbClientStoreTest, AsyncCreatesOfOneIdInOneGroupLetExactlyOneWin) {
  constexpr int kCopies = 50;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::atomic<int> created{0}, already_exists{0}, other{0}, calls{0};
  absl::Notification all_done;
  for (int i = 0; i < kCopies; ++i) {
    StoredClient client = MakeClient("same-id");
    client.set_registration_access_token_digest("digest-" + std::to_string(i));
    store->CreateAsync(client, [&](absl::Status status) {
      if (status.ok()) {
        ++created;
      } else if (absl::IsAlreadyExists(status)) {
        ++already_exists;
      } else {
        ++other;
      }
      if (++calls == kCopies) all_done.Notify();
    });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(already_exists.load(), kCopies - 1);
  EXPECT_EQ(other.load(), 0);
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("same-id"));
  store.reset();
  // Only the winner's digest is indexed.
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{stored.registration_access_token_digest(), "same-id"}}));
}

// Many async Creates from several threads: each callback runs exactly once, after its client is readable, and
// closing the store right after submitting still commits everything queued.
TEST_F(RocksDbClientStoreTest, AsyncCreatesCompleteOnceEachAndSurviveAnImmediateClose) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::atomic<int> readable_when_called{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        const std::string id = "async-" + std::to_string(n);
        store->CreateAsync(MakeClient(id), [&, n, id, raw = store.get()](absl::Status status) {
          EXPECT_OK(status) << id;
          // Reads during the callback are allowed, and the write they acknowledge is already visible.
          if (raw->Get(id).ok()) ++readable_when_called;
          ++calls[n];
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  store.reset();  // waits for the committer, which drains the queue first
  for (int n = 0; n < kThreads * kPerThread; ++n) EXPECT_EQ(calls[n].load(), 1) << n;
  EXPECT_EQ(readable_when_called.load(), kThreads * kPerThread);
  ASSERT_OK_AND_ASSIGN(store, Open());
  EXPECT_EQ(VisitedIds(*store).size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(RocksDbClientStoreTest, AsyncCreateWithEmptyIdFailsAtOnceOnTheCallersThread) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const std::thread::id caller = std::this_thread::get_id();
  bool called = false;
  store->CreateAsync(MakeClient(""), [&](absl::Status status) {
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_EQ(std::this_thread::get_id(), caller);
    called = true;
  });
  EXPECT_TRUE(called);
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

TEST_F(RocksDbClientStoreTest, HealthFollowsFailedWritesAndRecoversByItself) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
  ASSERT_OK(store->CheckHealth());
  ASSERT_OK(store->Create(MakeClient("before")));
  ASSERT_OK(store->CheckHealth());

  file_system->set_fault(Fault::kAppendAndSync);
  EXPECT_EQ(store->Create(MakeClient("failed")).code(), absl::StatusCode::kUnavailable);
  // Not healthy while the disk refuses writes: the store cannot reopen, or the check's own probe write fails.
  EXPECT_EQ(store->CheckHealth().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->CheckHealth().code(), absl::StatusCode::kUnavailable);

  // No client writes anything, and the check still sees the disk recover.
  file_system->set_fault(Fault::kNone);
  ASSERT_OK(store->CheckHealth());
  ASSERT_OK(store->CheckHealth());
  ASSERT_OK(store->Create(MakeClient("after")));
  // The probe is no client.
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"after", "before"}));
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

// The ids ScanFrom visits after `start_after`, at most `limit` of them.
std::vector<std::string> ScanIds(const ClientStore& store, const std::string& start_after, std::size_t limit = 1000) {
  std::vector<std::string> ids;
  const absl::Status status = store.ScanFrom(start_after, [&ids, limit](const StoredClient& client) {
    ids.push_back(client.client_id());
    return ids.size() < limit;
  });
  EXPECT_OK(status);
  return ids;
}

// `client` as the next version, which is how callers of Update prepare a change.
StoredClient NextVersion(StoredClient client) {
  client.set_version(client.version() + 1);
  return client;
}

TEST_F(RocksDbClientStoreTest, ScanFromStartsAfterTheGivenIdWhetherOrNotItIsStored) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_TRUE(ScanIds(*store, "").empty());
  for (const char* id : {"e", "c", "a", "d", "b"}) ASSERT_OK(store->Create(MakeClient(id)));
  EXPECT_EQ(ScanIds(*store, ""), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(ScanIds(*store, "c"), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(ScanIds(*store, "bb"), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(ScanIds(*store, "0"), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(ScanIds(*store, std::string("c\0", 2)), (std::vector<std::string>{"d", "e"}));
  EXPECT_TRUE(ScanIds(*store, "e").empty());
  EXPECT_TRUE(ScanIds(*store, "zz").empty());
}

TEST_F(RocksDbClientStoreTest, ScanFromStopsWithOkWhenVisitReturnsFalse) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_OK(store->Create(MakeClient(id)));
  std::vector<std::string> visited;
  const absl::Status status = store->ScanFrom("", [&visited](const StoredClient& client) -> absl::StatusOr<bool> {
    visited.push_back(client.client_id());
    return client.client_id() != "b";
  });
  EXPECT_OK(status);
  EXPECT_EQ(visited, (std::vector<std::string>{"a", "b"}));
}

TEST_F(RocksDbClientStoreTest, ScanFromStopsAtAndReturnsTheFirstError) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_OK(store->Create(MakeClient(id)));
  std::vector<std::string> visited;
  const absl::Status status = store->ScanFrom("a", [&visited](const StoredClient& client) -> absl::StatusOr<bool> {
    visited.push_back(client.client_id());
    if (client.client_id() == "c") return absl::CancelledError("enough");
    return true;
  });
  EXPECT_EQ(status, absl::CancelledError("enough"));
  EXPECT_EQ(visited, (std::vector<std::string>{"b", "c"}));
}

TEST_F(RocksDbClientStoreTest, ScanFromPagesThroughEveryClientOnce) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<std::string> expected;
  for (int i = 0; i < 23; ++i) expected.push_back("client-" + std::to_string(100 + i));
  for (const std::string& id : expected) ASSERT_OK(store->Create(MakeClient(id)));
  std::vector<std::string> paged;
  std::string start_after;
  for (int pages = 0; pages < 100; ++pages) {
    const std::vector<std::string> page = ScanIds(*store, start_after, 4);
    ASSERT_LE(page.size(), 4u);
    if (page.empty()) break;
    paged.insert(paged.end(), page.begin(), page.end());
    start_after = page.back();
  }
  EXPECT_EQ(paged, expected);
}

TEST_F(RocksDbClientStoreTest, ScanFromReportsACorruptRecord) {
  ASSERT_OK(Open());
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("a", MakeClient("a").SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("b", "\xff\xff\xff\xff"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<std::string> visited;
  const absl::Status status = store->ScanFrom("", [&visited](const StoredClient& client) -> absl::StatusOr<bool> {
    visited.push_back(client.client_id());
    return true;
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(visited, (std::vector<std::string>{"a"}));
}

TEST_F(RocksDbClientStoreTest, UpdateReplacesTheRecordAndMovesTheTokenIndex) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));
  ASSERT_OK(store->Create(MakeClient("c2")));

  StoredClient updated = NextVersion(original);
  updated.mutable_metadata()->set_client_name("renamed");
  updated.set_registration_access_token_digest("token-digest-c1-new");
  ASSERT_OK(store->Update(updated, original.version()));

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, updated);
  EXPECT_EQ(store->FindByTokenDigest("token-digest-c1").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1-new"));
  EXPECT_EQ(owner, "c1");
  ASSERT_OK_AND_ASSIGN(const StoredClient other, store->Get("c2"));
  ExpectSameClient(other, MakeClient("c2"));
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-c1-new", "c1"}, {"token-digest-c2", "c2"}}));
}

TEST_F(RocksDbClientStoreTest, UpdateKeepsAnUnchangedDigestIndexed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));
  StoredClient updated = NextVersion(original);
  updated.mutable_metadata()->set_client_name("renamed");
  ASSERT_OK(store->Update(updated, original.version()));
  ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1"));
  EXPECT_EQ(owner, "c1");
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily), (std::map<std::string, std::string>{{"token-digest-c1", "c1"}}));
}

TEST_F(RocksDbClientStoreTest, UpdateClearingOrAddingTheDigestFollowsInTheIndex) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));

  StoredClient cleared = NextVersion(original);
  cleared.clear_registration_access_token_digest();
  ASSERT_OK(store->Update(cleared, original.version()));
  EXPECT_EQ(store->FindByTokenDigest("token-digest-c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByTokenDigest("").status().code(), absl::StatusCode::kNotFound);

  StoredClient reissued = NextVersion(cleared);
  reissued.set_registration_access_token_digest("token-digest-c1-reissued");
  ASSERT_OK(store->Update(reissued, cleared.version()));
  ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1-reissued"));
  EXPECT_EQ(owner, "c1");
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-c1-reissued", "c1"}}));
}

TEST_F(RocksDbClientStoreTest, UpdateWithStaleVersionIsAbortedAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));
  ASSERT_OK(store->RecordLastUsed({{"c1", 1'700'000'500}}));

  for (const uint64_t expected_version : {original.version() - 1, original.version() + 1}) {
    StoredClient updated = original;
    updated.set_version(expected_version + 1);
    updated.mutable_metadata()->set_client_name("lost");
    updated.set_registration_access_token_digest("token-digest-lost");
    EXPECT_EQ(store->Update(updated, expected_version).code(), absl::StatusCode::kAborted) << expected_version;
  }

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, original);
  EXPECT_EQ(store->FindByTokenDigest("token-digest-lost").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1"));
  EXPECT_EQ(owner, "c1");
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("c1"));
  EXPECT_EQ(last_used, 1'700'000'500);
}

TEST_F(RocksDbClientStoreTest, UpdateThatDoesNotAdvanceTheVersionIsInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient original = MakeClient("c1");
  ASSERT_OK(store->Create(original));
  StoredClient updated = original;
  updated.mutable_metadata()->set_client_name("same version");
  EXPECT_EQ(store->Update(updated, original.version()).code(), absl::StatusCode::kInvalidArgument);
  updated.set_version(original.version() - 1);
  EXPECT_EQ(store->Update(updated, original.version()).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, original);
}

TEST_F(RocksDbClientStoreTest, UpdateOfMissingIdIsNotFoundAndCreatesNothing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient ghost = MakeClient("ghost");
  EXPECT_EQ(store->Update(NextVersion(ghost), ghost.version()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByTokenDigest("token-digest-ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(VisitedIds(*store).empty());
  store.reset();
  EXPECT_TRUE(ReadColumnFamily(kClientsColumnFamily).empty());
  EXPECT_TRUE(ReadColumnFamily(kTokenIndexColumnFamily).empty());
}

TEST_F(RocksDbClientStoreTest, DeleteRemovesRecordTokenIndexAndLastUse) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient doomed = MakeClient("doomed");
  ASSERT_OK(store->Create(doomed));
  ASSERT_OK(store->Create(MakeClient("kept")));
  ASSERT_OK(store->RecordLastUsed({{"doomed", 1'700'000'500}, {"kept", 1'700'000'600}}));

  ASSERT_OK(store->Delete("doomed", doomed.version()));
  EXPECT_EQ(store->Get("doomed").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByTokenDigest("token-digest-doomed").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const int64_t doomed_last_used, store->GetLastUsed("doomed"));
  EXPECT_EQ(doomed_last_used, 0);
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"kept"}));
  ASSERT_OK_AND_ASSIGN(const int64_t kept_last_used, store->GetLastUsed("kept"));
  EXPECT_EQ(kept_last_used, 1'700'000'600);
  EXPECT_EQ(store->Delete("doomed", doomed.version()).code(), absl::StatusCode::kNotFound);
  store.reset();

  EXPECT_EQ(ReadColumnFamily(kClientsColumnFamily).count("doomed"), 0u);
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-kept", "kept"}}));
  const std::map<std::string, std::string> last_used = ReadColumnFamily(kLastUsedColumnFamily);
  EXPECT_EQ(last_used.size(), 1u);
  EXPECT_EQ(last_used.count("kept"), 1u);

  // A client created again under the id starts afresh.
  ASSERT_OK_AND_ASSIGN(store, Open());
  ASSERT_OK(store->Create(doomed));
  ASSERT_OK_AND_ASSIGN(const int64_t recreated_last_used, store->GetLastUsed("doomed"));
  EXPECT_EQ(recreated_last_used, 0);
}

TEST_F(RocksDbClientStoreTest, DeleteWithStaleVersionIsAbortedAndKeepsEverything) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient client = MakeClient("c1");
  ASSERT_OK(store->Create(client));
  ASSERT_OK(store->RecordLastUsed({{"c1", 1'700'000'500}}));
  EXPECT_EQ(store->Delete("c1", client.version() - 1).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store->Delete("c1", client.version() + 1).code(), absl::StatusCode::kAborted);
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, client);
  ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1"));
  EXPECT_EQ(owner, "c1");
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("c1"));
  EXPECT_EQ(last_used, 1'700'000'500);
}

TEST_F(RocksDbClientStoreTest, DeleteOfMissingIdIsNotFound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->Delete("missing", 7).code(), absl::StatusCode::kNotFound);
  ASSERT_OK(store->Create(MakeClient("present")));
  EXPECT_EQ(store->Delete("missing", 7).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Delete("", 7).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"present"}));
}

TEST_F(RocksDbClientStoreTest, FindByTokenDigestFindsOnlyIndexedDigests) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Create(MakeClient("a")));
  ASSERT_OK(store->Create(MakeClient("b")));
  StoredClient without_token = MakeClient("c");
  without_token.clear_registration_access_token_digest();
  ASSERT_OK(store->Create(without_token));

  ASSERT_OK_AND_ASSIGN(const std::string a, store->FindByTokenDigest("token-digest-a"));
  EXPECT_EQ(a, "a");
  ASSERT_OK_AND_ASSIGN(const std::string b, store->FindByTokenDigest("token-digest-b"));
  EXPECT_EQ(b, "b");
  EXPECT_EQ(store->FindByTokenDigest("token-digest-c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByTokenDigest("").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByTokenDigest("token-digest-").status().code(), absl::StatusCode::kNotFound);
  // The index maps digests to ids, not ids to anything.
  EXPECT_EQ(store->FindByTokenDigest("a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RocksDbClientStoreTest, RecordLastUsedNeverMovesBackwards) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Create(MakeClient("a")));
  ASSERT_OK(store->Create(MakeClient("b")));
  const auto last_used = [&store](const std::string& id) -> int64_t {
    const absl::StatusOr<int64_t> seconds = store->GetLastUsed(id);
    EXPECT_OK(seconds);
    return seconds.value_or(-1);
  };
  EXPECT_EQ(last_used("a"), 0);

  ASSERT_OK(store->RecordLastUsed({{"a", 100}, {"b", 200}}));
  EXPECT_EQ(last_used("a"), 100);
  EXPECT_EQ(last_used("b"), 200);
  ASSERT_OK(store->RecordLastUsed({{"a", 50}, {"b", 250}}));
  EXPECT_EQ(last_used("a"), 100);
  EXPECT_EQ(last_used("b"), 250);
  // Within one call, the latest of several entries for a client counts, wherever it stands.
  ASSERT_OK(store->RecordLastUsed({{"a", 300}, {"a", 500}, {"a", 400}}));
  EXPECT_EQ(last_used("a"), 500);
  ASSERT_OK(store->RecordLastUsed({{"a", 0}, {"a", -1}, {"b", -5}}));
  EXPECT_EQ(last_used("a"), 500);
  EXPECT_EQ(last_used("b"), 250);
  ASSERT_OK(store->RecordLastUsed({}));
  EXPECT_EQ(last_used("a"), 500);
}

TEST_F(RocksDbClientStoreTest, RecordLastUsedIgnoresUnknownClients) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Create(MakeClient("known")));
  ASSERT_OK(store->RecordLastUsed({{"ghost", 300}, {"known", 400}, {"", 500}}));
  ASSERT_OK_AND_ASSIGN(const int64_t ghost, store->GetLastUsed("ghost"));
  EXPECT_EQ(ghost, 0);
  ASSERT_OK_AND_ASSIGN(const int64_t known, store->GetLastUsed("known"));
  EXPECT_EQ(known, 400);
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kLastUsedColumnFamily),
            (std::map<std::string, std::string>{{"known", std::string("\0\0\0\0\0\0\x01\x90", 8)}}));
  EXPECT_TRUE(ReadColumnFamily(kClientsColumnFamily).count("ghost") == 0);
}

TEST_F(RocksDbClientStoreTest, LastUsedIsStoredBigEndianAndSurvivesReopen) {
  constexpr int64_t kSeconds = 0x0102030405060708;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK(store->Create(MakeClient("c1")));
    ASSERT_OK(store->RecordLastUsed({{"c1", kSeconds}}));
  }
  EXPECT_EQ(ReadColumnFamily(kLastUsedColumnFamily),
            (std::map<std::string, std::string>{{"c1", "\x01\x02\x03\x04\x05\x06\x07\x08"}}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("c1"));
  EXPECT_EQ(last_used, kSeconds);
}

TEST_F(RocksDbClientStoreTest, GetLastUsedNeverReturnsAStrayEntry) {
  ASSERT_OK(Open());
  ASSERT_NO_FATAL_FAILURE(PutRaw(kLastUsedColumnFamily, "ghost", std::string("\0\0\0\0\0\0\x01\x90", 8)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("ghost"));
  EXPECT_EQ(last_used, 0);
}

TEST_F(RocksDbClientStoreTest, CorruptLastUseIsDataLoss) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK(store->Create(MakeClient("c1")));
  }
  ASSERT_NO_FATAL_FAILURE(PutRaw(kLastUsedColumnFamily, "c1", "short"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(store->GetLastUsed("c1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->RecordLastUsed({{"c1", 100}}).code(), absl::StatusCode::kDataLoss);
}

TEST_F(RocksDbClientStoreTest, OpensADatabaseFromBeforeLastUseTracking) {
  // The layout the previous release wrote: no last_used column family.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("old", MakeClient("old").SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(PutRaw(kTokenIndexColumnFamily, "token-digest-old", "old"));
  std::vector<std::string> before;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path_, &before).ok());
  ASSERT_EQ(std::count(before.begin(), before.end(), kLastUsedColumnFamily), 0);

  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("old"));
    ExpectSameClient(stored, MakeClient("old"));
    ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-old"));
    EXPECT_EQ(owner, "old");
    ASSERT_OK_AND_ASSIGN(const int64_t never, store->GetLastUsed("old"));
    EXPECT_EQ(never, 0);
    ASSERT_OK(store->RecordLastUsed({{"old", 1'700'000'500}}));
  }
  std::vector<std::string> after;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path_, &after).ok());
  EXPECT_EQ(std::count(after.begin(), after.end(), kLastUsedColumnFamily), 1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("old"));
  EXPECT_EQ(last_used, 1'700'000'500);
}

TEST_F(RocksDbClientStoreTest, ConcurrentReadModifyUpdatesLoseNothing) {
  constexpr int kThreads = 8;
  constexpr int kUpdatesPerThread = 100;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  StoredClient initial = MakeClient("hot");
  initial.set_version(1);
  initial.mutable_metadata()->set_software_version("0");
  ASSERT_OK(store->Create(initial));

  std::atomic<int> failures{0};
  std::atomic<int> aborted{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int done = 0; done < kUpdatesPerThread && failures.load() == 0;) {
        const absl::StatusOr<StoredClient> read = store->Get("hot");
        if (!read.ok()) {
          ++failures;
          return;
        }
        StoredClient next = NextVersion(*read);
        next.mutable_metadata()->set_software_version(
            std::to_string(std::stoi(read->metadata().software_version()) + 1));
        const absl::Status status = store->Update(next, read->version());
        if (status.ok()) {
          ++done;
        } else if (status.code() == absl::StatusCode::kAborted) {
          ++aborted;
        } else {
          ++failures;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(const StoredClient final_client, store->Get("hot"));
  EXPECT_EQ(final_client.version(), 1u + kThreads * kUpdatesPerThread);
  EXPECT_EQ(final_client.metadata().software_version(), std::to_string(kThreads * kUpdatesPerThread));
  // Not a requirement, but without any lost race the test would not have tested the compare-and-set.
  EXPECT_GT(aborted.load(), 0);
}

TEST_F(RocksDbClientStoreTest, ConcurrentUpdatesNeverResurrectADeletedClient) {
  constexpr int kRounds = 20;
  constexpr int kUpdaters = 4;
  // Bounds each updater, so that a resurrected client fails the test instead of keeping it running.
  constexpr int kMaxUpdateAttempts = 200;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::atomic<int> failures{0};
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = "victim-" + std::to_string(round);
    ASSERT_OK(store->Create(MakeClient(id)));
    std::atomic<int> deleted{0};
    std::latch start(kUpdaters + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < kUpdaters; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kMaxUpdateAttempts; ++i) {
          const absl::StatusOr<StoredClient> read = store->Get(id);
          if (read.status().code() == absl::StatusCode::kNotFound) return;
          if (!read.ok()) {
            ++failures;
            return;
          }
          StoredClient next = NextVersion(*read);
          next.set_registration_access_token_digest(id + "-digest-" + std::to_string(t) + "-" + std::to_string(i));
          const absl::Status status = store->Update(next, read->version());
          if (status.code() == absl::StatusCode::kNotFound) return;
          if (!status.ok() && status.code() != absl::StatusCode::kAborted) {
            ++failures;
            return;
          }
        }
      });
    }
    threads.emplace_back([&] {
      start.arrive_and_wait();
      // Lets a few updates land first.
      std::this_thread::yield();
      while (true) {
        const absl::StatusOr<StoredClient> read = store->Get(id);
        if (!read.ok()) {
          ++failures;
          return;
        }
        const absl::Status status = store->Delete(id, read->version());
        if (status.ok()) {
          ++deleted;
          return;
        }
        if (status.code() != absl::StatusCode::kAborted) {
          ++failures;
          return;
        }
      }
    });
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(failures.load(), 0) << id;
    EXPECT_EQ(deleted.load(), 1) << id;
    EXPECT_EQ(store->Get(id).status().code(), absl::StatusCode::kNotFound) << id;
  }
  EXPECT_TRUE(VisitedIds(*store).empty());
  store.reset();
  EXPECT_TRUE(ReadColumnFamily(kClientsColumnFamily).empty());
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily), (std::map<std::string, std::string>{}));
}

TEST_F(RocksDbClientStoreTest, ConcurrentRecordLastUsedNeverOutlivesADelete) {
  constexpr int kClients = 50;
  constexpr int kRecorders = 4;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<std::pair<std::string, int64_t>> batch;
  for (int i = 0; i < kClients; ++i) {
    const std::string id = "c" + std::to_string(i);
    ASSERT_OK(store->Create(MakeClient(id)));
    batch.emplace_back(id, 0);
  }
  std::atomic<bool> deleting_done{false};
  std::atomic<int> batches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kRecorders; ++t) {
    threads.emplace_back([&, batch]() mutable {
      for (int64_t seconds = 1; !deleting_done.load(); ++seconds) {
        for (auto& entry : batch) entry.second = seconds;
        if (!store->RecordLastUsed(batch).ok()) ++failures;
        ++batches;
      }
    });
  }
  while (batches.load() < kRecorders) std::this_thread::yield();
  const uint64_t version = MakeClient("c0").version();
  for (int i = 0; i < kClients; i += 2) {
    if (!store->Delete("c" + std::to_string(i), version).ok()) ++failures;
  }
  deleting_done = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  store.reset();
  const std::map<std::string, std::string> last_used = ReadColumnFamily(kLastUsedColumnFamily);
  const std::map<std::string, std::string> clients = ReadColumnFamily(kClientsColumnFamily);
  EXPECT_EQ(clients.size(), static_cast<std::size_t>(kClients / 2));
  for (const auto& [id, value] : last_used) EXPECT_EQ(clients.count(id), 1u) << "stray last use of " << id;
}

TEST_F(RocksDbClientStoreTest, FailedUpdateIsUnavailableAndKeepsTheOldRecord) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient original = MakeClient("c1");
  StoredClient updated = NextVersion(original);
  updated.mutable_metadata()->set_client_name("failed");
  updated.set_registration_access_token_digest("token-digest-failed");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(original));

    file_system->set_fault(Fault::kAppendAndSync);
    EXPECT_EQ(store->Update(updated, original.version()).code(), absl::StatusCode::kUnavailable);
    file_system->set_fault(Fault::kNone);

    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
    ExpectSameClient(stored, original);
    ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1"));
    EXPECT_EQ(owner, "c1");
    EXPECT_EQ(store->FindByTokenDigest("token-digest-failed").status().code(), absl::StatusCode::kNotFound);
    // The store heals: the same update, retried, succeeds.
    ASSERT_OK(store->Update(updated, original.version()));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, updated);
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{"token-digest-failed", "c1"}}));
}

TEST_F(RocksDbClientStoreTest, FailedSyncOfUpdateIsNeverHalfWritten) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient original = MakeClient("c1");
  StoredClient updated = NextVersion(original);
  updated.set_registration_access_token_digest("token-digest-new");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(original));
    file_system->set_fault(Fault::kSyncOnly);
    EXPECT_EQ(store->Update(updated, original.version()).code(), absl::StatusCode::kUnavailable);
    file_system->set_fault(Fault::kNone);
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  // Either the whole update was replayed or none of it: record and index agree.
  const bool replayed = stored.version() == updated.version();
  ExpectSameClient(stored, replayed ? updated : original);
  store.reset();
  EXPECT_EQ(ReadColumnFamily(kTokenIndexColumnFamily),
            (std::map<std::string, std::string>{{replayed ? "token-digest-new" : "token-digest-c1", "c1"}}));
}

TEST_F(RocksDbClientStoreTest, FailedDeleteIsUnavailableAndKeepsTheClient) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient client = MakeClient("c1");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(client));
    ASSERT_OK(store->RecordLastUsed({{"c1", 1'700'000'500}}));

    file_system->set_fault(Fault::kAppendAndSync);
    EXPECT_EQ(store->Delete("c1", client.version()).code(), absl::StatusCode::kUnavailable);
    file_system->set_fault(Fault::kNone);

    ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
    ExpectSameClient(stored, client);
    ASSERT_OK_AND_ASSIGN(const std::string owner, store->FindByTokenDigest("token-digest-c1"));
    EXPECT_EQ(owner, "c1");
    ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("c1"));
    EXPECT_EQ(last_used, 1'700'000'500);
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  ExpectSameClient(stored, client);
  ASSERT_OK(store->Delete("c1", client.version()));
  EXPECT_EQ(store->Get("c1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RocksDbClientStoreTest, FailedRecordLastUsedIsUnavailableAndMovesNothing) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
  ASSERT_OK(store->Create(MakeClient("c1")));
  ASSERT_OK(store->RecordLastUsed({{"c1", 100}}));
  file_system->set_fault(Fault::kAppendAndSync);
  EXPECT_EQ(store->RecordLastUsed({{"c1", 200}}).code(), absl::StatusCode::kUnavailable);
  file_system->set_fault(Fault::kNone);
  ASSERT_OK_AND_ASSIGN(const int64_t unchanged, store->GetLastUsed("c1"));
  EXPECT_EQ(unchanged, 100);
  ASSERT_OK(store->RecordLastUsed({{"c1", 300}}));
  ASSERT_OK_AND_ASSIGN(const int64_t recovered, store->GetLastUsed("c1"));
  EXPECT_EQ(recovered, 300);
}

// Client counts as {active, disabled}, which compare and print.
using Counts = std::pair<int64_t, int64_t>;

Counts CountsOf(const ClientStore& store) {
  const absl::StatusOr<ClientCounts> counts = store.CountClients();
  EXPECT_OK(counts);
  if (!counts.ok()) return {-1, -1};
  return {counts->active, counts->disabled};
}

// The counts found by reading every client, to hold CountClients against.
Counts ScannedCounts(const ClientStore& store) {
  Counts counts = {0, 0};
  EXPECT_OK(store.ForEach([&counts](const StoredClient& client) {
    if (client.state() == StoredClient::STATE_ACTIVE) ++counts.first;
    if (client.state() == StoredClient::STATE_DISABLED) ++counts.second;
    return absl::OkStatus();
  }));
  return counts;
}

StoredClient MakeClientIn(const std::string& id, StoredClient::State state) {
  StoredClient client = MakeClient(id);
  client.set_state(state);
  return client;
}

StoredClient WithState(StoredClient client, StoredClient::State state) {
  client = NextVersion(std::move(client));
  client.set_state(state);
  return client;
}

class ClientCountsTest : public RocksDbClientStoreTest {
 protected:
  // Expects `expected` from CountClients and from a scan of `store`, then from CountClients once `store` is closed
  // and opened again (without faults), as it is left.
  void ExpectCountsAcrossReopen(std::unique_ptr<ClientStore>& store, const Counts& expected) {
    EXPECT_EQ(CountsOf(*store), expected);
    EXPECT_EQ(ScannedCounts(*store), expected);
    store.reset();
    ASSERT_OK_AND_ASSIGN(store, Open());
    EXPECT_EQ(CountsOf(*store), expected);
  }
};

TEST_F(ClientCountsTest, CountsFollowCreatesStateChangesAndDeletes) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(CountsOf(*store), Counts(0, 0));
  for (const char* id : {"a1", "a2", "a3"}) ASSERT_OK(store->Create(MakeClientIn(id, StoredClient::STATE_ACTIVE)));
  ASSERT_OK(store->Create(MakeClientIn("d1", StoredClient::STATE_DISABLED)));
  // In neither count, but stored.
  ASSERT_OK(store->Create(MakeClientIn("u1", StoredClient::STATE_UNSPECIFIED)));
  EXPECT_EQ(CountsOf(*store), Counts(3, 1));

  // Outcomes that write nothing change nothing.
  EXPECT_TRUE(absl::IsAlreadyExists(store->Create(MakeClientIn("a1", StoredClient::STATE_DISABLED))));
  const StoredClient a1 = MakeClientIn("a1", StoredClient::STATE_ACTIVE);
  EXPECT_TRUE(absl::IsAborted(store->Update(WithState(a1, StoredClient::STATE_DISABLED), a1.version() - 1)));
  EXPECT_TRUE(absl::IsNotFound(store->Delete("missing", 1)));
  EXPECT_EQ(CountsOf(*store), Counts(3, 1));

  ASSERT_OK(store->Update(WithState(a1, StoredClient::STATE_DISABLED), a1.version()));
  EXPECT_EQ(CountsOf(*store), Counts(2, 2));
  // An update that keeps the state keeps the counts.
  StoredClient renamed = NextVersion(MakeClientIn("a2", StoredClient::STATE_ACTIVE));
  renamed.mutable_metadata()->set_client_name("renamed");
  ASSERT_OK(store->Update(renamed, renamed.version() - 1));
  EXPECT_EQ(CountsOf(*store), Counts(2, 2));
  // Into and out of an uncounted state.
  const StoredClient u1 = MakeClientIn("u1", StoredClient::STATE_UNSPECIFIED);
  ASSERT_OK(store->Update(WithState(u1, StoredClient::STATE_ACTIVE), u1.version()));
  EXPECT_EQ(CountsOf(*store), Counts(3, 2));

  // A delete takes the client out of the count of its stored state.
  ASSERT_OK(store->Delete("d1", MakeClient("d1").version()));
  EXPECT_EQ(CountsOf(*store), Counts(3, 1));
  ASSERT_OK(store->Delete("a1", a1.version() + 1));
  EXPECT_EQ(CountsOf(*store), Counts(3, 0));
  ASSERT_OK(store->Delete("a3", MakeClient("a3").version()));
  EXPECT_EQ(CountsOf(*store), Counts(2, 0));
  EXPECT_EQ(CountsOf(*store), ScannedCounts(*store));
}

TEST_F(ClientCountsTest, CountsOfAsyncCreateGroupsCountOnlyTheWinners) {
  constexpr int kClients = 600;
  constexpr int kCopiesOfOneId = 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::atomic<int> calls{0}, failures{0};
  absl::Notification all_done;
  const auto done = [&](absl::Status status) {
    if (!status.ok() && !absl::IsAlreadyExists(status)) ++failures;
    if (++calls == kClients + kCopiesOfOneId) all_done.Notify();
  };
  for (int i = 0; i < kClients; ++i) {
    const auto state = i % 3 == 0 ? StoredClient::STATE_DISABLED : StoredClient::STATE_ACTIVE;
    store->CreateAsync(MakeClientIn("async-" + std::to_string(i), state), done);
  }
  // Submitted together, most of these share a group: only the one that wins is counted.
  for (int i = 0; i < kCopiesOfOneId; ++i) store->CreateAsync(MakeClientIn("same", StoredClient::STATE_ACTIVE), done);
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(failures.load(), 0);
  ExpectCountsAcrossReopen(store, Counts(kClients - kClients / 3 + 1, kClients / 3));
}

TEST_F(ClientCountsTest, CountsSurviveReopenAsEightBytesBigEndian) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    for (int i = 0; i < 300; ++i)
      ASSERT_OK(store->Create(MakeClientIn("a" + std::to_string(i), StoredClient::STATE_ACTIVE)));
    ASSERT_OK(store->Create(MakeClientIn("d", StoredClient::STATE_DISABLED)));
    ASSERT_OK(store->Delete("a0", MakeClient("a0").version()));
  }
  const std::map<std::string, std::string> stored = ReadColumnFamily(rocksdb::kDefaultColumnFamilyName);
  ASSERT_EQ(stored.count(kActiveClientsCountKey), 1u);
  EXPECT_EQ(stored.at(kActiveClientsCountKey), std::string("\0\0\0\0\0\0\x01\x2b", 8));  // 299
  ASSERT_EQ(stored.count(kDisabledClientsCountKey), 1u);
  EXPECT_EQ(stored.at(kDisabledClientsCountKey), std::string("\0\0\0\0\0\0\0\x01", 8));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(CountsOf(*store), Counts(299, 1));
  ASSERT_OK(store->Create(MakeClientIn("d2", StoredClient::STATE_DISABLED)));
  EXPECT_EQ(CountsOf(*store), Counts(299, 2));
}

TEST_F(ClientCountsTest, CountsAreRebuiltOnceForADatabaseFromBeforeThem) {
  // The layout the previous release wrote: clients, and no count keys.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("a1", MakeClientIn("a1", StoredClient::STATE_ACTIVE).SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("a2", MakeClientIn("a2", StoredClient::STATE_ACTIVE).SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(
      PutRawClientRecord("d1", MakeClientIn("d1", StoredClient::STATE_DISABLED).SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(
      PutRawClientRecord("u1", MakeClientIn("u1", StoredClient::STATE_UNSPECIFIED).SerializeAsString()));
  // Neither served nor counted.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("broken", "\xff\xff\xff\xff"));
  ASSERT_EQ(ReadColumnFamily(rocksdb::kDefaultColumnFamilyName).count(kActiveClientsCountKey), 0u);

  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    EXPECT_EQ(CountsOf(*store), Counts(2, 1));
    ASSERT_OK(store->Create(MakeClientIn("a3", StoredClient::STATE_ACTIVE)));
    EXPECT_EQ(CountsOf(*store), Counts(3, 1));
  }
  const std::map<std::string, std::string> stored = ReadColumnFamily(rocksdb::kDefaultColumnFamilyName);
  EXPECT_EQ(stored.at(kActiveClientsCountKey), std::string("\0\0\0\0\0\0\0\x03", 8));
  EXPECT_EQ(stored.at(kDisabledClientsCountKey), std::string("\0\0\0\0\0\0\0\x01", 8));

  // Later opens read the counts and scan nothing: a client written behind the store's back is not counted.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("a4", MakeClientIn("a4", StoredClient::STATE_ACTIVE).SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(CountsOf(*store), Counts(3, 1));
}

TEST_F(ClientCountsTest, FailedWritesLeaveCountsUnchanged) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient active = MakeClientIn("active", StoredClient::STATE_ACTIVE);
  const StoredClient disabled = MakeClientIn("disabled", StoredClient::STATE_DISABLED);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
  ASSERT_OK(store->Create(active));
  ASSERT_OK(store->Create(disabled));
  ASSERT_EQ(CountsOf(*store), Counts(1, 1));

  const std::vector<std::function<absl::Status()>> changes = {
      [&] { return store->Create(MakeClientIn("failed", StoredClient::STATE_ACTIVE)); },
      [&] { return store->Update(WithState(active, StoredClient::STATE_DISABLED), active.version()); },
      [&] { return store->Delete("disabled", disabled.version()); },
  };
  // Each change fails in its write (the disk is back, and the database reopened, before the next one is tried).
  for (const auto& change : changes) {
    file_system->set_fault(Fault::kAppendAndSync);
    EXPECT_TRUE(absl::IsUnavailable(change()));
    file_system->set_fault(Fault::kNone);
    EXPECT_EQ(CountsOf(*store), Counts(1, 1));
    EXPECT_EQ(ScannedCounts(*store), Counts(1, 1));
  }
  // The same changes, once the disk takes them: a failed write left nothing for the counts to trip on.
  ASSERT_OK(changes[0]());
  EXPECT_EQ(CountsOf(*store), Counts(2, 1));
  ASSERT_OK(changes[1]());
  EXPECT_EQ(CountsOf(*store), Counts(1, 2));
  ASSERT_OK(changes[2]());
  ExpectCountsAcrossReopen(store, Counts(1, 1));
}

// A write whose sync failed may still be in the log, and then the reopen replays it: the counts are read again
// with it, so they stay those of the records either way.
TEST_F(ClientCountsTest, CountsAreReloadedWithTheRecordsAfterAFailedSync) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
  ASSERT_OK(store->Create(MakeClientIn("before", StoredClient::STATE_ACTIVE)));
  for (int i = 0; i < 3; ++i) {
    file_system->set_fault(Fault::kSyncOnly);
    EXPECT_TRUE(
        absl::IsUnavailable(store->Create(MakeClientIn("failed-" + std::to_string(i), StoredClient::STATE_DISABLED))));
    file_system->set_fault(Fault::kNone);
    const Counts scanned = ScannedCounts(*store);
    EXPECT_EQ(scanned.first, 1);
    EXPECT_EQ(CountsOf(*store), scanned);
  }
  ASSERT_OK(store->Create(MakeClientIn("after", StoredClient::STATE_ACTIVE)));
  ExpectCountsAcrossReopen(store, CountsOf(*store));
}

TEST_F(ClientCountsTest, ConcurrentWritersKeepCountsExact) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::atomic<int> failures{0};
  RunConcurrently(kThreads, [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      if (!store->Create(MakeClientIn(id, StoredClient::STATE_ACTIVE)).ok()) ++failures;
      // Every third is disabled again and every fifteenth then deleted, while other threads create.
      if (i % 3 == 0) {
        const StoredClient created = MakeClientIn(id, StoredClient::STATE_ACTIVE);
        if (!store->Update(WithState(created, StoredClient::STATE_DISABLED), created.version()).ok()) ++failures;
        if (i % 5 == 0 && !store->Delete(id, created.version() + 1).ok()) ++failures;
      }
    }
  });
  ASSERT_EQ(failures.load(), 0);
  int64_t disabled = 0;
  int64_t deleted = 0;
  for (int i = 0; i < kPerThread; ++i) {
    if (i % 15 == 0) {
      ++deleted;
    } else if (i % 3 == 0) {
      ++disabled;
    }
  }
  ExpectCountsAcrossReopen(store, Counts(kThreads * (kPerThread - disabled - deleted), kThreads * disabled));
}

TEST_F(RocksDbClientStoreTest, MetricsCountWritesGroupsAndErrors) {
  constexpr int kSyncCreates = 20;
  constexpr int kAsyncCreates = 300;
  common::MetricsRegistry registry;
  StoreMetrics metrics(registry);
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get(), &metrics));
  const uint64_t writes_at_open = metrics.write_duration.Read().count;

  for (int i = 0; i < kSyncCreates; ++i) ASSERT_OK(store->Create(MakeClient("sync-" + std::to_string(i))));
  std::atomic<int> calls{0};
  absl::Notification all_done;
  for (int i = 0; i < kAsyncCreates; ++i) {
    store->CreateAsync(MakeClient("async-" + std::to_string(i)), [&](absl::Status status) {
      EXPECT_OK(status);
      if (++calls == kAsyncCreates) all_done.Notify();
    });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));

  const common::Histogram::Snapshot groups = metrics.group_size.Read();
  EXPECT_EQ(groups.sum, kSyncCreates + kAsyncCreates);
  EXPECT_GE(groups.count, static_cast<uint64_t>(kSyncCreates));
  EXPECT_LE(groups.count, static_cast<uint64_t>(kSyncCreates + kAsyncCreates));
  // Each group is one synced write.
  const common::Histogram::Snapshot writes = metrics.write_duration.Read();
  EXPECT_EQ(writes.count - writes_at_open, groups.count);
  EXPECT_GT(writes.sum, 0);

  // What the store's own checks answer is no error, and a Create refused before writing is in no batch.
  EXPECT_TRUE(absl::IsAlreadyExists(store->Create(MakeClient("sync-0"))));
  EXPECT_TRUE(absl::IsNotFound(store->Get("missing").status()));
  EXPECT_TRUE(absl::IsAborted(store->Delete("sync-0", 12345)));
  EXPECT_EQ(metrics.errors.Value(), 0u);
  EXPECT_EQ(metrics.group_size.Read().count, groups.count);

  file_system->set_fault(Fault::kAppendAndSync);
  EXPECT_TRUE(absl::IsUnavailable(store->Create(MakeClient("failed"))));
  file_system->set_fault(Fault::kNone);
  EXPECT_GE(metrics.errors.Value(), 1u);
  // The failed write was timed, and its batch counted, too.
  EXPECT_GT(metrics.write_duration.Read().count, writes.count);

  const std::string text = registry.Encode();
  EXPECT_TRUE(absl::StrContains(text, "# TYPE clientreg_store_write_duration_seconds histogram\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE clientreg_store_errors_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "clientreg_store_group_size_bucket{le=\"256\"}")) << text;
  EXPECT_TRUE(
      absl::StrContains(text, absl::StrCat("clientreg_store_group_size_sum ", kSyncCreates + kAsyncCreates + 1, "\n")))
      << text;
}

TEST_F(RocksDbClientStoreTest, CorruptRecordCountsAsAnError) {
  ASSERT_OK(Open());
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("broken", "\xff\xff\xff\xff"));
  common::MetricsRegistry registry;
  StoreMetrics metrics(registry);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(nullptr, &metrics));
  EXPECT_EQ(metrics.errors.Value(), 0u);
  EXPECT_TRUE(absl::IsDataLoss(store->Get("broken").status()));
  EXPECT_EQ(metrics.errors.Value(), 1u);
}

// --- Checkpoint ---

// The permission bits of `path`.
unsigned ModeOf(const std::filesystem::path& path) {
  struct stat status {};
  EXPECT_EQ(lstat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

TEST_F(RocksDbClientStoreTest, CheckpointDuringCreatesHoldsEveryEarlierClientAndExactCounts) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  constexpr int kBefore = 100;
  for (int i = 0; i < kBefore; ++i) {
    const StoredClient client = MakeClient(absl::StrCat("before-", i));
    ASSERT_OK(store->Create(client));
    if (i % 4 == 0) {
      ASSERT_OK(store->Update(WithState(client, StoredClient::STATE_DISABLED), client.version()));
    }
  }
  ASSERT_OK(store->RecordLastUsed({{"before-1", 1'700'000'500}}));

  // Each writer creates during-<t>-0, during-<t>-1, ... in order, and publishes how many were acknowledged.
  constexpr int kWriters = 4;
  std::array<std::atomic<int>, kWriters> acknowledged{};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        if (!store->Create(MakeClient(absl::StrCat("during-", t, "-", i))).ok()) {
          ++failures;
          return;
        }
        acknowledged[t].store(i + 1);
      }
    });
  }
  while (acknowledged[kWriters - 1].load() < 20 && failures.load() == 0) std::this_thread::yield();
  std::array<int, kWriters> before_call{};
  for (int t = 0; t < kWriters; ++t) before_call[t] = acknowledged[t].load();
  const std::filesystem::path backup = dir_ + "/backup";
  const absl::Status written = store->Checkpoint(backup.string());
  const int after_call = acknowledged[0].load();
  // Writes went on after the checkpoint: it held them up for moments, not for good.
  while (acknowledged[0].load() < after_call + 5 && failures.load() == 0) std::this_thread::yield();
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  ASSERT_OK(written);
  ASSERT_EQ(failures.load(), 0);

  // Private before anything opens it (an open adds files of its own).
  EXPECT_EQ(ModeOf(backup), 0700u);
  for (const auto& entry : std::filesystem::directory_iterator(backup)) EXPECT_EQ(ModeOf(entry.path()), 0600u);
  EXPECT_FALSE(std::filesystem::exists(backup.string() + ".tmp"));

  // A store of its own, opened while the original is still open and still written.
  ASSERT_OK(store->Create(MakeClient("after")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> copy, OpenRocksDbClientStore(backup.string()));
  for (int i = 0; i < kBefore; ++i) {
    ASSERT_OK_AND_ASSIGN(const StoredClient client, copy->Get(absl::StrCat("before-", i)));
    EXPECT_EQ(client.state(), i % 4 == 0 ? StoredClient::STATE_DISABLED : StoredClient::STATE_ACTIVE);
  }
  int earlier = 0;
  for (int t = 0; t < kWriters; ++t) {
    for (int i = 0; i < before_call[t]; ++i) {
      EXPECT_OK(copy->Get(absl::StrCat("during-", t, "-", i)).status()) << "during-" << t << "-" << i;
      ++earlier;
    }
  }
  EXPECT_TRUE(absl::IsNotFound(copy->Get("after").status()));
  // Every column family came along: the token index and last use as well as the records and their counts.
  ASSERT_OK_AND_ASSIGN(const std::string indexed, copy->FindByTokenDigest("token-digest-before-2"));
  EXPECT_EQ(indexed, "before-2");
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, copy->GetLastUsed("before-1"));
  EXPECT_EQ(last_used, 1'700'000'500);
  const Counts counts = CountsOf(*copy);
  EXPECT_EQ(counts, ScannedCounts(*copy));
  EXPECT_EQ(counts.second, kBefore / 4);
  EXPECT_GE(counts.first, kBefore - kBefore / 4 + earlier);
}

TEST_F(RocksDbClientStoreTest, CheckpointRefusesBadTargetsWithTheirCodes) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Create(MakeClient("c1")));
  const std::string file = dir_ + "/file";
  std::ofstream(file) << "x";
  std::filesystem::create_symlink(dir_ + "/nowhere", dir_ + "/dangling");
  // RocksDB would empty a staging directory of this name without asking.
  std::filesystem::create_directory(dir_ + "/staged.tmp");
  std::ofstream(dir_ + "/staged.tmp/keep") << "mine";

  const std::pair<std::string, absl::StatusCode> cases[] = {
      {"", absl::StatusCode::kInvalidArgument},
      {"relative/backup", absl::StatusCode::kInvalidArgument},
      {db_path_ + "/backup", absl::StatusCode::kInvalidArgument},
      {db_path_ + "/../db/backup", absl::StatusCode::kInvalidArgument},
      {dir_, absl::StatusCode::kAlreadyExists},
      {db_path_, absl::StatusCode::kAlreadyExists},
      {file, absl::StatusCode::kAlreadyExists},
      {dir_ + "/dangling", absl::StatusCode::kAlreadyExists},
      {dir_ + "/staged", absl::StatusCode::kAlreadyExists},
      {dir_ + "/missing/backup", absl::StatusCode::kFailedPrecondition},
      {file + "/backup", absl::StatusCode::kFailedPrecondition},
  };
  for (const auto& [dir, code] : cases) {
    SCOPED_TRACE(dir);
    const absl::Status status = store->Checkpoint(dir);
    EXPECT_EQ(status.code(), code) << status;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/missing"));
  EXPECT_FALSE(std::filesystem::exists(db_path_ + "/backup"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/staged.tmp/keep"));

  // A trailing slash names the same directory; once written, it is taken.
  ASSERT_OK(store->Checkpoint(dir_ + "/backup/"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/backup/CURRENT"));
  EXPECT_EQ(store->Checkpoint(dir_ + "/backup").code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RocksDbClientStoreTest, CheckpointOnAFailingDiskIsUnavailableLeavesNothingAndHeals) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
  ASSERT_OK(store->Create(MakeClient("c1")));
  const std::string backup = dir_ + "/backup";

  file_system->set_fault(Fault::kAppendAndSync);
  EXPECT_EQ(store->Checkpoint(backup).code(), absl::StatusCode::kUnavailable);
  file_system->set_fault(Fault::kNone);
  EXPECT_FALSE(std::filesystem::exists(backup));
  EXPECT_FALSE(std::filesystem::exists(backup + ".tmp"));

  // The failed flush may have stopped the database's writes; the health checks bring it back by themselves.
  bool healthy = false;
  for (int i = 0; i < 3 && !healthy; ++i) healthy = store->CheckHealth().ok();
  EXPECT_TRUE(healthy);
  ASSERT_OK(store->Create(MakeClient("c2")));
  ASSERT_OK(store->Checkpoint(backup));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> copy, OpenRocksDbClientStore(backup));
  EXPECT_EQ(VisitedIds(*copy), (std::vector<std::string>{"c1", "c2"}));
}

}  // namespace
}  // namespace clientreg::storage
