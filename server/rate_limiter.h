#ifndef CLIENTREG_SERVER_RATE_LIMITER_H_
#define CLIENTREG_SERVER_RATE_LIMITER_H_

#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "clientreg/config/v1/config.pb.h"
#include "common/clock.h"
#include "common/ip_network.h"
#include "server/token_buckets.h"

namespace clientreg::server {

// The rate limits of ServerConfig.rate_limits: token buckets per client IP (or per IP inside a trusted network, with
// that network's bucket), per software_id and global, counting every registration attempt; and a separate budget of
// failed registration access token checks per client IP. Thread-safe. The config must have passed
// ValidateServerConfig.
class RateLimiter {
 public:
  RateLimiter(const clientreg::config::v1::RateLimitsConfig& config, const common::Clock& clock);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Counts one registration attempt. OK, or RESOURCE_EXHAUSTED (common::RateLimited) naming the first limit that is
  // spent, with the seconds until it admits one again. `client_ip` is unknown for a caller that gives none (direct
  // gRPC callers without a gateway): only the global and software_id limits apply to it.
  absl::Status AdmitRegistration(const std::optional<common::IpAddress>& client_ip, std::string_view software_id);

  // Whether `client_ip` may have a registration access token checked now: RESOURCE_EXHAUSTED once its failed-check
  // budget is spent. Takes nothing.
  absl::Status AdmitTokenCheck(const std::optional<common::IpAddress>& client_ip);
  // A token check from `client_ip` failed: takes one from its budget.
  void RecordFailedTokenCheck(const std::optional<common::IpAddress>& client_ip);

 private:
  struct TrustedNetwork {
    std::vector<common::IpNetwork> ranges;
    std::unique_ptr<KeyedTokenBuckets> per_client_ip;
  };

  // The per-IP buckets for `ip`: a trusted network's, or the default.
  KeyedTokenBuckets& PerIpBuckets(const common::IpAddress& ip, const char** limit_name);

  const common::Clock& clock_;
  KeyedTokenBuckets global_;
  KeyedTokenBuckets per_client_ip_;
  KeyedTokenBuckets per_software_id_;
  KeyedTokenBuckets failed_token_checks_;
  std::vector<TrustedNetwork> trusted_networks_;
};

// Checks ServerConfig.rate_limits; the error names the field.
[[nodiscard]] absl::Status ValidateRateLimits(const clientreg::config::v1::RateLimitsConfig& config);

// The BucketSpec of a config message (unset fields: 0, so an absent message means no limit).
BucketSpec ToBucketSpec(const clientreg::config::v1::TokenBucketConfig& config);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_RATE_LIMITER_H_
