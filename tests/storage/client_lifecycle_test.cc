// The client lifecycle of the RocksDB store (issue 12): the time-ordered indexes (ListByLifecycle), Reap and its
// tombstones, and how they hold up against concurrent uses, registrations, reopening, checkpoints and old stores.

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "clientreg/v1/stored.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "storage/rocksdb_int64.h"
#include "tests/status_matchers.h"
#include "tests/storage/rocksdb_store_fixture.h"
#include "tests/support/concurrently.h"
#include "tests/support/fault_injection_fs.h"

namespace clientreg::storage {

// Beside LifecycleEntry, where GoogleTest looks for it.
void PrintTo(const LifecycleEntry& entry, std::ostream* out) {
  *out << "{" << entry.client_id << ", " << entry.time << "}";
}

namespace {

using ::clientreg::testing::Fault;
using ::clientreg::testing::FaultInjectingFileSystem;
using ::clientreg::testing::RunConcurrently;
using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredTombstone;
using ::google::protobuf::util::MessageDifferencer;

// Later than every time these tests use.
constexpr int64_t kEndOfTime = 4'000'000'000;

StoredClient IssuedAt(const std::string& id, int64_t issued_at) {
  StoredClient client = MakeClient(id);
  client.set_client_id_issued_at(issued_at);
  return client;
}

// What a reaper would leave of `client`, reaped at `reaped_at` for `reason`.
StoredTombstone TombstoneOf(const StoredClient& client, StoredTombstone::Reason reason, int64_t last_used = 0,
                            int64_t reaped_at = 3'000'000'000) {
  StoredTombstone tombstone;
  tombstone.set_client_id(client.client_id());
  tombstone.set_reaped_at(reaped_at);
  tombstone.set_reason(reason);
  tombstone.set_client_id_issued_at(client.client_id_issued_at());
  tombstone.set_last_used_at(last_used);
  tombstone.set_client_name(client.metadata().client_name());
  tombstone.set_software_id(client.metadata().software_id());
  tombstone.set_state(client.state());
  return tombstone;
}

// A lifecycle index key as the store lays it out (kNeverUsedColumnFamily).
std::string IndexKey(int64_t time, const std::string& client_id) { return EncodeOrderedInt64(time) + client_id; }

// The entries of `index` before `before`, read in pages of `page` until a short one.
std::vector<LifecycleEntry> ListAll(const ClientStore& store, LifecycleIndex index, int64_t before = kEndOfTime,
                                    std::size_t page = 1000) {
  std::vector<LifecycleEntry> all;
  std::optional<LifecycleEntry> start_after;
  for (;;) {
    const absl::StatusOr<std::vector<LifecycleEntry>> entries = store.ListByLifecycle(index, before, page, start_after);
    EXPECT_OK(entries);
    if (!entries.ok()) return all;
    all.insert(all.end(), entries->begin(), entries->end());
    if (entries->size() < page) return all;
    start_after = entries->back();
  }
}

std::vector<std::string> TombstoneIds(const ClientStore& store, const std::string& start_after = "") {
  std::vector<std::string> ids;
  EXPECT_OK(store.ScanTombstones(start_after, [&ids](const StoredTombstone& tombstone) -> absl::StatusOr<bool> {
    ids.push_back(tombstone.client_id());
    return true;
  }));
  return ids;
}

class ClientLifecycleTest : public RocksDbClientStoreTest {
 protected:
  static StoredTombstone GoneTombstone() {
    return TombstoneOf(IssuedAt("gone", 10), StoredTombstone::REASON_NEVER_USED);
  }

  // A store of three clients, each in another place of the lifecycle: "gone" reaped (GoneTombstone()), "fresh" never
  // used (issued at 100), and "used" (issued at 200, used at 900).
  static void FillGoneFreshAndUsed(ClientStore& store) {
    const StoredClient gone = IssuedAt("gone", 10);
    ASSERT_OK(store.Create(gone));
    ASSERT_OK(store.Create(IssuedAt("fresh", 100)));
    ASSERT_OK(store.Create(IssuedAt("used", 200)));
    ASSERT_OK(store.RecordLastUsed({{"used", 900}}));
    ASSERT_OK(store.Reap(GoneTombstone(), gone.version(), LifecycleIndex::kNeverUsed, 60));
  }

