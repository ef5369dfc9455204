#ifndef CLIENTREG_COMMON_HTTP_DATE_H_
#define CLIENTREG_COMMON_HTTP_DATE_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace clientreg::common {

// RFC 9110 §5.6.7: `time` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form of the Date field that
// every response of a server with a clock carries (§6.6.1). Spelled out rather than through strftime, whose names
// follow the locale.
std::string HttpDate(std::chrono::system_clock::time_point time);

// Reads an HTTP-date (RFC 9110 §5.6.7): an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") or the obsolete asctime
// form ("Sun Nov  6 08:49:37 1994"), names and "GMT" case-sensitive as the grammar has them. The obsolete
// rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT") is refused: its two-digit year needs the current time to read
// (§5.6.7's 50-year rule). A day name that does not match the date is accepted (only its spelling is checked); a
// date that does not exist (31 Apr) is not. Leading and trailing spaces and tabs are ignored. INVALID_ARGUMENT
// otherwise, with a message that does not repeat `text`.
[[nodiscard]] absl::StatusOr<absl::Time> ParseHttpDate(std::string_view text);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_HTTP_DATE_H_
