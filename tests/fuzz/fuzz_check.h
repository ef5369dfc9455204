#ifndef CLIENTREG_TESTS_FUZZ_FUZZ_CHECK_H_
#define CLIENTREG_TESTS_FUZZ_FUZZ_CHECK_H_

// What a fuzz target asserts. A broken property aborts, so libFuzzer (and the corpus replay under ctest) reports
// it with the input that broke it.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)

#endif  // CLIENTREG_TESTS_FUZZ_FUZZ_CHECK_H_
