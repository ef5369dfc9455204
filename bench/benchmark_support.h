#ifndef CLIENTREG_BENCH_BENCHMARK_SUPPORT_H_
#define CLIENTREG_BENCH_BENCHMARK_SUPPORT_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"

namespace clientreg::bench {

// Set once any benchmark has failed. Google Benchmark 1.7 still exits 0 after SkipWithError, so the mains return
// non-zero on it: the ctest smoke runs then fail when a benchmark cannot do its work, not only when it crashes.
inline std::atomic<bool> any_benchmark_failed{false};

// Marks the running benchmark as failed with `status`'s text. The caller stops its loop afterwards.
inline void SkipWithStatus(benchmark::State& state, const absl::Status& status) {
  any_benchmark_failed.store(true);
  const std::string message = status.ToString();
  state.SkipWithError(message.c_str());
}

}  // namespace clientreg::bench

#endif  // CLIENTREG_BENCH_BENCHMARK_SUPPORT_H_
