#include "common/process.h"

#include <pthread.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"

namespace clientreg::common {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

absl::Status ParseFlags(int argc, char** argv, std::initializer_list<std::pair<std::string_view, std::string*>> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    bool known = false;
    for (const auto& [prefix, value] : flags) {
      if (!prefix.empty() && prefix.back() != '=') {
        if (arg == prefix) {
          *value = "true";
          known = true;
          break;
        }
        continue;
      }
      if (arg.substr(0, prefix.size()) == prefix) {
        *value = std::string(arg.substr(prefix.size()));
        known = true;
        break;
      }
    }
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown argument ", std::string(arg)));
  }
  return absl::OkStatus();
}

void DisableMutexDeadlockDetection() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int WaitForStopSignal(const std::function<void()>& on_hangup) {
  const sigset_t signals = StopSignals();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    if (on_hangup) {
      on_hangup();
    } else {
      Log(LogLevel::kInfo, "sighup_ignored", {{"reason", "nothing to reload"}});
    }
  }
}

}  // namespace clientreg::common
