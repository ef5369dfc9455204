#ifndef CLIENTREG_COMMON_LOGGING_H_
#define CLIENTREG_COMMON_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

// Structured logs: one JSON object per line on stderr, for example
//   {"time":"2026-12-03T08:23:35.123Z","level":"info","event":"client_registered","client_id":"abc"}
// `time` is RFC 3339 in UTC with milliseconds; the fields follow as string members in call order.
//
// Log never makes a syscall: it appends the line to a bounded in-memory buffer (1 MiB of text), and a background
// thread writes what has accumulated with one write(2) about every 50 ms, or sooner once the buffer is half full.
// When the buffer is full the line is dropped and counted (DroppedLogLines); the caller never blocks on stderr.
// Lines still buffered are written by FlushLogs, which runs at std::exit and on return from main; a process that
// dies otherwise (kill -9, abort, _exit) loses the lines of its last ~50 ms, never more than the buffer holds.
// Lines from concurrent threads never interleave. A fork()ed child starts with an empty buffer of its own (the
// parent writes what it had buffered) and may log at once.

namespace clientreg::common {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Appends one line to the log. `fields` are written as string members in the order given; names are expected to be
// plain identifiers, values may hold any bytes: quotes, backslashes and control characters are escaped and each
// ill-formed UTF-8 sequence becomes U+FFFD, so every line is valid JSON and valid UTF-8. A line below the minimum
// level (SetMinLogLevel) is not even formatted. Callers pass identifiers only, never secrets, tokens or whole
// messages that may hold them. Thread-safe.
void Log(LogLevel level, std::string_view event,
         std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

// Whether Log writes lines of `level` (it is at or above the minimum): lets a caller skip building fields that would
// be dropped. One relaxed atomic load. Thread-safe.
bool LogLevelEnabled(LogLevel level);

// Sets the lowest level that Log writes; the default is kInfo. Thread-safe.
void SetMinLogLevel(LogLevel level);

// Parses a level name as config files spell it: "debug", "info", "warning" or "error". Any other name is
// InvalidArgument, naming it.
[[nodiscard]] absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

// Writes every line logged before the call, in order, and returns once write(2) has taken them. Call it at
// shutdown, and before reading stderr in a test. Thread-safe.
void FlushLogs();

// The number of lines dropped because the buffer was full, since the process started. Thread-safe.
uint64_t DroppedLogLines();

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_LOGGING_H_
