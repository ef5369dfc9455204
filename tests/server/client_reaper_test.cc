#include "server/client_reaper.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "clientreg/v1/stored.pb.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::kNow;
using ::clientreg::v1::StoredClient;
using ::clientreg::v1::StoredTombstone;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

class ClientReaperTest : public clientreg::testing::ClientStoreFixture {
 protected:
  void TearDown() override {
    reaper_.reset();
    ClientStoreFixture::TearDown();
  }

  // Stores a client registered `age` seconds ago, last used `used_ago` seconds ago (never when negative).
  void Add(const std::string& id, int64_t age, int64_t used_ago = -1,
           StoredClient::State state = StoredClient::STATE_ACTIVE) {
    StoredClient client = MakeClient(id);
    client.set_client_id_issued_at(kNow - age);
    client.set_updated_at(kNow - age);
    client.set_state(state);
    client.mutable_metadata()->set_software_id("sw-" + id);
    Store(client);
    if (used_ago >= 0) {
      ASSERT_OK(store_->RecordLastUsed({{id, kNow - used_ago}}));
    }
  }

  void MakeReaper(ClientReaper::Options options) {
    ASSERT_OK_AND_ASSIGN(reaper_, ClientReaper::Create(store_.get(), &clock_, std::move(options)));
  }

  static ClientReaper::Options Rules(int64_t never_used, int64_t idle) {
    ClientReaper::Options options;
    options.never_used_after_seconds = never_used;
    options.idle_after_seconds = idle;
    options.batch_size = 2;  // several batches even in small tests
    return options;
  }

  bool Exists(const std::string& id) { return store_->Get(id).ok(); }

  static std::set<std::string> Ids(const ClientReaper::Pass& pass) {
    std::set<std::string> ids;
    for (const StoredTombstone& tombstone : pass.clients) ids.insert(tombstone.client_id());
    return ids;
  }

  std::unique_ptr<ClientReaper> reaper_;
};

TEST_F(ClientReaperTest, NeverUsedAndIdleClientsGoUsedAndRecentOnesStay) {
  Add("never-used-old", 2 * kHour);
  Add("never-used-new", 10);
  Add("used-recently", 2 * kHour, /*used_ago=*/60);
  Add("idle", 100 * kDay, /*used_ago=*/91 * kDay);
  Add("disabled-never-used", 2 * kHour, -1, StoredClient::STATE_DISABLED);
  Add("disabled-used", 2 * kHour, /*used_ago=*/60, StoredClient::STATE_DISABLED);
  common::MetricsRegistry metrics;
  ClientReaper::Options options = Rules(kHour, 90 * kDay);
  options.metrics = &metrics;
  MakeReaper(std::move(options));

  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, /*dry_run=*/false));
  EXPECT_FALSE(pass.more);
  EXPECT_THAT(Ids(pass), UnorderedElementsAre("never-used-old", "idle", "disabled-never-used"));
  EXPECT_TRUE(Exists("never-used-new"));
  EXPECT_TRUE(Exists("used-recently"));
  EXPECT_TRUE(Exists("disabled-used"));

  // Gone, with a tombstone that says why; the store counts them no more.
  EXPECT_EQ(store_->Get("never-used-old").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(StoredTombstone never_used, store_->GetTombstone("never-used-old"));
  EXPECT_EQ(never_used.reason(), StoredTombstone::REASON_NEVER_USED);
  EXPECT_EQ(never_used.reaped_at(), kNow);
  EXPECT_EQ(never_used.client_id_issued_at(), kNow - 2 * kHour);
  EXPECT_EQ(never_used.last_used_at(), 0);
  EXPECT_EQ(never_used.software_id(), "sw-never-used-old");
  ASSERT_OK_AND_ASSIGN(StoredTombstone idle, store_->GetTombstone("idle"));
  EXPECT_EQ(idle.reason(), StoredTombstone::REASON_IDLE);
  EXPECT_EQ(idle.last_used_at(), kNow - 91 * kDay);
  ASSERT_OK_AND_ASSIGN(StoredTombstone disabled, store_->GetTombstone("disabled-never-used"));
  EXPECT_EQ(disabled.state(), StoredClient::STATE_DISABLED);
  ASSERT_OK_AND_ASSIGN(storage::ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, 2);
  EXPECT_EQ(counts.disabled, 1);
  EXPECT_THAT(metrics.Encode(), HasSubstr("clientreg_clients_reaped_total{reason=\"never_used\"} 2"));
  EXPECT_THAT(metrics.Encode(), HasSubstr("clientreg_clients_reaped_total{reason=\"idle\"} 1"));

  // A second pass finds nothing; a reaped id is never issued again.
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass again, reaper_->RunPass(1000, false));
  EXPECT_TRUE(again.clients.empty());
  EXPECT_EQ(store_->Create(MakeClient("never-used-old")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(ClientReaperTest, EachRuleAloneTakesOnlyItsClients) {
  Add("never-used-old", 2 * kHour);
  Add("idle", 100 * kDay, /*used_ago=*/91 * kDay);
  MakeReaper(Rules(kHour, 0));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, true));
  EXPECT_THAT(Ids(pass), UnorderedElementsAre("never-used-old"));

  // The idle rule counts a never-used client from its registration.
  MakeReaper(Rules(0, kHour));
  ASSERT_OK_AND_ASSIGN(pass, reaper_->RunPass(1000, true));
  EXPECT_THAT(Ids(pass), UnorderedElementsAre("never-used-old", "idle"));
}