  // The keys of `column_family`, read with RocksDB's own API once the store is closed.
  std::vector<std::string> RawKeys(const std::string& column_family) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : ReadColumnFamily(column_family)) keys.push_back(key);
    return keys;
  }
};

TEST_F(ClientLifecycleTest, IndexesOrderClientsByTimeThenIdAndStopBeforeTheBound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  // Created out of order; b and c share a time; times before the epoch sort first.
  ASSERT_OK(store->Create(IssuedAt("d", 300)));
  ASSERT_OK(store->Create(IssuedAt("c", 200)));
  ASSERT_OK(store->Create(IssuedAt("b", 200)));
  ASSERT_OK(store->Create(IssuedAt("a", 100)));
  ASSERT_OK(store->Create(IssuedAt("zero", 0)));
  ASSERT_OK(store->Create(IssuedAt("negative", -5)));

  const std::vector<LifecycleEntry> all = {{"negative", -5}, {"zero", 0}, {"a", 100},
                                           {"b", 200},       {"c", 200},  {"d", 300}};
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), all);
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), all);
  // `before` is strict.
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed, 200),
            (std::vector<LifecycleEntry>{{"negative", -5}, {"zero", 0}, {"a", 100}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle, 201),
            (std::vector<LifecycleEntry>{{"negative", -5}, {"zero", 0}, {"a", 100}, {"b", 200}, {"c", 200}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle, -5), std::vector<LifecycleEntry>{});
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle, std::numeric_limits<int64_t>::min()), std::vector<LifecycleEntry>{});
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> none,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kEndOfTime, 0));
  EXPECT_TRUE(none.empty());
  store.reset();

  // The layout: the ordered time, then the id; nothing else in the value.
  const std::map<std::string, std::string> never_used = ReadColumnFamily(kNeverUsedColumnFamily);
  ASSERT_EQ(never_used.count(std::string("\x80\0\0\0\0\0\0\x64", 8) + "a"), 1u);
  EXPECT_EQ(never_used.at(std::string("\x80\0\0\0\0\0\0\x64", 8) + "a"), "");
  EXPECT_EQ(never_used.count(std::string("\x7f\xff\xff\xff\xff\xff\xff\xfb", 8) + "negative"), 1u);
}

TEST_F(ClientLifecycleTest, PagesGoOnAfterTheLastEntryWhetherOrNotItIsStillIndexed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<LifecycleEntry> expected;
  for (int i = 0; i < 25; ++i) {
    // Five clients a second, so that pages split ties.
    const std::string id = absl::StrCat("c", 10 + i);
    ASSERT_OK(store->Create(IssuedAt(id, 1000 + i / 5)));
    expected.push_back({id, 1000 + i / 5});
  }
  for (const std::size_t page : {1, 2, 7, 25, 26}) {
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed, kEndOfTime, page), expected) << "pages of " << page;
  }
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> first,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kEndOfTime, 3));
  EXPECT_EQ(first, std::vector<LifecycleEntry>(expected.begin(), expected.begin() + 3));
  // From an entry that is no longer indexed (the client was used since): the entries after where it was.
  ASSERT_OK(store->RecordLastUsed({{"c12", 2000}}));
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> next,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kEndOfTime, 2, first.back()));
  EXPECT_EQ(next, (std::vector<LifecycleEntry>{{"c13", 1000}, {"c14", 1000}}));
  // From an entry that never was: the next one in (time, id) order.
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> between,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kEndOfTime, 2, LifecycleEntry{"c17", 1001}));
  EXPECT_EQ(between, (std::vector<LifecycleEntry>{{"c18", 1001}, {"c19", 1001}}));
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> after_all,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kEndOfTime, 5, expected.back()));
  EXPECT_TRUE(after_all.empty());
}

