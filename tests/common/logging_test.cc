#include "common/logging.h"

#include <fcntl.h>
#include <sys/wait.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/status_matchers.h"

namespace clientreg::common {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;
using ::testing::ElementsAre;
using ::testing::Pair;

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

// Points fd 2 at a pipe until Finish; a thread drains the pipe into a string once reading starts.
class StderrCapture {
 public:
  explicit StderrCapture(bool start_reading = true) {
    // Lines of earlier tests belong to the old stderr.
    FlushLogs();
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_fd_ = fds[0];
    saved_stderr_ = ::dup(STDERR_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[1]);
    if (start_reading) StartReading();
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() {
    if (saved_stderr_ >= 0) Finish();
  }

  void StartReading() {
    reader_ = std::thread([this] {
      char buffer[1 << 16];
      for (;;) {
        const ssize_t n = ::read(read_fd_, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        output_.append(buffer, static_cast<std::size_t>(n));
      }
    });
  }

  // What the pipe holds right now, without waiting; only before StartReading.
  std::string ReadAvailable() {
    ::fcntl(read_fd_, F_SETFL, ::fcntl(read_fd_, F_GETFL) | O_NONBLOCK);
    std::string available;
    char buffer[1 << 16];
    ssize_t n;
    while ((n = ::read(read_fd_, buffer, sizeof(buffer))) > 0) available.append(buffer, static_cast<std::size_t>(n));
    ::fcntl(read_fd_, F_SETFL, ::fcntl(read_fd_, F_GETFL) & ~O_NONBLOCK);
    return available;
  }

  // Flushes the log, restores stderr and returns everything written to the pipe.
  std::string Finish() {
    if (!reader_.joinable()) StartReading();
    FlushLogs();
    ::dup2(saved_stderr_, STDERR_FILENO);
    ::close(saved_stderr_);
    saved_stderr_ = -1;
    reader_.join();
    ::close(read_fd_);
    return output_;
  }

 private:
  int read_fd_ = -1;
  int saved_stderr_ = -1;
  std::thread reader_;
  std::string output_;
};

// Splits output into lines, each of which must end with '\n'.
std::vector<std::string> Lines(const std::string& output) {
  if (output.empty()) return {};
  EXPECT_EQ(output.back(), '\n');
  std::vector<std::string> lines = absl::StrSplit(output, '\n');
  lines.pop_back();
  return lines;
}

// One line's members, in order, all of which must be strings. simdjson checks that the line is a single valid JSON
// value, UTF-8 included.
::testing::AssertionResult ParseLine(const std::string& line, Members& members) {
  members.clear();
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (const simdjson::error_code error = parser.parse(line).get(object); error) {
    return ::testing::AssertionFailure() << simdjson::error_message(error) << " in " << line;
  }
  for (const simdjson::dom::key_value_pair member : object) {
    std::string_view value;
    if (member.value.get(value) != simdjson::SUCCESS) {
      return ::testing::AssertionFailure() << "member " << member.key << " is not a string in " << line;
    }
    members.emplace_back(std::string(member.key), std::string(value));
  }
  if (members.size() < 3 || members[0].first != "time" || members[1].first != "level" || members[2].first != "event") {
    return ::testing::AssertionFailure() << "does not start with time, level, event: " << line;
  }
  return ::testing::AssertionSuccess();
}

// Every line of `output`, parsed; fails the test on a line that does not parse.
std::vector<Members> ParseAll(const std::string& output) {
  std::vector<Members> parsed;
  for (const std::string& line : Lines(output)) {
    Members members;
    EXPECT_TRUE(ParseLine(line, members));
    parsed.push_back(std::move(members));
  }
  return parsed;
}

// The members after time, level and event.
Members Fields(const Members& members) { return Members(members.begin() + 3, members.end()); }

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { SetMinLogLevel(LogLevel::kInfo); }
  void TearDown() override {
    SetMinLogLevel(LogLevel::kInfo);
    logging_internal::SetLogBufferCapacity(logging_internal::kDefaultLogBufferCapacity);
  }
};

TEST_F(LoggingTest, OneJsonObjectPerLineWithFieldsInCallOrder) {
  StderrCapture capture;
  Log(LogLevel::kInfo, "client_registered", {{"client_id", "abc"}, {"route", "/register"}, {"a", "1"}});
  Log(LogLevel::kError, "store_failed");
  const std::vector<Members> lines = ParseAll(capture.Finish());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0],
              ElementsAre(Pair("time", ::testing::_), Pair("level", "info"), Pair("event", "client_registered"),
                          Pair("client_id", "abc"), Pair("route", "/register"), Pair("a", "1")));
  EXPECT_THAT(lines[1], ElementsAre(Pair("time", ::testing::_), Pair("level", "error"), Pair("event", "store_failed")));
}

