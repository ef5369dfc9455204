#ifndef CLIENTREG_SERVER_CIMD_RESOLVER_H_
#define CLIENTREG_SERVER_CIMD_RESOLVER_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/directory.pb.h"
#include "common/clock.h"
#include "common/json_mapping.h"
#include "common/metrics.h"
#include "fetch/https_fetcher.h"
#include "server/cimd_cache.h"
#include "server/cimd_host_policy.h"
#include "server/cimd_url.h"
#include "server/metadata_validator.h"
#include "server/token_buckets.h"

namespace clientreg::server {

// The fetcher options config.cimd asks for: https, max_document_bytes, the timeouts, ca_file and the loopback
// testing mode; the system resolver and the special-use address check.
fetch::FetcherOptions CimdFetcherOptions(const clientreg::config::v1::CimdConfig& config);

// Resolves Client ID Metadata Document client_ids (CIMD, MCP 2025-11-25): checks the URL and the host policy,
// answers from the cache, else fetches the document (one fetch per URL however many callers wait for it), reads it
// (server/cimd_document.h) and caches it for its HTTP lifetime clamped to the configured bounds. A failed fetch or
// an invalid document is not cached; the URL is refused for failure_backoff_seconds instead.
//
// Fetches run on max_concurrent_fetches threads of their own, never on the caller's: a caller on a gRPC callback
// thread is answered from a fetch thread. A fetch starts only if the host has fewer than max_fetches_per_host
// fetches queued or running and the global fetch_rate bucket has a token, so a flood of unknown client_ids costs at
// most that many outbound requests.
//
// Answers: the client as directory.proto's ResolvedClient (origin ORIGIN_METADATA_DOCUMENT, state active,
// metadata_fetched_at and metadata_expires_at set). NOT_FOUND, with why, when the client_id does not resolve: a URL
// CIMD refuses, a host the policy refuses, a fetch that failed (address, TLS, status, size, type, timeout), an
// invalid document, or a URL still in its failure backoff (the same reason again); the authorization server answers
// invalid_client. UNAVAILABLE when this server's own fetch limits refuse (per host, rate, queue, shutting down):
// time lifts it. Thread-safe.
class CimdResolver {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<clientreg::v1::ResolvedClient>) &&>;

  struct Metrics {
    explicit Metrics(common::MetricsRegistry& registry);
    // outcome: fetch::FetchOutcomeName, or invalid_document for a 200 that fails ReadCimdDocument.
    common::CounterFamily& fetches;
    common::HistogramFamily& fetch_duration;
    common::CounterFamily& cache_hits;
    // Resolutions that waited for a fetch (started one, or joined one in flight); refusals count in neither.
    common::CounterFamily& cache_misses;
    // reason: invalid_url, host_policy, backoff, host_busy, rate_limited, queue_full, shutting_down.
    common::CounterFamily& refusals;
  };

  // `config` is complete (defaults applied, validated), enabled or not; `validator`, `clock` and `metrics` (may be
  // null) must outlive the resolver. Starts the fetch threads.
  static absl::StatusOr<std::unique_ptr<CimdResolver>> Create(const clientreg::config::v1::CimdConfig& config,
                                                              fetch::FetcherOptions fetcher_options,
                                                              const MetadataValidator* validator,
                                                              const common::Clock* clock, Metrics* metrics);
  // Stop().
  ~CimdResolver();

  // Stops the fetch threads after their current fetch (at most fetch_timeout_ms); callers still queued, and any that
  // come later without a cached answer, are answered UNAVAILABLE. Idempotent.
  // Not from a Done callback: it joins the fetch threads, which run them.
  void Stop();

  // Whether `client_id` is one this resolver answers for (IsCimdClientId under the config's rules).
  bool Handles(std::string_view client_id) const;

  // Resolves `url` and calls `done` once, on this thread when the answer is at hand (cache, backoff, refusal), else
  // on a fetch thread.
  void Resolve(std::string_view url, Done done);

  std::size_t cached_entries() const { return cache_.entries(); }
  std::size_t cached_bytes() const { return cache_.bytes(); }

 private:
  struct Job {
    std::string url;
    std::string host;
  };

  CimdResolver(const clientreg::config::v1::CimdConfig& config, fetch::FetcherOptions fetcher_options,
               CimdHostPolicy host_policy, const MetadataValidator* validator, const common::Clock* clock,
               Metrics* metrics);
  void Refuse(std::string_view reason, absl::Status status, Done done);
  // Counts a resolution that waits for a fetch, its own or one in flight.
  void CountMiss();
  void RunFetches();
  // Fetches and reads one document: the client, or why not.
  absl::StatusOr<clientreg::v1::ResolvedClient> FetchAndRead(const Job& job, common::JsonMapper& mapper);
  // Hands the answer to every caller waiting for `job`, first caching it or recording the failure if `cache`.
  void Finish(const Job& job, const absl::StatusOr<clientreg::v1::ResolvedClient>& answer, bool cache);
  absl::Time Now() const;

  const clientreg::config::v1::CimdConfig config_;
  const CimdUrlRules url_rules_;
  const CimdHostPolicy host_policy_;
  const fetch::HttpsFetcher fetcher_;
  const MetadataValidator* const validator_;
  const common::Clock* const clock_;
  Metrics* const metrics_;
  CimdCache cache_;
  KeyedTokenBuckets fetch_rate_;

  absl::Mutex mutex_;
  // The callers waiting for each URL being fetched (queued or running): single flight.
  absl::flat_hash_map<std::string, std::vector<Done>> waiting_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, std::size_t> fetches_per_host_ ABSL_GUARDED_BY(mutex_);
  std::deque<Job> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
  std::once_flag stop_once_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CIMD_RESOLVER_H_