TEST_F(ClientLifecycleTest, RecordLastUsedMovesTheClientForwardOnly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Create(IssuedAt("a", 100)));
  ASSERT_OK(store->Create(IssuedAt("b", 200)));
  ASSERT_OK(store->Create(IssuedAt("c", 300)));

  ASSERT_OK(store->RecordLastUsed({{"b", 1000}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"a", 100}, {"c", 300}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 100}, {"c", 300}, {"b", 1000}}));
  // An older time changes nothing, in the indexes as in last_used.
  ASSERT_OK(store->RecordLastUsed({{"b", 900}, {"a", 0}, {"c", -1}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 100}, {"c", 300}, {"b", 1000}}));
  // Of several entries for one client the latest counts; a used client moves from its last use.
  ASSERT_OK(store->RecordLastUsed({{"b", 1100}, {"a", 500}, {"b", 1050}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"c", 300}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"c", 300}, {"a", 500}, {"b", 1100}}));
  // Unknown clients get no entries.
  ASSERT_OK(store->RecordLastUsed({{"ghost", 700}}));
  store.reset();

  // Moved, not copied: one entry per client, at its time.
  EXPECT_EQ(RawKeys(kByActivityColumnFamily),
            (std::vector<std::string>{IndexKey(300, "c"), IndexKey(500, "a"), IndexKey(1100, "b")}));
  EXPECT_EQ(RawKeys(kNeverUsedColumnFamily), (std::vector<std::string>{IndexKey(300, "c")}));
}

TEST_F(ClientLifecycleTest, UpdateKeepsTheEntriesAndMovesThemWithTheIssueTime) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  StoredClient fresh = IssuedAt("fresh", 100);
  StoredClient used = IssuedAt("used", 200);
  ASSERT_OK(store->Create(fresh));
  ASSERT_OK(store->Create(used));
  ASSERT_OK(store->RecordLastUsed({{"used", 1000}}));

  // What the service changes (metadata, state, secrets) leaves the entries where they are.
  StoredClient renamed = fresh;
  renamed.set_version(fresh.version() + 1);
  renamed.mutable_metadata()->set_client_name("renamed");
  renamed.set_state(StoredClient::STATE_DISABLED);
  ASSERT_OK(store->Update(renamed, fresh.version()));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"fresh", 100}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 100}, {"used", 1000}}));

  // A changed issue time moves what it keys: both entries of a client never used, neither of a used one.
  StoredClient reissued = renamed;
  reissued.set_version(renamed.version() + 1);
  reissued.set_client_id_issued_at(150);
  ASSERT_OK(store->Update(reissued, renamed.version()));
  StoredClient used_reissued = used;
  used_reissued.set_version(used.version() + 1);
  used_reissued.set_client_id_issued_at(50);
  ASSERT_OK(store->Update(used_reissued, used.version()));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"fresh", 150}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 150}, {"used", 1000}}));
  // A refused update moves nothing.
  StoredClient stale = reissued;
  stale.set_version(reissued.version() + 5);
  stale.set_client_id_issued_at(10);
  EXPECT_TRUE(absl::IsAborted(store->Update(stale, renamed.version())));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"fresh", 150}}));
  store.reset();
  EXPECT_EQ(RawKeys(kByActivityColumnFamily),
            (std::vector<std::string>{IndexKey(150, "fresh"), IndexKey(1000, "used")}));
}

TEST_F(ClientLifecycleTest, DeleteRemovesTheEntriesAndLeavesNoTombstone) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient fresh = IssuedAt("fresh", 100);
  const StoredClient used = IssuedAt("used", 200);
  ASSERT_OK(store->Create(fresh));
  ASSERT_OK(store->Create(used));
  ASSERT_OK(store->Create(IssuedAt("kept", 300)));
  ASSERT_OK(store->RecordLastUsed({{"used", 1000}}));
  ASSERT_OK(store->Delete("fresh", fresh.version()));
  ASSERT_OK(store->Delete("used", used.version()));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"kept", 300}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"kept", 300}}));
  EXPECT_TRUE(absl::IsNotFound(store->GetTombstone("fresh").status()));
  // A deleted id, unlike a reaped one, may be created again.
  ASSERT_OK(store->Create(IssuedAt("used", 2000)));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"kept", 300}, {"used", 2000}}));
  store.reset();
  EXPECT_EQ(RawKeys(kByActivityColumnFamily),
            (std::vector<std::string>{IndexKey(300, "kept"), IndexKey(2000, "used")}));
  EXPECT_TRUE(RawKeys(kTombstonesColumnFamily).empty());
}