TEST_F(LoggingTest, TimeIsRfc3339UtcWithMilliseconds) {
  StderrCapture capture;
  const absl::Time before = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  Log(LogLevel::kInfo, "tick");
  const absl::Time after = absl::Now();
  const std::vector<Members> lines = ParseAll(capture.Finish());
  ASSERT_EQ(lines.size(), 1u);
  const std::string& time = lines[0][0].second;
  // Shape first (RFC 3339's full-date "T" partial-time with exactly three fraction digits, "Z"), then the value.
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  ASSERT_EQ(time.size(), kShape.size()) << time;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    EXPECT_TRUE(kShape[i] == 'd' ? absl::ascii_isdigit(time[i]) : time[i] == kShape[i]) << time;
  }
  absl::Time parsed;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, time, &parsed, &error)) << error;
  EXPECT_LE(before, parsed);
  EXPECT_LE(parsed, after);
}

TEST_F(LoggingTest, HostileValuesStayOneValidJsonLine) {
  const std::string r(kReplacement);
  std::string controls;
  for (char c = 1; c < 0x20; ++c) controls += c;
  controls += '\x7f';
  const struct {
    std::string_view value;
    std::string decoded;
  } cases[] = {
      {"quote\"and\\backslash", "quote\"and\\backslash"},
      {"x\n{\"event\":\"forged\"}\r\n", "x\n{\"event\":\"forged\"}\r\n"},
      {"\",\"level\":\"error", "\",\"level\":\"error"},
      {controls, controls},
      {std::string_view("nul\0byte", 8), std::string("nul\0byte", 8)},
      {"\xff\xfe", r + r},
      {"client\xc3", "client" + r},
      {"\xed\xa0\x80", r + r + r},
      {"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x91", "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x91"},
  };
  StderrCapture capture;
  for (const auto& [value, decoded] : cases) Log(LogLevel::kInfo, "hostile", {{"client_id", value}});
  Log(LogLevel::kWarning, "ev\"\n\xff", {{"na\"me\n\xc0", "v"}});
  const std::vector<Members> lines = ParseAll(capture.Finish());
  ASSERT_EQ(lines.size(), std::size(cases) + 1);
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(lines[i][2].second, "hostile");
    EXPECT_THAT(Fields(lines[i]), ElementsAre(Pair("client_id", cases[i].decoded)));
  }
  EXPECT_EQ(lines.back()[2].second, "ev\"\n" + r);
  EXPECT_THAT(Fields(lines.back()), ElementsAre(Pair("na\"me\n" + r, "v")));
}

TEST_F(LoggingTest, LinesBelowTheMinimumLevelAreNotWritten) {
  StderrCapture capture;
  Log(LogLevel::kDebug, "debug_at_info");
  Log(LogLevel::kInfo, "info_at_info");
  SetMinLogLevel(LogLevel::kWarning);
  Log(LogLevel::kInfo, "info_at_warning");
  Log(LogLevel::kWarning, "warning_at_warning");
  Log(LogLevel::kError, "error_at_warning");
  SetMinLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "debug_at_debug");
  std::vector<std::pair<std::string, std::string>> written;
  for (const Members& line : ParseAll(capture.Finish())) written.emplace_back(line[1].second, line[2].second);
  EXPECT_THAT(written, ElementsAre(Pair("info", "info_at_info"), Pair("warning", "warning_at_warning"),
                                   Pair("error", "error_at_warning"), Pair("debug", "debug_at_debug")));
}

