#include "server/rate_limiter.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/registration_error.h"
#include "common/status_macros.h"

namespace clientreg::server {
namespace {

constexpr std::size_t kDefaultMaxTrackedKeys = 100000;

std::size_t MaxTrackedKeys(const clientreg::config::v1::RateLimitsConfig& config) {
  return config.has_max_tracked_keys() ? config.max_tracked_keys() : kDefaultMaxTrackedKeys;
}

uint64_t KeyOf(const common::IpAddress& ip) {
  return absl::HashOf(absl::string_view(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size()));
}

uint64_t KeyOf(std::string_view text) { return absl::HashOf(absl::string_view(text.data(), text.size())); }

// Retry-After is whole seconds (RFC 9110 §10.2.3), rounded up so that a retry at that time finds a token.
int64_t RetryAfterSeconds(int64_t wait_millis) { return std::max<int64_t>(1, (wait_millis + 999) / 1000); }

absl::Status Refusal(const char* limit, const char* what, int64_t wait_millis) {
  const int64_t seconds = RetryAfterSeconds(wait_millis);
  return common::RateLimited(limit, seconds,
                             absl::StrCat("too many ", what, " (rate limit ", limit, "); retry after ", seconds,
                                          seconds == 1 ? " second" : " seconds"));
}

}  // namespace

absl::Status ValidateRateLimits(const clientreg::config::v1::RateLimitsConfig& config) {
  const auto check_bucket = [](const clientreg::config::v1::TokenBucketConfig& bucket,
                               const std::string& name) -> absl::Status {
    if (bucket.burst() == 0 && bucket.refill_per_minute() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, ".burst must be set with refill_per_minute"));
    }
    if (bucket.burst() > 0 && bucket.refill_per_minute() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ".refill_per_minute must be positive: a bucket that never refills locks callers out"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_bucket(config.per_client_ip(), "rate_limits.per_client_ip"));
  RETURN_IF_ERROR(check_bucket(config.per_software_id(), "rate_limits.per_software_id"));
  RETURN_IF_ERROR(check_bucket(config.global(), "rate_limits.global"));
  RETURN_IF_ERROR(
      check_bucket(config.failed_token_checks_per_client_ip(), "rate_limits.failed_token_checks_per_client_ip"));
  for (int i = 0; i < config.trusted_networks_size(); ++i) {
    const auto& network = config.trusted_networks(i);
    const std::string name = absl::StrCat("rate_limits.trusted_networks[", i, "]");
    if (network.cidr().empty()) return absl::InvalidArgumentError(absl::StrCat(name, ".cidr must not be empty"));
    for (const std::string& cidr : network.cidr()) {
      if (absl::StatusOr<common::IpNetwork> range = common::IpNetwork::Parse(cidr); !range.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ".cidr: ", range.status().message()));
      }
    }
    RETURN_IF_ERROR(check_bucket(network.per_client_ip(), name + ".per_client_ip"));
  }
  if (config.has_max_tracked_keys() && config.max_tracked_keys() < 1000) {
    return absl::InvalidArgumentError("rate_limits.max_tracked_keys must be at least 1000");
  }
  return absl::OkStatus();
}

BucketSpec ToBucketSpec(const clientreg::config::v1::TokenBucketConfig& config) {
  return BucketSpec{config.burst(), config.refill_per_minute()};
}

RateLimiter::RateLimiter(const clientreg::config::v1::RateLimitsConfig& config, const common::Clock& clock)
    : clock_(clock),
      global_(ToBucketSpec(config.global()), 1),
      per_client_ip_(ToBucketSpec(config.per_client_ip()), MaxTrackedKeys(config)),
      per_software_id_(ToBucketSpec(config.per_software_id()), MaxTrackedKeys(config)),
      failed_token_checks_(ToBucketSpec(config.failed_token_checks_per_client_ip()), MaxTrackedKeys(config)) {
  for (const auto& network : config.trusted_networks()) {
    TrustedNetwork trusted;
    for (const std::string& cidr : network.cidr()) {
      // Validated with the config; a range that does not parse here cannot happen, and is skipped if it does.
      if (absl::StatusOr<common::IpNetwork> range = common::IpNetwork::Parse(cidr); range.ok()) {
        trusted.ranges.push_back(*std::move(range));
      }
    }
    trusted.per_client_ip =
        std::make_unique<KeyedTokenBuckets>(ToBucketSpec(network.per_client_ip()), MaxTrackedKeys(config));
    trusted_networks_.push_back(std::move(trusted));
  }
}

KeyedTokenBuckets& RateLimiter::PerIpBuckets(const common::IpAddress& ip, const char** limit_name) {
  for (TrustedNetwork& network : trusted_networks_) {
    for (const common::IpNetwork& range : network.ranges) {
      if (range.Contains(ip)) {
        *limit_name = "trusted_network";
        return *network.per_client_ip;
      }
    }
  }
  *limit_name = "per_client_ip";
  return per_client_ip_;
}

absl::Status RateLimiter::AdmitRegistration(const std::optional<common::IpAddress>& client_ip,
                                            std::string_view software_id) {
  const int64_t now = clock_.NowMillis();
  // Narrowest first: one noisy client spends its own bucket before it can touch the shared ones.
  if (client_ip.has_value()) {
    const char* limit = nullptr;
    if (const int64_t wait = PerIpBuckets(*client_ip, &limit).Take(KeyOf(*client_ip), now); wait > 0) {
      return Refusal(limit, "registrations from this client IP", wait);
    }
  }
  if (!software_id.empty()) {
    if (const int64_t wait = per_software_id_.Take(KeyOf(software_id), now); wait > 0) {
      return Refusal("per_software_id", "registrations with this software_id", wait);
    }
  }
  if (const int64_t wait = global_.Take(0, now); wait > 0) return Refusal("global", "registrations", wait);
  return absl::OkStatus();
}

absl::Status RateLimiter::AdmitTokenCheck(const std::optional<common::IpAddress>& client_ip) {
  if (!client_ip.has_value()) return absl::OkStatus();
  if (const int64_t wait = failed_token_checks_.Peek(KeyOf(*client_ip), clock_.NowMillis()); wait > 0) {
    return Refusal("failed_token_checks_per_client_ip", "failed registration access token checks from this client IP",
                   wait);
  }
  return absl::OkStatus();
}

void RateLimiter::RecordFailedTokenCheck(const std::optional<common::IpAddress>& client_ip) {
  if (client_ip.has_value()) failed_token_checks_.Take(KeyOf(*client_ip), clock_.NowMillis());
}

}  // namespace clientreg::server
