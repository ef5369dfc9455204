#ifndef CLIENTREG_TESTS_SUPPORT_CHILD_PROCESS_H_
#define CLIENTREG_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace clientreg::testing {

// A free loopback TCP port: bound to 127.0.0.1:0, read back, released. Another process may take it before the
// caller binds it, which on a test machine is rare enough; a binary that must be told its port has no better way.
uint16_t FreeLoopbackPort();

// True once a TCP connection to 127.0.0.1:`port` succeeds, false if none did within `timeout`.
bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout);

// A binary run as a child process, for end-to-end tests of the shipped executables. The destructor kills
// (SIGKILL) and reaps a child that is still running, so a failed assertion leaves no process behind.
class ChildProcess {
 public:
  // Forks and execs `binary` with `arguments` (argv[1..]). Its stdout and stderr go to `log_path` (appended), or
  // are inherited when it is empty. running() is false if the fork failed.
  ChildProcess(const std::string& binary, const std::vector<std::string>& arguments, const std::string& log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True until the child has been reaped.
  bool running() const { return pid_ > 0; }

  // Sends `signal_number`; false if the child is already reaped or kill(2) fails.
  bool Signal(int signal_number);
  // Reaps the child if it exits within `timeout`, returning its waitpid status; nullopt if it is still running.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  // SIGKILL, then reap; returns the waitpid status (or nullopt if there was no child).
  std::optional<int> Kill();
  // SIGTERM, then reap within `timeout`; returns how it ended (DescribeWaitStatus), or says it was still running
  // after `timeout`, in which case it is killed.
  std::string Terminate(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
};

// "exited with status N" or "killed by signal N", for assertion messages.
std::string DescribeWaitStatus(int wait_status);

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_CHILD_PROCESS_H_
