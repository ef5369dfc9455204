#ifndef CLIENTREG_COMMON_CLOCK_H_
#define CLIENTREG_COMMON_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace clientreg::common {

// The source of wall-clock time, injected so that tests control timestamps, expiry and rate limits.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since 1970-01-01T00:00:00Z.
  virtual int64_t NowMillis() const = 0;
  // Seconds since 1970-01-01T00:00:00Z.
  int64_t NowSeconds() const { return NowMillis() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that stands still until moved. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_seconds) : now_millis_(now_seconds * 1000) {}
  int64_t NowMillis() const override { return now_millis_.load(); }
  void Set(int64_t now_seconds) { now_millis_.store(now_seconds * 1000); }
  void Advance(int64_t seconds) { now_millis_.fetch_add(seconds * 1000); }
  void AdvanceMillis(int64_t millis) { now_millis_.fetch_add(millis); }

 private:
  std::atomic<int64_t> now_millis_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_CLOCK_H_
