#ifndef CLIENTREG_COMMON_LOGGING_H_
#define CLIENTREG_COMMON_LOGGING_H_

#include <initializer_list>
#include <string_view>
#include <utility>

namespace clientreg::common {

enum class LogLevel { kInfo, kWarning, kError };

// Writes one structured line to stderr: `ts=... level=... event=... key="value" ...`, values escaped.
// Callers pass identifiers only, never secrets, tokens or whole messages that may hold them. Thread-safe.
void Log(LogLevel level, std::string_view event,
         std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_LOGGING_H_
