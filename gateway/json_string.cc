#include "gateway/json_string.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace clientreg::gateway {
namespace {

// Whether `c` must be escaped inside a JSON string.
constexpr bool NeedsEscape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Whether any of the 8 bytes of `word` must be escaped, 8 bytes at a time: a byte below 0x20, or equal to '"' or
// '\\' (a byte x equals c exactly when x ^ c is zero, i.e. below 1). Exact: the borrow of a byte that matches can
// only set the high bit of higher bytes, so a match is never reported unless there is one.
constexpr bool AnyNeedsEscape(uint64_t word) {
  const auto any_below = [](uint64_t x, uint64_t n) { return ((x - kOnes * n) & ~x & kHighBits) != 0; };
  return any_below(word, 0x20) || any_below(word ^ (kOnes * '"'), 1) || any_below(word ^ (kOnes * '\\'), 1);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Almost every value (URLs, names, ids, tokens) needs no escape at all: runs between escapes are appended whole,
  // which is several times faster than appending byte by byte.
  out.reserve(out.size() + value.size() + 2);
  out += '"';
  std::size_t run_start = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value.size() - i >= sizeof(uint64_t)) {
      uint64_t word;
      std::memcpy(&word, value.data() + i, sizeof(word));
      if (!AnyNeedsEscape(word)) {
        i += sizeof(word);
        continue;
      }
    }
    const char c = value[i++];
    if (!NeedsEscape(c)) continue;
    out.append(value.data() + run_start, i - 1 - run_start);
    run_start = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[(c >> 4) & 0xf];
        out += kHex[c & 0xf];
    }
  }
  out.append(value.data() + run_start, value.size() - run_start);
  out += '"';
}

}  // namespace clientreg::gateway
