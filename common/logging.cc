#include "common/logging.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_string.h"
#include "common/logging_internal.h"

namespace clientreg::common {
namespace {

// Indexed by LogLevel; the spelling both in log lines and in config files.
constexpr std::string_view kLevelNames[] = {"debug", "info", "warning", "error"};
static_assert(static_cast<std::size_t>(LogLevel::kError) + 1 == std::size(kLevelNames));

// Long enough to gather a burst of lines into one write(2), short enough that a tail of the log is current.
constexpr absl::Duration kFlushInterval = absl::Milliseconds(50);

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<uint64_t> dropped_lines{0};
std::atomic<std::size_t> buffer_capacity{logging_internal::kDefaultLogBufferCapacity};

// The buffer of lines not yet written, and the thread that writes them.
class LogSink {
 public:
  // Appends `line`, or drops and counts it when the buffer has no room; starts the flusher on first use.
  void Append(std::string_view line);

  // Writes everything appended before the call.
  void Flush();

  // Around fork(): the child must not inherit a mutex that another thread held, so both are taken first.
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(write_mu_, mu_);
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(mu_, write_mu_);

 private:
  static void* RunFlusher(void* sink);
  void StartFlusher();
  bool HasPending() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !pending_.empty(); }
  bool HalfFull() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return pending_.size() >= buffer_capacity.load(std::memory_order_relaxed) / 2;
  }

  // Held from taking a batch until it is written, so that batches reach stderr in the order they were taken.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::string batch_ ABSL_GUARDED_BY(write_mu_);
  // The short lock that Log takes.
  absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool flusher_started_ ABSL_GUARDED_BY(mu_) = false;
};

void LogSink::Append(std::string_view line) {
  bool start_flusher = false;
  {
    absl::MutexLock lock(&mu_);
    // Dropping rather than waiting: a request must never stall on a slow or blocked stderr.
    if (pending_.size() + line.size() > buffer_capacity.load(std::memory_order_relaxed)) {
      dropped_lines.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.append(line);
    start_flusher = !std::exchange(flusher_started_, true);
  }
  if (start_flusher) StartFlusher();
}

void LogSink::Flush() {
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::MutexLock lock(&mu_);
    // Swapped, not copied: both strings keep their capacity, so steady logging allocates nothing.
    batch_.swap(pending_);
  }
  std::size_t written = 0;
  while (written < batch_.size()) {
    const ssize_t n = ::write(STDERR_FILENO, batch_.data() + written, batch_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    // Nowhere to report a failing stderr; the lines are lost, and the next batch tries again.
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  batch_.clear();
}

void LogSink::StartFlusher() {
  // Every signal stays blocked in the flusher (a new thread inherits its creator's mask): the servers receive
  // SIGTERM through sigwait, which needs it blocked in all threads, and the first line may come before
  // BlockStopSignals runs.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  // Detached, so that it never holds up exit; the sink it uses is never freed.
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const int error = pthread_create(&thread, &attributes, &LogSink::RunFlusher, this);
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error != 0) {
    // Lines wait for FlushLogs, or for a later Log to start the flusher.
    absl::MutexLock lock(&mu_);
    flusher_started_ = false;
  }
}

void* LogSink::RunFlusher(void* arg) {
  LogSink& sink = *static_cast<LogSink*>(arg);
  for (;;) {
    // An idle process does not wake up at all.
    sink.mu_.LockWhen(absl::Condition(&sink, &LogSink::HasPending));
    sink.mu_.AwaitWithTimeout(absl::Condition(&sink, &LogSink::HalfFull), kFlushInterval);
    sink.mu_.Unlock();
    sink.Flush();
  }
  return nullptr;
}

void LogSink::LockForFork() {
  write_mu_.Lock();
  mu_.Lock();
}

void LogSink::UnlockAfterFork() {
  mu_.Unlock();
  write_mu_.Unlock();
}

// The process's sink, created on first use. A fork()ed child drops its copy of the parent's (whose lines the
// parent writes, and whose flusher thread does not exist in the child) and creates its own on its first line.
std::atomic<LogSink*> current_sink{nullptr};
// The sink that this thread locked in PrepareFork, for the handlers that run after fork() in the same thread.
thread_local LogSink* sink_locked_for_fork = nullptr;

// Takes both locks, so that no other thread holds one at the moment of fork(); this waits for a batch being
// written, so fork() can take as long as that write(2).
void PrepareFork() {
  sink_locked_for_fork = current_sink.load(std::memory_order_acquire);
  if (sink_locked_for_fork != nullptr) sink_locked_for_fork->LockForFork();
}

void ParentAfterFork() {
  if (sink_locked_for_fork != nullptr) sink_locked_for_fork->UnlockAfterFork();
  sink_locked_for_fork = nullptr;
}

void ChildAfterFork() {
  // The old sink stays locked and is leaked: its mutexes may still list waiters that were threads of the parent,
  // so unlocking them here is not safe.
  current_sink.store(nullptr, std::memory_order_release);
  sink_locked_for_fork = nullptr;
}

LogSink& Sink() {
  if (LogSink* sink = current_sink.load(std::memory_order_acquire)) return *sink;
  // Once per process image; a forked child inherits both registrations.
  static const bool registered = [] {
    std::atexit(FlushLogs);
    pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
    return true;
  }();
  static_cast<void>(registered);
  // Never freed: the detached flusher uses it until the process ends, atexit handlers included.
  auto* fresh = new LogSink;
  LogSink* expected = nullptr;
  if (current_sink.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;
  return *expected;
}

}  // namespace

void Log(LogLevel level, std::string_view event,
         std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  if (!LogLevelEnabled(level)) return;
  // Formatted before taking the lock, into a buffer each thread reuses, so the lock covers a single append.
  thread_local std::string line;
  line = "{\"time\":\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line += "\",\"level\":\"";
  line += kLevelNames[static_cast<std::size_t>(level)];
  line += "\",\"event\":";
  AppendJsonStringReplacingInvalidUtf8(line, event);
  for (const auto& [name, value] : fields) {
    line += ',';
    AppendJsonStringReplacingInvalidUtf8(line, name);
    line += ':';
    AppendJsonStringReplacingInvalidUtf8(line, value);
  }
  line += "}\n";
  Sink().Append(line);
}

bool LogLevelEnabled(LogLevel level) { return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed); }

void SetMinLogLevel(LogLevel level) { min_level.store(static_cast<int>(level), std::memory_order_relaxed); }

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", std::string(name), "\"; expected debug, info, warning or error"));
}

void FlushLogs() {
  if (LogSink* sink = current_sink.load(std::memory_order_acquire)) sink->Flush();
}

uint64_t DroppedLogLines() { return dropped_lines.load(std::memory_order_relaxed); }

namespace logging_internal {

void SetLogBufferCapacity(std::size_t bytes) { buffer_capacity.store(bytes, std::memory_order_relaxed); }

}  // namespace logging_internal
}  // namespace clientreg::common