TEST_F(ClientLifecycleTest, ReapDeletesEverythingOfTheClientAndLeavesItsTombstone) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient idle = IssuedAt("idle", 100);
  const StoredClient never = IssuedAt("never", 200);
  ASSERT_OK(store->Create(idle));
  ASSERT_OK(store->Create(never));
  ASSERT_OK(store->Create(IssuedAt("kept", 300)));
  ASSERT_OK(store->RecordLastUsed({{"idle", 250}, {"kept", 5000}}));
  ASSERT_OK_AND_ASSIGN(const ClientCounts before, store->CountClients());
  EXPECT_EQ(before.active, 3);

  // What a reaper does: list what is due, then reap each entry with the version it reads.
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle, 1000), (std::vector<LifecycleEntry>{{"never", 200}, {"idle", 250}}));
  const StoredTombstone idle_tombstone = TombstoneOf(idle, StoredTombstone::REASON_IDLE, 250);
  ASSERT_OK(store->Reap(idle_tombstone, idle.version(), LifecycleIndex::kIdle, 1000));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed, 1000), (std::vector<LifecycleEntry>{{"never", 200}}));
  const StoredTombstone never_tombstone = TombstoneOf(never, StoredTombstone::REASON_NEVER_USED);
  ASSERT_OK(store->Reap(never_tombstone, never.version(), LifecycleIndex::kNeverUsed, 1000));

  for (const std::string id : {"idle", "never"}) {
    EXPECT_TRUE(absl::IsNotFound(store->Get(id).status())) << id;
    EXPECT_TRUE(absl::IsNotFound(store->FindByTokenDigest("token-digest-" + id).status())) << id;
    ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed(id));
    EXPECT_EQ(last_used, 0) << id;
  }
  ASSERT_OK_AND_ASSIGN(const StoredTombstone idle_stored, store->GetTombstone("idle"));
  EXPECT_TRUE(MessageDifferencer::Equals(idle_stored, idle_tombstone)) << idle_stored.DebugString();
  ASSERT_OK_AND_ASSIGN(const StoredTombstone never_stored, store->GetTombstone("never"));
  EXPECT_TRUE(MessageDifferencer::Equals(never_stored, never_tombstone)) << never_stored.DebugString();
  EXPECT_TRUE(absl::IsNotFound(store->GetTombstone("kept").status()));
  EXPECT_EQ(TombstoneIds(*store), (std::vector<std::string>{"idle", "never"}));
  // Tombstones are not clients.
  EXPECT_EQ(VisitedIds(*store), (std::vector<std::string>{"kept"}));
  ASSERT_OK_AND_ASSIGN(const ClientCounts after, store->CountClients());
  EXPECT_EQ(after.active, 1);
  EXPECT_EQ(after.disabled, 0);
  EXPECT_TRUE(ListAll(*store, LifecycleIndex::kNeverUsed).empty());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"kept", 5000}}));
  // A second reap of the same client finds nothing to reap.
  EXPECT_TRUE(absl::IsNotFound(store->Reap(idle_tombstone, idle.version(), LifecycleIndex::kIdle, 1000)));
  store.reset();

  EXPECT_EQ(RawKeys(kClientsColumnFamily), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(RawKeys(kTokenIndexColumnFamily), (std::vector<std::string>{"token-digest-kept"}));
  EXPECT_EQ(RawKeys(kLastUsedColumnFamily), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(RawKeys(kByActivityColumnFamily), (std::vector<std::string>{IndexKey(5000, "kept")}));
  EXPECT_TRUE(RawKeys(kNeverUsedColumnFamily).empty());
  const std::map<std::string, std::string> tombstones = ReadColumnFamily(kTombstonesColumnFamily);
  ASSERT_EQ(tombstones.count("idle"), 1u);
  EXPECT_EQ(tombstones.at("idle"), idle_tombstone.SerializeAsString());
}

TEST_F(ClientLifecycleTest, ReapKeepsAClientUsedOrChangedSinceItWasListed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient client = IssuedAt("c1", 100);
  ASSERT_OK(store->Create(client));
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> listed,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, 1000, 10));
  ASSERT_EQ(listed, (std::vector<LifecycleEntry>{{"c1", 100}}));

  // Used after the listing: no longer never used, and idle only since 800.
  ASSERT_OK(store->RecordLastUsed({{"c1", 800}}));
  const StoredTombstone tombstone = TombstoneOf(client, StoredTombstone::REASON_NEVER_USED);
  EXPECT_TRUE(absl::IsFailedPrecondition(store->Reap(tombstone, client.version(), LifecycleIndex::kNeverUsed, 1000)));
  EXPECT_TRUE(absl::IsFailedPrecondition(store->Reap(tombstone, client.version(), LifecycleIndex::kIdle, 800)));
  // Changed since: the version moved on.
  StoredClient changed = client;
  changed.set_version(client.version() + 1);
  ASSERT_OK(store->Update(changed, client.version()));
  EXPECT_TRUE(absl::IsAborted(store->Reap(tombstone, client.version(), LifecycleIndex::kIdle, 1000)));
  // Gone, never there, or named by no tombstone at all.
  EXPECT_TRUE(absl::IsNotFound(
      store->Reap(TombstoneOf(IssuedAt("ghost", 1), StoredTombstone::REASON_IDLE), 7, LifecycleIndex::kIdle, 1000)));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Reap(StoredTombstone(), 7, LifecycleIndex::kIdle, 1000)));

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store->Get("c1"));
  EXPECT_EQ(stored.version(), changed.version());
  ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed("c1"));
  EXPECT_EQ(last_used, 800);
  EXPECT_TRUE(absl::IsNotFound(store->GetTombstone("c1").status()));
  EXPECT_TRUE(TombstoneIds(*store).empty());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"c1", 800}}));
  // Still due by what holds now, it goes.
  ASSERT_OK(store->Reap(tombstone, changed.version(), LifecycleIndex::kIdle, 801));
  EXPECT_TRUE(absl::IsNotFound(store->Get("c1").status()));
}

