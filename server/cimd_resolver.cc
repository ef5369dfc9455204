#include "server/cimd_resolver.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"
#include "server/cache_lifetime.h"
#include "server/cimd_document.h"
#include "server/redirect_match.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::ResolvedClient;

// Waiting fetches beyond those running, per fetch thread: a queue longer than this would answer after the caller's
// own deadline.
constexpr std::size_t kQueuedPerThread = 4;

absl::Status FetchRefusal(const fetch::FetchResult& result) {
  return absl::NotFoundError(absl::StrCat("client_id metadata document could not be fetched (",
                                          std::string(fetch::FetchOutcomeName(result.outcome)), "): ", result.detail));
}

}  // namespace

fetch::FetcherOptions CimdFetcherOptions(const clientreg::config::v1::CimdConfig& config) {
  fetch::FetcherOptions options;
  options.max_body_bytes = config.max_document_bytes();
  options.connect_timeout = absl::Milliseconds(config.connect_timeout_ms());
  options.total_timeout = absl::Milliseconds(config.fetch_timeout_ms());
  options.ca_file = config.ca_file();
  options.allow_loopback_http = config.insecure_allow_loopback_http();
  options.user_agent = "clientreg (Client ID Metadata Document fetch)";
  return options;
}

CimdResolver::Metrics::Metrics(common::MetricsRegistry& registry)
    : fetches(registry.AddCounter("clientreg_cimd_fetches_total",
                                  "Client ID Metadata Document fetches by outcome (ok, invalid_document, or why the "
                                  "fetch failed)",
                                  {"outcome"})),
      fetch_duration(registry.AddHistogram("clientreg_cimd_fetch_duration_seconds",
                                           "Time to fetch a Client ID Metadata Document, resolution included",
                                           common::LatencyBuckets())),
      cache_hits(registry.AddCounter("clientreg_cimd_cache_hits_total",
                                     "Client ID Metadata Document resolutions answered from the cache")),
      cache_misses(registry.AddCounter(
          "clientreg_cimd_cache_misses_total",
          "Client ID Metadata Document resolutions that waited for a fetch (their own or one in flight)")),
      refusals(registry.AddCounter("clientreg_cimd_refusals_total",
                                   "Client ID Metadata Document resolutions refused before any fetch, by reason",
                                   {"reason"})) {}

absl::StatusOr<std::unique_ptr<CimdResolver>> CimdResolver::Create(const clientreg::config::v1::CimdConfig& config,
                                                                   fetch::FetcherOptions fetcher_options,
                                                                   const MetadataValidator* validator,
                                                                   const common::Clock* clock, Metrics* metrics) {
  absl::StatusOr<CimdHostPolicy> host_policy = CimdHostPolicy::Create(config.allowed_hosts(), config.denied_hosts());
  if (!host_policy.ok()) return host_policy.status();
  return std::unique_ptr<CimdResolver>(
      new CimdResolver(config, std::move(fetcher_options), *std::move(host_policy), validator, clock, metrics));
}

CimdResolver::CimdResolver(const clientreg::config::v1::CimdConfig& config, fetch::FetcherOptions fetcher_options,
                           CimdHostPolicy host_policy, const MetadataValidator* validator, const common::Clock* clock,
                           Metrics* metrics)
    : config_(config),
      url_rules_{.allow_query = config.allow_query(), .allow_loopback_http = config.insecure_allow_loopback_http()},
      host_policy_(std::move(host_policy)),
      fetcher_(std::move(fetcher_options)),
      validator_(validator),
      clock_(clock),
      metrics_(metrics),
      cache_(CimdCache::Options{.max_entries = config.cache_max_entries(), .max_bytes = config.cache_max_bytes()}),
      fetch_rate_(BucketSpec{.burst = config.fetch_rate().burst(),
                             .refill_per_minute = config.fetch_rate().refill_per_minute()},
                  /*max_keys=*/16) {
  threads_.reserve(config.max_concurrent_fetches());
  for (uint32_t i = 0; i < config.max_concurrent_fetches(); ++i) threads_.emplace_back([this] { RunFetches(); });
}

