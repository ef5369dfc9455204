#include "gateway/request_id.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "common/secrets.h"

namespace clientreg::gateway {
namespace {

// Drawn once per process. Should the CSPRNG fail, the clock and the pid still set processes apart: an id needs to be
// unique, not secret (every client sees its own).
uint64_t ProcessPrefix() {
  if (absl::StatusOr<std::string> bytes = common::RandomBytes(sizeof(uint64_t)); bytes.ok()) {
    uint64_t prefix = 0;
    std::memcpy(&prefix, bytes->data(), sizeof(prefix));
    return prefix;
  }
  return static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
         (static_cast<uint64_t>(::getpid()) << 48);
}

// The splitmix64 finalizer, a bijection on 64 bits: distinct counters give distinct ids, and consecutive ids do not
// tell a client how many requests the gateway served in between.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void AppendHex(uint64_t value, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[value & 0xf];
    value >>= 4;
  }
}

}  // namespace

bool IsWellFormedRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

// A random prefix and a counter rather than 16 fresh random bytes: uniqueness is all an id needs, and this costs
// one relaxed atomic increment.
std::string NewRequestId() {
  static const uint64_t prefix = ProcessPrefix();
  static std::atomic<uint64_t> counter{0};
  std::string id(32, '0');
  AppendHex(prefix, id.data());
  AppendHex(Mix(counter.fetch_add(1, std::memory_order_relaxed) + prefix), id.data() + 16);
  return id;
}

std::string RequestIdFor(std::string_view incoming) {
  return IsWellFormedRequestId(incoming) ? std::string(incoming) : NewRequestId();
}

}  // namespace clientreg::gateway
