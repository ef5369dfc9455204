#ifndef CLIENTREG_COMMON_CLOCK_H_
#define CLIENTREG_COMMON_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace clientreg::common {

// The source of wall-clock time, injected so that tests control timestamps and expiry.
class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since 1970-01-01T00:00:00Z.
  virtual int64_t NowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that stands still until moved. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_seconds) : now_(now_seconds) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Set(int64_t now_seconds) { now_.store(now_seconds); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_CLOCK_H_