CimdResolver::~CimdResolver() { Stop(); }

void CimdResolver::Stop() {
  std::call_once(stop_once_, [this] {
    std::deque<Job> abandoned;
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
      abandoned.swap(queue_);
    }
    for (const Job& job : abandoned) {
      Finish(job, absl::UnavailableError("the server is shutting down"), /*cache=*/false);
    }
    for (std::thread& thread : threads_) thread.join();
  });
}

bool CimdResolver::Handles(std::string_view client_id) const { return IsCimdClientId(client_id, url_rules_); }

absl::Time CimdResolver::Now() const { return absl::FromUnixMillis(clock_->NowMillis()); }

void CimdResolver::Refuse(std::string_view reason, absl::Status status, Done done) {
  if (metrics_ != nullptr) metrics_->refusals.WithLabels({reason}).Increment();
  std::move(done)(std::move(status));
}

void CimdResolver::CountMiss() {
  if (metrics_ != nullptr) metrics_->cache_misses.Get().Increment();
}

void CimdResolver::Resolve(std::string_view url, Done done) {
  absl::StatusOr<std::string> host = CheckCimdUrl(url, url_rules_);
  if (!host.ok()) return Refuse("invalid_url", absl::NotFoundError(host.status().message()), std::move(done));
  if (std::optional<std::string> why = host_policy_.Refusal(*host); why.has_value()) {
    return Refuse("host_policy", absl::NotFoundError(absl::StrCat("client_id ", *why)), std::move(done));
  }
  const absl::Time now = Now();
  if (std::optional<ResolvedClient> cached = cache_.Find(url, now); cached.has_value()) {
    if (metrics_ != nullptr) metrics_->cache_hits.Get().Increment();
    return std::move(done)(*std::move(cached));
  }
  if (std::optional<absl::Status> failed = cache_.FindFailure(url, now); failed.has_value()) {
    return Refuse("backoff", *std::move(failed), std::move(done));
  }
  std::string_view refusal;  // the reason label, when refused
  absl::StatusOr<ResolvedClient> answer;
  {
    absl::MutexLock lock(&mutex_);
    if (auto joined = waiting_.find(std::string(url)); joined != waiting_.end()) {
      CountMiss();
      joined->second.push_back(std::move(done));
      return;
    }
    const auto host_fetches = fetches_per_host_.find(*host);
    // A fetch may have finished since the looks above: its answer is in the cache now, or its failure in the
    // backoff. Without the second look, callers waiting on this lock while a failure is recorded would each start
    // a new fetch of the failing URL.
    if (std::optional<ResolvedClient> cached = cache_.Find(url, now); cached.has_value()) {
      if (metrics_ != nullptr) metrics_->cache_hits.Get().Increment();
      answer = *std::move(cached);
    } else if (std::optional<absl::Status> failed = cache_.FindFailure(url, now); failed.has_value()) {
      refusal = "backoff";
      answer = *std::move(failed);
    } else if (stopping_) {
      refusal = "shutting_down";
      answer = absl::UnavailableError("the server is shutting down");
    } else if (host_fetches != fetches_per_host_.end() && host_fetches->second >= config_.max_fetches_per_host()) {
      refusal = "host_busy";
      answer = absl::UnavailableError("too many client_id metadata document fetches to this host; try again");
    } else if (queue_.size() >= kQueuedPerThread * threads_.size()) {
      refusal = "queue_full";
      answer = absl::UnavailableError("too many client_id metadata document fetches waiting; try again");
    } else if (fetch_rate_.Take(0, clock_->NowMillis()) != 0) {
      refusal = "rate_limited";
      answer = absl::UnavailableError("the client_id metadata document fetch rate is exhausted; try again");
    } else {
      CountMiss();
      ++fetches_per_host_[*host];
      waiting_[std::string(url)].push_back(std::move(done));
      queue_.push_back(Job{.url = std::string(url), .host = *std::move(host)});
      return;
    }
  }
  if (!refusal.empty()) return Refuse(refusal, answer.status(), std::move(done));
  std::move(done)(std::move(answer));
}

