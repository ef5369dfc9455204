#ifndef CLIENTREG_TESTS_SUPPORT_CONCURRENTLY_H_
#define CLIENTREG_TESTS_SUPPORT_CONCURRENTLY_H_

#include <functional>
#include <latch>
#include <thread>
#include <vector>

namespace clientreg::testing {

// Runs `body(i)` for i in [0, threads) on as many threads, released together once all have started (the widest
// race a test can make), and returns when every one has finished.
inline void RunConcurrently(int threads, const std::function<void(int)>& body) {
  std::latch start(threads);
  std::vector<std::thread> running;
  running.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    running.emplace_back([&, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (std::thread& thread : running) thread.join();
}

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_CONCURRENTLY_H_
