#ifndef CLIENTREG_SERVER_CIMD_CACHE_H_
#define CLIENTREG_SERVER_CIMD_CACHE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clientreg/v1/directory.pb.h"

namespace clientreg::server {

// Resolved Client ID Metadata Documents by URL, and the URLs that just failed. Bounded in entries and in bytes (an
// entry's bytes: its URL plus the resolved client's serialized size); past either bound the least recently used
// entries go first. Only valid documents enter (CIMD §4.4: errors and invalid documents MUST NOT be cached); a
// failure is remembered apart, for `backoff`, so that a failing URL is not fetched on every request, and at most
// max_entries of them are held (oldest recorded dropped first). Expired entries and failures are dropped when
// looked up, or pushed out by the bounds; nothing sweeps them in the background. Every operation is O(1) on average.
// Thread-safe.
class CimdCache {
 public:
  struct Options {
    std::size_t max_entries = 10000;
    std::size_t max_bytes = 16 << 20;
  };
  explicit CimdCache(Options options);

  // The fresh (now < expires_at) entry for `url`, marked most recently used. An expired entry is dropped.
  std::optional<clientreg::v1::ResolvedClient> Find(std::string_view url, absl::Time now);

  // Caches `client` for `url` until `expires_at`, replacing any entry and clearing any failure for it. An entry
  // bigger than max_bytes on its own is not cached.
  void Insert(std::string_view url, clientreg::v1::ResolvedClient client, absl::Time expires_at);

  // Remembers that `url` failed with `status` until `until` (and drops any cached entry for it).
  void RecordFailure(std::string_view url, absl::Status status, absl::Time until);
  // The failure recorded for `url` if it is still in its backoff at `now`; an older one is dropped.
  std::optional<absl::Status> FindFailure(std::string_view url, absl::Time now);

  std::size_t entries() const;
  std::size_t bytes() const;

 private:
  struct Entry {
    std::string url;
    clientreg::v1::ResolvedClient client;
    absl::Time expires_at;
    std::size_t bytes = 0;
  };
  struct Failure {
    std::string url;
    absl::Status status;
    absl::Time until;
  };
  // Each index is keyed by views of the `url` held in its list's node (list nodes never move), so a URL is
  // stored once per structure.
  using EntryList = std::list<Entry>;
  using FailureList = std::list<Failure>;

  void EraseEntry(EntryList::iterator entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EraseFailure(FailureList::iterator failure) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Options options_;
  mutable absl::Mutex mutex_;
  EntryList lru_ ABSL_GUARDED_BY(mutex_);  // most recently used first
  absl::flat_hash_map<absl::string_view, EntryList::iterator> entries_ ABSL_GUARDED_BY(mutex_);
  std::size_t bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  FailureList failure_order_ ABSL_GUARDED_BY(mutex_);  // oldest recorded first
  absl::flat_hash_map<absl::string_view, FailureList::iterator> failures_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CIMD_CACHE_H_
