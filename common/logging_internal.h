#ifndef CLIENTREG_COMMON_LOGGING_INTERNAL_H_
#define CLIENTREG_COMMON_LOGGING_INTERNAL_H_

#include <cstddef>

// Knobs of common/logging.h for its tests; production code leaves them alone.
namespace clientreg::common::logging_internal {

inline constexpr std::size_t kDefaultLogBufferCapacity = std::size_t{1} << 20;

// Sets how many bytes of text the log buffer holds before Log drops lines; kDefaultLogBufferCapacity unless set.
// The flusher writes early once half of it is used. Thread-safe; applies from the next line on.
void SetLogBufferCapacity(std::size_t bytes);

}  // namespace clientreg::common::logging_internal

#endif  // CLIENTREG_COMMON_LOGGING_INTERNAL_H_