TEST_F(ClientReaperTest, DryRunListsWithoutDeleting) {
  Add("a", 2 * kHour);
  Add("b", 100 * kDay, 91 * kDay);
  MakeReaper(Rules(kHour, 90 * kDay));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, /*dry_run=*/true));
  EXPECT_THAT(Ids(pass), UnorderedElementsAre("a", "b"));
  for (const StoredTombstone& tombstone : pass.clients) EXPECT_EQ(tombstone.reaped_at(), 0);
  EXPECT_TRUE(Exists("a"));
  EXPECT_TRUE(Exists("b"));
  EXPECT_EQ(store_->GetTombstone("a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientReaperTest, NeverUsedClientDueUnderBothRulesIsListedOnce) {
  Add("old", 100 * kDay);
  MakeReaper(Rules(kHour, 90 * kDay));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, true));
  ASSERT_EQ(pass.clients.size(), 1u);
  EXPECT_EQ(pass.clients[0].reason(), StoredTombstone::REASON_NEVER_USED);
}

TEST_F(ClientReaperTest, LimitStopsThePassAndSaysMoreAreDue) {
  for (int i = 0; i < 5; ++i) Add("c" + std::to_string(i), 2 * kHour + i);
  MakeReaper(Rules(kHour, 0));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(3, false));
  EXPECT_EQ(pass.clients.size(), 3u);
  EXPECT_TRUE(pass.more);
  // Oldest first.
  EXPECT_EQ(pass.clients[0].client_id(), "c4");
  ASSERT_OK_AND_ASSIGN(pass, reaper_->RunPass(3, false));
  EXPECT_EQ(pass.clients.size(), 2u);
  EXPECT_FALSE(pass.more);
}

TEST_F(ClientReaperTest, UseStillInMemorySavesAClient) {
  Add("pending", 2 * kHour);
  Add("flushed", 2 * kHour);
  Add("neither", 2 * kHour);
  ClientReaper::Options options = Rules(kHour, 0);
  options.pending_last_use = [](std::string_view id) -> int64_t { return id == "pending" ? kNow : 0; };
  int flushes = 0;
  options.flush_last_use = [&] {
    ++flushes;
    return store_->RecordLastUsed({{"flushed", kNow}});
  };
  MakeReaper(std::move(options));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, false));
  EXPECT_EQ(flushes, 1);
  EXPECT_THAT(Ids(pass), UnorderedElementsAre("neither"));
  EXPECT_TRUE(Exists("pending"));
  EXPECT_TRUE(Exists("flushed"));
}

