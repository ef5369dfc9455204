#ifndef CLIENTREG_COMMON_HTTP_DATE_H_
#define CLIENTREG_COMMON_HTTP_DATE_H_

#include <chrono>
#include <string>

namespace clientreg::common {

// RFC 9110 §5.6.7: `time` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form of the Date field that
// every response of a server with a clock carries (§6.6.1). Spelled out rather than through strftime, whose names
// follow the locale.
std::string HttpDate(std::chrono::system_clock::time_point time);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_HTTP_DATE_H_