TEST(ParseLogLevelTest, NamesAsConfigSpellsThem) {
  for (const auto& [name, level] : {std::pair{"debug", LogLevel::kDebug}, std::pair{"info", LogLevel::kInfo},
                                    std::pair{"warning", LogLevel::kWarning}, std::pair{"error", LogLevel::kError}}) {
    ASSERT_OK_AND_ASSIGN(const LogLevel parsed, ParseLogLevel(name));
    EXPECT_EQ(parsed, level) << name;
  }
  for (const std::string_view name : {"", "INFO", "warn", "trace", "info "}) {
    EXPECT_EQ(ParseLogLevel(name).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

// A stderr nobody reads fills its pipe and blocks the flusher; Log must then drop and count lines, not wait.
TEST_F(LoggingTest, DropsAndCountsLinesWhenTheBufferIsFull) {
  logging_internal::SetLogBufferCapacity(4096);
  StderrCapture capture(/*start_reading=*/false);
  const uint64_t dropped_before = DroppedLogLines();
  // About 300 KB: more than a pipe (64 KiB), a batch in write(2) and the buffer hold together.
  constexpr int kLines = 3000;
  const std::string padding(64, 'p');
  for (int i = 0; i < kLines; ++i) Log(LogLevel::kInfo, "flood", {{"i", std::to_string(i)}, {"padding", padding}});
  const uint64_t dropped = DroppedLogLines() - dropped_before;
  const std::vector<Members> lines = ParseAll(capture.Finish());
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(lines.size(), 0u);
  EXPECT_EQ(lines.size() + dropped, static_cast<uint64_t>(kLines));
  int previous = -1;
  for (const Members& line : lines) {
    ASSERT_THAT(Fields(line), ElementsAre(Pair("i", ::testing::_), Pair("padding", padding)));
    const int i = std::stoi(line[3].second);
    EXPECT_GT(i, previous);
    previous = i;
  }
}

TEST_F(LoggingTest, ConcurrentLinesAreWholeAndInOrderPerThread) {
  // Room for everything, so that no line may be missing.
  logging_internal::SetLogBufferCapacity(std::size_t{64} << 20);
  StderrCapture capture;
  const uint64_t dropped_before = DroppedLogLines();
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        Log(LogLevel::kInfo, "concurrent",
            {{"thread", std::to_string(t)},
             {"i", std::to_string(i)},
             {"padding", std::string(i % 97, static_cast<char>('a' + t))}});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<Members> lines = ParseAll(capture.Finish());
  EXPECT_EQ(DroppedLogLines(), dropped_before);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLinesPerThread));
  std::vector<int> next(kThreads, 0);
  for (const Members& line : lines) {
    const Members fields = Fields(line);
    ASSERT_EQ(fields.size(), 3u);
    const int t = std::stoi(fields[0].second);
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    const int i = next[t]++;
    ASSERT_THAT(fields, ElementsAre(Pair("thread", std::to_string(t)), Pair("i", std::to_string(i)),
                                    Pair("padding", std::string(i % 97, static_cast<char>('a' + t)))));
  }
}

TEST_F(LoggingTest, FlushLogsWritesEverythingLoggedBeforeInOrder) {
  StderrCapture capture(/*start_reading=*/false);
  constexpr int kLines = 300;
  for (int i = 0; i < kLines; ++i) {
    Log(LogLevel::kInfo, "ordered", {{"i", std::to_string(i)}});
    // Racing the flusher thread, which may be writing a batch of its own.
    if (i % 7 == 0) FlushLogs();
  }
  FlushLogs();
  // Already in the pipe when FlushLogs returns.
  const std::vector<Members> lines = ParseAll(capture.ReadAvailable());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kLines));
  for (int i = 0; i < kLines; ++i) EXPECT_THAT(Fields(lines[i]), ElementsAre(Pair("i", std::to_string(i))));
  EXPECT_EQ(capture.Finish(), "");
}

// A child forked while other threads log (and may hold the log's locks) logs at once, does not write the parent's
// buffered lines a second time, and its lines get out.
TEST_F(LoggingTest, ForkedChildLogsWhileParentThreadsLog) {
  StderrCapture capture;
  Log(LogLevel::kInfo, "before_fork");
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int t = 0; t < 2; ++t) {
    busy.emplace_back([&stop] {
      while (!stop.load()) {
        for (int i = 0; i < 100; ++i) Log(LogLevel::kInfo, "parent_busy");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  constexpr int kForks = 20;
  for (int round = 0; round < kForks; ++round) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(10);  // a deadlocked child dies of SIGALRM, which the parent reports
      Log(LogLevel::kInfo, "child", {{"round", std::to_string(round)}});
      FlushLogs();
      ::_exit(0);
    }
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round << " status " << status;
  }
  stop.store(true);
  for (std::thread& thread : busy) thread.join();
  const std::string output = capture.Finish();
  // Lines of different processes may interleave in the pipe, so they are counted rather than parsed.
  const auto count = [&output](std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = output.find(needle); at != std::string::npos; at = output.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("\"event\":\"before_fork\""), 1u);
  EXPECT_EQ(count("\"event\":\"child\""), static_cast<std::size_t>(kForks));
  for (int round = 0; round < kForks; ++round) {
    EXPECT_EQ(count("\"event\":\"child\",\"round\":\"" + std::to_string(round) + "\"}\n"), 1u) << round;
  }
}

void LogAndExit() {
  Log(LogLevel::kInfo, "last_words", {{"k", "v"}});
  std::exit(3);
}

// LogAndExit in a child forked from this multi-threaded test process. Under ASan, LeakSanitizer's exit-time check
// stops the world, which in such a child can hang (seen once in CI as a 300 s timeout): the child skips it.
void ForkedLogAndExit() {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_disable();
#endif
  LogAndExit();
}

// std::exit, like a return from main, runs the atexit handler that writes what is still buffered: in a fresh
// process (the death test runs the binary again)...
TEST(LoggingDeathTest, ExitWritesBufferedLines) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(LogAndExit(), ::testing::ExitedWithCode(3), "\"event\":\"last_words\",\"k\":\"v\"");
}

// ...and in a child forked from a process that has logged, whose own buffer is a fresh one.
TEST(LoggingDeathTest, ForkedChildExitWritesBufferedLines) {
  Log(LogLevel::kInfo, "parent_logged_first");
  GTEST_FLAG_SET(death_test_style, "fast");
  EXPECT_EXIT(ForkedLogAndExit(), ::testing::ExitedWithCode(3), "\"event\":\"last_words\",\"k\":\"v\"");
  FlushLogs();
}

}  // namespace
}  // namespace clientreg::common
