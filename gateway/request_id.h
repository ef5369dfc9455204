#ifndef CLIENTREG_GATEWAY_REQUEST_ID_H_
#define CLIENTREG_GATEWAY_REQUEST_ID_H_

#include <cstddef>
#include <string>
#include <string_view>

// Request ids: the gateway returns one as `X-Request-Id` on every response, sends it to the server as gRPC metadata
// `x-request-id` on every call, and both processes log it, so one id ties a client's report to every log line.
namespace clientreg::gateway {

inline constexpr std::size_t kMaxRequestIdLength = 64;

// Whether `id` is 1 to kMaxRequestIdLength characters of [A-Za-z0-9._:-]: the ids accepted from a client. Anything
// else is replaced, never refused.
bool IsWellFormedRequestId(std::string_view id);

// A new id: 32 lowercase hex digits, different from every other id this process makes, and from those of other
// processes with overwhelming probability. Thread-safe; no lock, no syscall.
std::string NewRequestId();

// `incoming` when it is well-formed, else a new id.
std::string RequestIdFor(std::string_view incoming);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_REQUEST_ID_H_
