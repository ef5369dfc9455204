#ifndef CLIENTREG_COMMON_STATUS_MACROS_H_
#define CLIENTREG_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status clientreg_status_ = (expr);             \
    if (!clientreg_status_.ok()) return clientreg_status_; \
  } while (false)

#define CLIENTREG_CONCAT_INNER_(a, b) a##b
#define CLIENTREG_CONCAT_(a, b) CLIENTREG_CONCAT_INNER_(a, b)

// `ASSIGN_OR_RETURN(auto x, F())` assigns the value of an absl::StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  CLIENTREG_ASSIGN_OR_RETURN_IMPL_(CLIENTREG_CONCAT_(clientreg_statusor_, __LINE__), lhs, expr)

#define CLIENTREG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = std::move(statusor).value()

#endif  // CLIENTREG_COMMON_STATUS_MACROS_H_
