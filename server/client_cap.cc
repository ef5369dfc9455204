#include "server/client_cap.h"

#include "absl/strings/str_cat.h"
#include "common/registration_error.h"

namespace clientreg::server {
namespace {

constexpr int64_t kRecountMillis = 1000;
// Room comes back when an operator deletes clients or unused ones are reaped: not within seconds.
constexpr int64_t kRetryAfterSeconds = 300;

}  // namespace

ClientCap::ClientCap(uint64_t max_clients, const storage::ClientStore* store, const common::Clock* clock)
    : max_clients_(max_clients), store_(store), clock_(clock) {}

absl::Status ClientCap::Admit() {
  if (max_clients_ == 0) return absl::OkStatus();
  {
    absl::MutexLock lock(&mutex_);
    const int64_t now = clock_->NowMillis();
    if (!counted_ever_ || now - counted_at_millis_ >= kRecountMillis || now < counted_at_millis_) {
      // The creations counted from here on are the ones the new count may not hold yet; a creation racing this
      // recount may be counted twice, which errs on the side of the cap.
      const int64_t created_before = created_since_count_.load();
      const absl::StatusOr<storage::ClientCounts> counts = store_->CountClients();
      if (!counts.ok()) {
        in_flight_.fetch_add(1);
        return absl::OkStatus();
      }
      counted_ = counts->active + counts->disabled;
      counted_at_millis_ = now;
      counted_ever_ = true;
      created_since_count_.fetch_sub(created_before);
    }
    // A write that ends meanwhile moves from in_flight_ to created_since_count_ in that order, so the sum never
    // misses it; a write the recount already saw may count twice until the next recount, erring on the cap's side.
    const int64_t clients = counted_ + created_since_count_.load() + in_flight_.load();
    if (clients < static_cast<int64_t>(max_clients_)) {
      in_flight_.fetch_add(1);  // under the mutex: concurrent admissions see each other's reservation
      return absl::OkStatus();
    }
  }
  return common::TemporarilyUnavailable(
      kRetryAfterSeconds,
      absl::StrCat("this server holds its maximum of ", max_clients_, " registered clients; retry later"));
}

void ClientCap::Finished(bool created) {
  if (max_clients_ == 0) return;
  if (created) created_since_count_.fetch_add(1);
  in_flight_.fetch_sub(1);
}

}  // namespace clientreg::server