void CimdResolver::RunFetches() {
  // The parser is per thread (common/json_mapping.h) and takes no document bigger than the fetcher would.
  clientreg::config::v1::HttpLimits limits = common::DefaultHttpLimits();
  limits.set_max_body_bytes(config_.max_document_bytes());
  common::JsonMapper mapper(limits);
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](CimdResolver* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) { return self->stopping_ || !self->queue_.empty(); },
          this));
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Finish(job, FetchAndRead(job, mapper), /*cache=*/true);
  }
}

absl::StatusOr<ResolvedClient> CimdResolver::FetchAndRead(const Job& job, common::JsonMapper& mapper) {
  const fetch::FetchResult result = fetcher_.Fetch(job.url);
  absl::StatusOr<clientreg::v1::ClientMetadata> metadata = FetchRefusal(result);
  if (result.outcome == fetch::FetchOutcome::kOk) {
    metadata = ReadCimdDocument(result.document.body, job.url, mapper, *validator_);
    if (!metadata.ok()) metadata = absl::NotFoundError(metadata.status().message());
  }
  const std::string_view outcome = result.outcome != fetch::FetchOutcome::kOk ? fetch::FetchOutcomeName(result.outcome)
                                   : metadata.ok()                            ? "ok"
                                                                              : "invalid_document";
  if (metrics_ != nullptr) {
    metrics_->fetches.WithLabels({outcome}).Increment();
    metrics_->fetch_duration.Get().Observe(absl::ToDoubleSeconds(result.elapsed));
  }
  if (!metadata.ok()) {
    // The host and why, for the operator: never the document.
    common::Log(
        common::LogLevel::kInfo, "cimd_refused",
        {{"host", job.host}, {"outcome", std::string(outcome)}, {"error", std::string(metadata.status().message())}});
    return metadata.status();
  }

  const absl::Time now = Now();
  const absl::Duration lifetime = ClampedCacheLifetime(CacheHeaders{.cache_control = result.document.cache_control,
                                                                    .expires = result.document.expires,
                                                                    .date = result.document.date,
                                                                    .age = result.document.age},
                                                       now, absl::Seconds(config_.cache_min_lifetime_seconds()),
                                                       absl::Seconds(config_.cache_max_lifetime_seconds()));
  ResolvedClient client;
  client.set_client_id(job.url);
  *client.mutable_metadata() = *std::move(metadata);
  client.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
  client.set_origin(clientreg::v1::StoredClient::ORIGIN_METADATA_DOCUMENT);
  SetRedirectFacts(client.metadata().redirect_uris().values(), client);
  client.set_metadata_fetched_at(absl::ToUnixSeconds(now));
  client.set_metadata_expires_at(absl::ToUnixSeconds(now + lifetime));
  return client;
}

void CimdResolver::Finish(const Job& job, const absl::StatusOr<ResolvedClient>& answer, bool cache) {
  std::vector<Done> waiting;
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = waiting_.find(job.url); it != waiting_.end()) {
      waiting = std::move(it->second);
      waiting_.erase(it);
    }
    if (auto it = fetches_per_host_.find(job.host); it != fetches_per_host_.end() && --it->second == 0) {
      fetches_per_host_.erase(it);
    }
    // Under the lock, so that a caller arriving now either joins this fetch or finds its result.
    if (cache && answer.ok()) {
      cache_.Insert(job.url, *answer, absl::FromUnixSeconds(answer->metadata_expires_at()));
    } else if (cache && config_.failure_backoff_seconds() > 0) {
      cache_.RecordFailure(job.url, answer.status(), Now() + absl::Seconds(config_.failure_backoff_seconds()));
    }
  }
  for (Done& done : waiting) std::move(done)(answer);
}

}  // namespace clientreg::server