TEST_F(ClientReaperTest, FailedFlushStopsThePassBeforeAnyReap) {
  Add("a", 2 * kHour);
  ClientReaper::Options options = Rules(kHour, 0);
  options.flush_last_use = [] { return absl::UnavailableError("disk full"); };
  MakeReaper(std::move(options));
  EXPECT_EQ(reaper_->RunPass(1000, false).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Exists("a"));
}

TEST_F(ClientReaperTest, RegistrationsRacingThePassAreNeverLost) {
  for (int i = 0; i < 300; ++i) Add("stale-" + std::to_string(i), 2 * kHour);
  MakeReaper(Rules(kHour, kDay));
  std::atomic<bool> stop{false};
  std::vector<std::string> registered;
  std::thread registrar([&] {
    for (int i = 0; !stop.load() || i < 50; ++i) {
      StoredClient client = MakeClient("fresh-" + std::to_string(i));
      client.set_client_id_issued_at(kNow);
      if (store_->Create(client).ok()) registered.push_back(client.client_id());
    }
  });
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, false));
  stop = true;
  registrar.join();
  EXPECT_EQ(pass.clients.size(), 300u);
  ASSERT_GE(registered.size(), 50u);
  for (const std::string& id : registered) EXPECT_TRUE(Exists(id)) << id;
  ASSERT_OK_AND_ASSIGN(storage::ClientCounts counts, store_->CountClients());
  EXPECT_EQ(counts.active, static_cast<int64_t>(registered.size()));
}

TEST_F(ClientReaperTest, BackgroundThreadReapsEveryInterval) {
  Add("a", 2 * kHour);
  ClientReaper::Options options = Rules(kHour, 0);
  options.interval = std::chrono::milliseconds(10);
  MakeReaper(std::move(options));
  reaper_->Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Exists("a") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(Exists("a"));
  // A client that becomes due later goes at a later pass.
  Add("b", 10);
  clock_.Advance(2 * kHour);
  while (Exists("b") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(Exists("b"));
  reaper_->Stop();
  reaper_->Stop();  // idempotent
}

TEST_F(ClientReaperTest, StopEndsAPassUnderWayAfterItsCurrentWrite) {
  for (int i = 0; i < 50; ++i) Add("c" + std::to_string(i), 2 * kHour + i);
  ClientReaper::Options options = Rules(kHour, 0);
  // Stopping from inside the pass, as SIGTERM would from another thread, between two reads of the index.
  int looked_at = 0;
  options.pending_last_use = [&](std::string_view) -> int64_t {
    if (++looked_at == 3) reaper_->Stop();
    return 0;
  };
  MakeReaper(std::move(options));
  ASSERT_OK_AND_ASSIGN(ClientReaper::Pass pass, reaper_->RunPass(1000, false));
  EXPECT_EQ(pass.clients.size(), 3u);
  EXPECT_TRUE(pass.more) << "the rest is left for the next start";
}

TEST_F(ClientReaperTest, OptionsAreChecked) {
  EXPECT_EQ(ClientReaper::Create(store_.get(), &clock_, Rules(-1, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ClientReaper::Options options = Rules(kHour, 0);
  options.batch_size = 0;
  EXPECT_EQ(ClientReaper::Create(store_.get(), &clock_, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.batch_size = 1001;
  EXPECT_EQ(ClientReaper::Create(store_.get(), &clock_, options).status().code(), absl::StatusCode::kInvalidArgument);
  // Off: a pass is refused, and Start runs nothing.
  MakeReaper(Rules(0, 0));
  EXPECT_FALSE(reaper_->enabled());
  EXPECT_EQ(reaper_->RunPass(10, true).status().code(), absl::StatusCode::kFailedPrecondition);
  reaper_->Start();
}

}  // namespace
}  // namespace clientreg::server
