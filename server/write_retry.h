#ifndef CLIENTREG_SERVER_WRITE_RETRY_H_
#define CLIENTREG_SERVER_WRITE_RETRY_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logging.h"

namespace clientreg::server {

// How often one change to a client is tried. Each try reads the client and writes it back with a compare-and-set
// (ClientStore::Update or Delete with the version read), which loses only to a change that committed in between;
// this many losses in a row means a storm of writers to one client, and the caller retries rather than a handler
// thread spinning.
inline constexpr int kMaxWriteAttempts = 8;

namespace internal {
inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}
}  // namespace internal

// Calls `attempt` (a read, a change and a compare-and-set write of `client_id`) until it returns anything but
// ABORTED, and returns that. `attempt` returns absl::Status or absl::StatusOr<T>, ABORTED exactly when its write
// lost to a concurrent change. After kMaxWriteAttempts losses: UNAVAILABLE, and a `client_write_contended` log line.
template <typename Attempt>
auto RetryOnConflict(std::string_view client_id, Attempt attempt) -> decltype(attempt()) {
  for (int i = 0; i < kMaxWriteAttempts; ++i) {
    auto result = attempt();
    if (!absl::IsAborted(internal::StatusOf(result))) return result;
  }
  common::Log(common::LogLevel::kWarning, "client_write_contended", {{"client_id", client_id}});
  return absl::UnavailableError("the client is being changed concurrently; retry");
}

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_WRITE_RETRY_H_
