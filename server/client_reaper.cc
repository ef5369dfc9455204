#include "server/client_reaper.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace clientreg::server {
namespace {

using clientreg::v1::StoredClient;
using clientreg::v1::StoredTombstone;

constexpr std::size_t kMaxBatchSize = 1000;

std::string_view ReasonLabel(StoredTombstone::Reason reason) {
  return reason == StoredTombstone::REASON_NEVER_USED ? "never_used" : "idle";
}

// A client's race with the reaper, lost by the reaper: the client was used, changed or deleted since it was listed.
bool LostRace(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsAborted(status) || absl::IsFailedPrecondition(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientReaper>> ClientReaper::Create(storage::ClientStore* store,
                                                                   const common::Clock* clock, Options options) {
  if (options.never_used_after_seconds < 0 || options.idle_after_seconds < 0) {
    return absl::InvalidArgumentError("lifecycle: reap times must not be negative");
  }
  if (options.batch_size == 0 || options.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat("lifecycle: reap_batch_size must be 1 to ", kMaxBatchSize));
  }
  if (options.interval <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("lifecycle: reap_interval_seconds must be positive");
  }
  return std::unique_ptr<ClientReaper>(new ClientReaper(store, clock, std::move(options)));
}

ClientReaper::ClientReaper(storage::ClientStore* store, const common::Clock* clock, Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    reaped_ =
        &options_.metrics->AddCounter("clientreg_clients_reaped_total",
                                      "Clients the reaper deleted, by the lifecycle rule that took them.", {"reason"});
    errors_ = &options_.metrics
                   ->AddCounter("clientreg_reaper_errors_total",
                                "Reaper passes that stopped on a store error (retried at the next pass).")
                   .Get();
    // Both series exist from the start, so a rate over them is defined before the first reap.
    reaped_->WithLabels({"never_used"});
    reaped_->WithLabels({"idle"});
  }
}

ClientReaper::~ClientReaper() { Stop(); }

void ClientReaper::Start() {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void ClientReaper::Stop() {
  stop_requested_.store(true);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ClientReaper::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    absl::StatusOr<Pass> pass = RunPass(std::numeric_limits<std::size_t>::max(), /*dry_run=*/false);
    if (!pass.ok()) {
      if (errors_ != nullptr) errors_->Increment();
      common::Log(common::LogLevel::kWarning, "reaper_pass_failed", {{"error", pass.status().ToString()}});
    } else if (!pass->clients.empty()) {
      common::Log(common::LogLevel::kInfo, "reaper_pass", {{"reaped", std::to_string(pass->clients.size())}});
    }
    lock.lock();
  }
}

absl::StatusOr<ClientReaper::Pass> ClientReaper::RunPass(std::size_t limit, bool dry_run) {
  if (!enabled()) return absl::FailedPreconditionError("no lifecycle rule is configured");
  std::lock_guard<std::mutex> serial(pass_mutex_);
  if (options_.flush_last_use) RETURN_IF_ERROR(options_.flush_last_use());
  const int64_t now = clock_->NowSeconds();
  Pass pass;
  if (options_.never_used_after_seconds > 0) {
    RETURN_IF_ERROR(Sweep(storage::LifecycleIndex::kNeverUsed, now - options_.never_used_after_seconds,
                          StoredTombstone::REASON_NEVER_USED, limit, dry_run, pass));
  }
  if (options_.idle_after_seconds > 0 && !pass.more) {
    RETURN_IF_ERROR(Sweep(storage::LifecycleIndex::kIdle, now - options_.idle_after_seconds,
                          StoredTombstone::REASON_IDLE, limit, dry_run, pass));
  }
  return pass;
}

absl::Status ClientReaper::Sweep(storage::LifecycleIndex index, int64_t before, StoredTombstone::Reason reason,
                                 std::size_t limit, bool dry_run, Pass& pass) {
  // A dry run reaps nothing, so a never-used client due under both rules is listed by both sweeps: once is enough.
  std::unordered_set<std::string> listed;
  for (const StoredTombstone& tombstone : pass.clients) listed.insert(tombstone.client_id());
  std::optional<storage::LifecycleEntry> after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<storage::LifecycleEntry> entries,
                     store_->ListByLifecycle(index, before, options_.batch_size, after));
    for (const storage::LifecycleEntry& entry : entries) {
      if (pass.clients.size() >= limit || stop_requested_.load()) {
        pass.more = true;
        return absl::OkStatus();
      }
      after = entry;
      if (listed.count(entry.client_id) > 0) continue;
      absl::StatusOr<StoredClient> client = store_->Get(entry.client_id);
      if (absl::IsNotFound(client.status())) continue;  // deleted since it was listed
      RETURN_IF_ERROR(client.status());
      // Only what dynamic registration made is the reaper's; an in-memory use not yet written saves a client.
      if (client->origin() != StoredClient::ORIGIN_DYNAMIC) continue;
      if (options_.pending_last_use && options_.pending_last_use(entry.client_id) > 0) continue;
      ASSIGN_OR_RETURN(const int64_t last_used, store_->GetLastUsed(entry.client_id));
      StoredTombstone tombstone;
      tombstone.set_client_id(entry.client_id);
      tombstone.set_reason(reason);
      tombstone.set_client_id_issued_at(client->client_id_issued_at());
      tombstone.set_last_used_at(last_used);
      tombstone.set_client_name(client->metadata().client_name());
      tombstone.set_software_id(client->metadata().software_id());
      tombstone.set_state(client->state());
      if (!dry_run) {
        tombstone.set_reaped_at(clock_->NowSeconds());
        const absl::Status reaped = store_->Reap(tombstone, client->version(), index, before);
        if (LostRace(reaped)) continue;
        RETURN_IF_ERROR(reaped);
        if (reaped_ != nullptr) reaped_->WithLabels({ReasonLabel(reason)}).Increment();
        common::Log(common::LogLevel::kInfo, "client_reaped",
                    {{"client_id", entry.client_id},
                     {"reason", ReasonLabel(reason)},
                     {"client_id_issued_at", std::to_string(tombstone.client_id_issued_at())},
                     {"last_used_at", std::to_string(last_used)}});
      }
      listed.insert(entry.client_id);
      pass.clients.push_back(std::move(tombstone));
    }
    if (entries.size() < options_.batch_size) return absl::OkStatus();
  }
}

}  // namespace clientreg::server
