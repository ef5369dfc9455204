#ifndef CLIENTREG_SERVER_CLIENT_REAPER_H_
#define CLIENTREG_SERVER_CLIENT_REAPER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "storage/client_store.h"

namespace clientreg::server {

// Deletes the dynamically registered clients nobody uses (ServerConfig.lifecycle), leaving a tombstone for each: one
// never used `never_used_after_seconds` after its registration, and one whose last use (or registration, if never
// used) is older than `idle_after_seconds`. It walks the store's lifecycle indexes from their oldest entry, so a
// pass costs what it reaps, not the size of the store, and deletes one client per durable write: registrations
// wait at most for one such write. Thread-safe.
class ClientReaper {
 public:
  struct Options {
    // 0: the rule is off.
    int64_t never_used_after_seconds = 0;
    int64_t idle_after_seconds = 0;
    // Between passes of the background thread.
    std::chrono::milliseconds interval = std::chrono::seconds(60);
    // Index entries read at a time.
    std::size_t batch_size = 100;
    // Writes the last uses still held in memory (the batched last-use recorder), so that a use not yet flushed saves
    // its client; called at the start of every pass. May be null.
    std::function<absl::Status()> flush_last_use;
    // The last use of a client still held in memory (0 if none): a client with one is never reaped. May be null.
    std::function<int64_t(std::string_view)> pending_last_use;
    // Registers clientreg_clients_reaped_total{reason} and clientreg_reaper_errors_total when set; must outlive the
    // reaper.
    common::MetricsRegistry* metrics = nullptr;
  };

  // What a pass reaped or, dry, would reap: tombstones in the order the indexes gave them (never-used rule first,
  // each oldest first), and whether more clients were due than `limit` allowed.
  struct Pass {
    std::vector<clientreg::v1::StoredTombstone> clients;
    bool more = false;
  };

  // InvalidArgument for a negative rule or a batch_size of 0 or over 1000. `store` and `clock` must outlive it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClientReaper>> Create(storage::ClientStore* store,
                                                                            const common::Clock* clock,
                                                                            Options options);
  ~ClientReaper();  // Stop()

  ClientReaper(const ClientReaper&) = delete;
  ClientReaper& operator=(const ClientReaper&) = delete;

  // Whether any rule is on.
  bool enabled() const { return options_.never_used_after_seconds > 0 || options_.idle_after_seconds > 0; }

  // Starts the background thread, which runs a pass (without limit) every interval; nothing if no rule is on.
  void Start();
  // Stops it: a pass under way (the thread's or RunPass's) ends after its current write, so a long backlog never
  // holds up a shutdown. Idempotent.
  void Stop();

  // One pass now: reaps up to `limit` due clients, or with `dry_run` only lists them (reaped_at 0). Passes are
  // serialised. FailedPrecondition if no rule is on; Unavailable if the store cannot be read. A client that stops
  // being due while the pass runs (used, changed, deleted) is skipped, never reaped.
  [[nodiscard]] absl::StatusOr<Pass> RunPass(std::size_t limit, bool dry_run);

 private:
  ClientReaper(storage::ClientStore* store, const common::Clock* clock, Options options);

  // Reaps (or lists) the due clients of one index into `pass`, up to `limit` in all.
  absl::Status Sweep(storage::LifecycleIndex index, int64_t before, clientreg::v1::StoredTombstone::Reason reason,
                     std::size_t limit, bool dry_run, Pass& pass);
  void Loop();

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  const Options options_;
  common::CounterFamily* reaped_ = nullptr;
  common::Counter* errors_ = nullptr;

  std::mutex pass_mutex_;  // one pass at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> stop_requested_{false};  // read by passes between writes
  std::thread thread_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_REAPER_H_