TEST_F(ClientLifecycleTest, AReapedIdIsNeverCreatedAgain) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  const StoredClient old = IssuedAt("old", 100);
  ASSERT_OK(store->Create(old));
  ASSERT_OK(store->RecordLastUsed({{"old", 150}}));
  const StoredTombstone tombstone = TombstoneOf(old, StoredTombstone::REASON_IDLE, 150);
  ASSERT_OK(store->Reap(tombstone, old.version(), LifecycleIndex::kIdle, 1000));

  EXPECT_TRUE(absl::IsAlreadyExists(store->Create(IssuedAt("old", 2000))));
  // Asynchronously too, and in a group with a Create that goes through.
  absl::Status reused_async = absl::UnknownError("not called");
  absl::Status fresh_async = absl::UnknownError("not called");
  std::atomic<int> calls{0};
  store->CreateAsync(IssuedAt("old", 2000), [&](absl::Status status) {
    reused_async = std::move(status);
    ++calls;
  });
  store->CreateAsync(IssuedAt("new", 2000), [&](absl::Status status) {
    fresh_async = std::move(status);
    ++calls;
  });
  while (calls.load() < 2) std::this_thread::yield();
  EXPECT_TRUE(absl::IsAlreadyExists(reused_async)) << reused_async;
  EXPECT_OK(fresh_async);

  // The tombstone is as it was, and nothing of the old client reaches the new one.
  ASSERT_OK_AND_ASSIGN(const StoredTombstone stored, store->GetTombstone("old"));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, tombstone));
  EXPECT_TRUE(absl::IsNotFound(store->Get("old").status()));
  ASSERT_OK_AND_ASSIGN(const int64_t new_last_used, store->GetLastUsed("new"));
  EXPECT_EQ(new_last_used, 0);
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"new", 2000}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"new", 2000}}));
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store->CountClients());
  EXPECT_EQ(counts.active, 1);
}

