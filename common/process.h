#ifndef CLIENTREG_COMMON_PROCESS_H_
#define CLIENTREG_COMMON_PROCESS_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace clientreg::common {

// Parses `--name=value` arguments into the strings named in `flags` (e.g. {"--config=", &config_path}). A name
// without "=" is a switch: the argument must equal it exactly, and its string becomes "true" (e.g.
// {"--check-config", &check_config}). Any other argument is an error that names it.
[[nodiscard]] absl::Status ParseFlags(int argc, char** argv,
                                      std::initializer_list<std::pair<std::string_view, std::string*>> flags);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts afterwards, so that only
// WaitForStopSignal receives them (SIGHUP's default action would end the process); also ignores SIGPIPE (a peer
// closing mid-write must not kill the process). Call before starting any thread.
void BlockStopSignals();

// Turns off Abseil's Mutex deadlock detection. Debian builds Abseil without NDEBUG, which leaves it on: every
// absl::Mutex acquisition (gRPC's included) then updates a global lock graph, a measurable share of each call's CPU.
// Call before starting any thread.
void DisableMutexDeadlockDetection();

// Waits for SIGTERM or SIGINT and returns its number. Each SIGHUP meanwhile calls `on_hangup` on the calling thread
// (the reload of a process that has something to reload) and the wait goes on; without `on_hangup` a SIGHUP is
// logged and otherwise ignored. Needs BlockStopSignals first.
int WaitForStopSignal(const std::function<void()>& on_hangup = nullptr);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_PROCESS_H_
