#ifndef CLIENTREG_SERVER_CACHE_LIFETIME_H_
#define CLIENTREG_SERVER_CACHE_LIFETIME_H_

#include <optional>
#include <string_view>

#include "absl/time/time.h"

namespace clientreg::server {

// The response headers a cache lifetime is read from, values as received ("" when absent). A field received in
// several lines is passed as one value, the lines joined with ", " (RFC 9110 §5.3).
// The "= {}" lets callers name only some fields (CacheHeaders{.age = "5"}) under -Wmissing-field-initializers.
struct CacheHeaders {
  std::string_view cache_control = {};
  std::string_view expires = {};
  std::string_view date = {};
  std::string_view age = {};
};

// How long a response may be used from the cache, per RFC 9111 §4.2.1 as a private cache: Cache-Control's
// `no-store` or `no-cache` (in any form, qualified or not) make it 0; else `max-age=N` (the first one; `s-maxage`
// is for shared caches and ignored); else `Expires` minus `Date` (or minus `now` without a valid Date); an invalid
// Expires (RFC 9111 §5.3: "0", garbage) means already expired, 0. `Age` (seconds) is subtracted; an invalid Age is
// ignored (§5.1). nullopt when the headers say nothing (no max-age, no Expires): the caller picks its default.
// Never negative.
// Cache-Control directive names compare ignoring case, arguments may be tokens or quoted strings (max-age="60" is
// 60, §5.2), and spaces and tabs around elements and "=" are skipped. A malformed first max-age ("max-age=-1",
// "max-age=abc", "max-age") gives 0, not nullopt and not a fall-back to Expires: §4.2.1 encourages a cache to take
// invalid freshness information as stale. A max-age beyond 2^31 seconds is read as 2^31 (§1.2.2).
// Dates are HTTP-dates as common::ParseHttpDate reads them: IMF-fixdate and asctime; an rfc850-date is invalid.
std::optional<absl::Duration> CacheLifetime(const CacheHeaders& headers, absl::Time now);

// CacheLifetime clamped into [min, max]; nullopt (no information) gives `min`.
absl::Duration ClampedCacheLifetime(const CacheHeaders& headers, absl::Time now, absl::Duration min,
                                    absl::Duration max);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CACHE_LIFETIME_H_