TEST_F(ClientLifecycleTest, ScanTombstonesPagesInIdOrder) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (const std::string id : {"d", "b", "a", "c"}) {
    const StoredClient client = IssuedAt(id, 100);
    ASSERT_OK(store->Create(client));
    ASSERT_OK(store->Reap(TombstoneOf(client, StoredTombstone::REASON_NEVER_USED), client.version(),
                          LifecycleIndex::kNeverUsed, 1000));
  }
  EXPECT_EQ(TombstoneIds(*store), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(TombstoneIds(*store, "b"), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(TombstoneIds(*store, "bb"), (std::vector<std::string>{"c", "d"}));
  std::vector<std::string> first_two;
  EXPECT_OK(store->ScanTombstones("", [&](const StoredTombstone& tombstone) -> absl::StatusOr<bool> {
    first_two.push_back(tombstone.client_id());
    return first_two.size() < 2;
  }));
  EXPECT_EQ(first_two, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(absl::IsCancelled(store->ScanTombstones(
      "", [](const StoredTombstone&) -> absl::StatusOr<bool> { return absl::CancelledError("stop"); })));
}

TEST_F(ClientLifecycleTest, AUseRacingAReapEitherKeepsTheClientOrFindsItGone) {
  constexpr int kClients = 200;
  constexpr int64_t kIssuedAt = 1000;
  constexpr int64_t kDue = 2000;
  constexpr int64_t kUsedAt = 5000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  std::vector<StoredClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(IssuedAt(absl::StrCat("c", 1000 + i), kIssuedAt));
    ASSERT_OK(store->Create(clients.back()));
  }
  // A reaper's listing, stale by the time it reaps: every client is used or reaped meanwhile.
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> listed,
                       store->ListByLifecycle(LifecycleIndex::kNeverUsed, kDue, kClients));
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(kClients));

  // Client by client, the user and the reaper are released together: the user authenticates every even client,
  // the reaper reaps every listed one, so each even client is raced for. Odd ones are reaped unopposed.
  std::vector<absl::Status> reaped(kClients);
  std::vector<std::atomic<bool>> use_acknowledged(kClients);
  std::barrier round(2);
  RunConcurrently(2, [&](int thread) {
    for (int i = 0; i < kClients; ++i) {
      round.arrive_and_wait();
      if (thread == 0) {
        if (i % 2 != 0) continue;
        EXPECT_OK(store->RecordLastUsed({{clients[i].client_id(), kUsedAt}}));
        use_acknowledged[i].store(true);
        continue;
      }
      // Every other raced client gives the use a head start, so that both outcomes occur; the rest are a dead heat,
      // which the reaper mostly wins.
      if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
      const bool used_first = use_acknowledged[i].load();
      reaped[i] = store->Reap(TombstoneOf(clients[i], StoredTombstone::REASON_NEVER_USED), clients[i].version(),
                              LifecycleIndex::kNeverUsed, kDue);
      // A use acknowledged before the reap began keeps the client.
      if (used_first) {
        EXPECT_TRUE(absl::IsFailedPrecondition(reaped[i])) << i << ": " << reaped[i];
      }
    }
  });

  int kept = 0;
  std::vector<LifecycleEntry> kept_entries;
  for (int i = 0; i < kClients; ++i) {
    const std::string& id = clients[i].client_id();
    ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed(id));
    if (reaped[i].ok()) {
      EXPECT_TRUE(absl::IsNotFound(store->Get(id).status())) << id;
      EXPECT_OK(store->GetTombstone(id).status()) << id;
      EXPECT_EQ(last_used, 0) << id;
      continue;
    }
    // Only a use keeps a client, and a kept client has that use and no tombstone.
    EXPECT_TRUE(absl::IsFailedPrecondition(reaped[i])) << id << ": " << reaped[i];
    EXPECT_EQ(i % 2, 0) << id;
    EXPECT_OK(store->Get(id).status()) << id;
    EXPECT_TRUE(absl::IsNotFound(store->GetTombstone(id).status())) << id;
    EXPECT_EQ(last_used, kUsedAt) << id;
    kept_entries.push_back({id, kUsedAt});
    ++kept;
  }
  // Both outcomes happened: the race was run, not avoided.
  EXPECT_GT(kept, 0);
  EXPECT_GT(kClients - kept, kClients / 2);
  EXPECT_TRUE(ListAll(*store, LifecycleIndex::kNeverUsed).empty());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), kept_entries);
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store->CountClients());
  EXPECT_EQ(counts.active, kept);
  EXPECT_EQ(TombstoneIds(*store).size(), static_cast<std::size_t>(kClients - kept));
}

