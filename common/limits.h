#ifndef CLIENTREG_COMMON_LIMITS_H_
#define CLIENTREG_COMMON_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "clientreg/config/v1/config.pb.h"

namespace clientreg::common {

// Nesting of JSON objects and arrays inside an object-valued member (jwks), the member's own object being 1. A JWK
// Set needs 4 (set, keys, key, x5c). Each JSON level is about three levels of protobuf messages once it is a
// google.protobuf.Struct, and protobuf refuses to parse a message nested deeper than 100: beyond ~30 the request
// would reach the server as an unparseable call, and a stored record could no longer be read back.
inline constexpr std::uint32_t kMaxStructNestingDepth = 16;

// The gateway's HTTP limits, every field set to its documented default (spec.md §10).
clientreg::config::v1::HttpLimits DefaultHttpLimits();
// The server's metadata limits, every field set to its documented default (spec.md §10).
clientreg::config::v1::MetadataLimits DefaultMetadataLimits();

// Reject a zero limit or one past what the code can honour (e.g. a body limit above 16 MiB); the message names it.
[[nodiscard]] absl::Status ValidateHttpLimits(const clientreg::config::v1::HttpLimits& limits);
[[nodiscard]] absl::Status ValidateMetadataLimits(const clientreg::config::v1::MetadataLimits& limits);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_LIMITS_H_
