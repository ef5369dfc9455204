#ifndef CLIENTREG_COMMON_LIMITS_H_
#define CLIENTREG_COMMON_LIMITS_H_

#include "absl/status/status.h"
#include "clientreg/config/v1/config.pb.h"

namespace clientreg::common {

// Limits with every field set to its documented default (spec.md §10).
clientreg::config::v1::Limits DefaultLimits();

// Rejects a zero limit or one past what the code can honour (e.g. a body limit above 16 MiB); the message names it.
[[nodiscard]] absl::Status ValidateLimits(const clientreg::config::v1::Limits& limits);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_LIMITS_H_