TEST_F(ClientLifecycleTest, RegistrationsRacingTheReaperAreNeverLost) {
  constexpr int kOld = 120;
  constexpr int kRegistrars = 2;
  constexpr int kRegistrations = 60;
  constexpr int64_t kDue = 2000;
  constexpr int64_t kNow = 3000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  for (int i = 0; i < kOld; ++i) ASSERT_OK(store->Create(IssuedAt(absl::StrCat("old-", 1000 + i), 1000)));

  std::atomic<int> reaped{0};
  RunConcurrently(1 + kRegistrars, [&](int thread) {
    if (thread == 0) {
      // The reaper: a page at a time, each entry reaped with the version read for it.
      for (;;) {
        const absl::StatusOr<std::vector<LifecycleEntry>> page =
            store->ListByLifecycle(LifecycleIndex::kNeverUsed, kDue, 16);
        ASSERT_OK(page);
        if (page->empty()) return;
        for (const LifecycleEntry& entry : *page) {
          const absl::StatusOr<StoredClient> client = store->Get(entry.client_id);
          ASSERT_OK(client);
          ASSERT_OK(store->Reap(TombstoneOf(*client, StoredTombstone::REASON_NEVER_USED), client->version(),
                                LifecycleIndex::kNeverUsed, kDue));
          ++reaped;
        }
      }
    }
    for (int i = 0; i < kRegistrations; ++i) {
      EXPECT_OK(store->Create(IssuedAt(absl::StrCat("new-", thread, "-", 1000 + i), kNow)));
    }
  });

  EXPECT_EQ(reaped.load(), kOld);
  EXPECT_EQ(TombstoneIds(*store).size(), static_cast<std::size_t>(kOld));
  for (int thread = 1; thread <= kRegistrars; ++thread) {
    for (int i = 0; i < kRegistrations; ++i) {
      EXPECT_OK(store->Get(absl::StrCat("new-", thread, "-", 1000 + i)).status());
    }
  }
  ASSERT_OK_AND_ASSIGN(const ClientCounts counts, store->CountClients());
  EXPECT_EQ(counts.active, kRegistrars * kRegistrations);
  EXPECT_TRUE(ListAll(*store, LifecycleIndex::kNeverUsed, kDue).empty());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed).size(), static_cast<std::size_t>(kRegistrars * kRegistrations));
}

TEST_F(ClientLifecycleTest, IndexesAndTombstonesSurviveReopen) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_NO_FATAL_FAILURE(FillGoneFreshAndUsed(*store));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"fresh", 100}}));
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 100}, {"used", 900}}));
  EXPECT_EQ(TombstoneIds(*store), (std::vector<std::string>{"gone"}));
  EXPECT_TRUE(absl::IsAlreadyExists(store->Create(IssuedAt("gone", 1000))));
}

TEST_F(ClientLifecycleTest, IndexesAreBuiltOnceForADatabaseFromBeforeThem) {
  // The layout of a release before last-use tracking: clients only, none of the new column families.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("b", IssuedAt("b", 200).SerializeAsString()));
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("a", IssuedAt("a", 100).SerializeAsString()));
  // Indexed nowhere: the store can neither read nor reap it.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("broken", "\xff\xff\xff\xff"));
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"a", 100}, {"b", 200}}));
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"a", 100}, {"b", 200}}));
    // Maintained from then on.
    ASSERT_OK(store->RecordLastUsed({{"a", 300}}));
  }
  EXPECT_EQ(ReadColumnFamily(rocksdb::kDefaultColumnFamilyName).at(kLifecycleIndexesBuiltKey), "1");

  // Later opens build nothing: a client written behind the store's back is not indexed.
  ASSERT_NO_FATAL_FAILURE(PutRawClientRecord("c", IssuedAt("c", 50).SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"b", 200}, {"a", 300}}));
}

TEST_F(ClientLifecycleTest, AnOpenWithoutTheMarkerRebuildsTheIndexesFromScratch) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_NO_FATAL_FAILURE(FillGoneFreshAndUsed(*store));
  }
  const std::vector<std::string> never_used = RawKeys(kNeverUsedColumnFamily);
  const std::vector<std::string> by_activity = RawKeys(kByActivityColumnFamily);
  // As a build cut short would leave them: the marker missing, an entry missing, and one for no client at all.
  ASSERT_NO_FATAL_FAILURE(DeleteRaw(rocksdb::kDefaultColumnFamilyName, kLifecycleIndexesBuiltKey));
  ASSERT_NO_FATAL_FAILURE(DeleteRaw(kNeverUsedColumnFamily, IndexKey(100, "fresh")));
  ASSERT_NO_FATAL_FAILURE(PutRaw(kByActivityColumnFamily, IndexKey(5, "ghost"), ""));
  ASSERT_EQ(RawKeys(kByActivityColumnFamily).size(), by_activity.size() + 1);

  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"fresh", 100}}));
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 100}, {"used", 900}}));
    // Tombstones are records, not an index: the rebuild leaves them.
    EXPECT_EQ(TombstoneIds(*store), (std::vector<std::string>{"gone"}));
  }
  EXPECT_EQ(RawKeys(kNeverUsedColumnFamily), never_used);
  EXPECT_EQ(RawKeys(kByActivityColumnFamily), by_activity);
}

TEST_F(ClientLifecycleTest, CheckpointHoldsTheIndexesAndTombstones) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_NO_FATAL_FAILURE(FillGoneFreshAndUsed(*store));

  const std::string backup = dir_ + "/backup";
  ASSERT_OK(store->Checkpoint(backup));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> copy, OpenRocksDbClientStore(backup));
  ASSERT_OK_AND_ASSIGN(const StoredTombstone copied, copy->GetTombstone("gone"));
  EXPECT_TRUE(MessageDifferencer::Equals(copied, GoneTombstone()));
  EXPECT_TRUE(absl::IsAlreadyExists(copy->Create(IssuedAt("gone", 1000))));
  for (const LifecycleIndex index : {LifecycleIndex::kNeverUsed, LifecycleIndex::kIdle}) {
    EXPECT_EQ(ListAll(*copy, index), ListAll(*store, index));
  }
  EXPECT_EQ(ListAll(*copy, LifecycleIndex::kIdle), (std::vector<LifecycleEntry>{{"fresh", 100}, {"used", 900}}));
}

TEST_F(ClientLifecycleTest, FailedReapIsUnavailableAndKeepsTheClient) {
  auto file_system = std::make_shared<FaultInjectingFileSystem>(rocksdb::FileSystem::Default());
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  const StoredClient client = IssuedAt("c1", 100);
  const StoredTombstone tombstone = TombstoneOf(client, StoredTombstone::REASON_NEVER_USED);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open(env.get()));
    ASSERT_OK(store->Create(client));
    file_system->set_fault(Fault::kAppendAndSync);
    EXPECT_TRUE(absl::IsUnavailable(store->Reap(tombstone, client.version(), LifecycleIndex::kNeverUsed, 1000)));
    file_system->set_fault(Fault::kNone);
    ASSERT_OK(store->Get("c1").status());
    EXPECT_TRUE(absl::IsNotFound(store->GetTombstone("c1").status()));
    EXPECT_EQ(ListAll(*store, LifecycleIndex::kNeverUsed), (std::vector<LifecycleEntry>{{"c1", 100}}));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  ASSERT_OK(store->Get("c1").status());
  EXPECT_TRUE(absl::IsNotFound(store->GetTombstone("c1").status()));
  ASSERT_OK(store->Reap(tombstone, client.version(), LifecycleIndex::kNeverUsed, 1000));
  EXPECT_TRUE(absl::IsNotFound(store->Get("c1").status()));
}

TEST_F(ClientLifecycleTest, CorruptEntriesAreDataLoss) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
    ASSERT_OK(store->Create(IssuedAt("c1", 100)));
  }
  // An index key with no client_id after its time, and a tombstone naming another client.
  ASSERT_NO_FATAL_FAILURE(PutRaw(kByActivityColumnFamily, EncodeOrderedInt64(50), ""));
  StoredTombstone other;
  other.set_client_id("other");
  ASSERT_NO_FATAL_FAILURE(PutRaw(kTombstonesColumnFamily, "alias", other.SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientStore> store, Open());
  EXPECT_TRUE(absl::IsDataLoss(store->ListByLifecycle(LifecycleIndex::kIdle, kEndOfTime, 10).status()));
  // Bounded before the bad entry, a listing never reads it.
  ASSERT_OK_AND_ASSIGN(const std::vector<LifecycleEntry> early, store->ListByLifecycle(LifecycleIndex::kIdle, 50, 10));
  EXPECT_TRUE(early.empty());
  EXPECT_TRUE(absl::IsDataLoss(store->GetTombstone("alias").status()));
  EXPECT_TRUE(
      absl::IsDataLoss(store->ScanTombstones("", [](const StoredTombstone&) -> absl::StatusOr<bool> { return true; })));
}

}  // namespace
}  // namespace clientreg::storage
