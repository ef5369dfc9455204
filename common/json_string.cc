#include "common/json_string.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace clientreg::common {
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

constexpr std::string_view kReplacementCharacter = "\xef\xbf\xbd";  // U+FFFD in UTF-8

struct Utf8Sequence {
  std::size_t length;
  bool valid;
};

// The UTF-8 sequence at the start of `bytes`, whose first byte is not ASCII. The ranges are Unicode's Table 3-7:
// they exclude overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF
// (F4 90.., F5..FF). An ill-formed sequence's length is its maximal subpart, the bytes up to the first that cannot
// continue it (at least 1), so that each becomes one U+FFFD as Unicode §3.9 and the WHATWG decoder recommend.
Utf8Sequence ScanUtf8Sequence(std::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= bytes.size()) return {i, false};
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < low || c > high) return {i, false};
    low = 0x80;
    high = 0xbf;
  }
  return {length, true};
}

// The one escaping loop behind both public functions; kCheckUtf8 adds the UTF-8 check to the same pass, so the
// 8-byte skip serves both (it then also stops at any byte with the high bit set).
template <bool kCheckUtf8>
void AppendQuoted(std::string& out, std::string_view value) {
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
      if (!AnyNeedsEscape(word) && (!kCheckUtf8 || (word & kHighBits) == 0)) {
        i += sizeof(word);
        continue;
      }
    }
    if (kCheckUtf8 && static_cast<unsigned char>(value[i]) >= 0x80) {
      const Utf8Sequence sequence = ScanUtf8Sequence(value.substr(i));
      if (!sequence.valid) {
        out.append(value.data() + run_start, i - run_start);
        out += kReplacementCharacter;
        run_start = i + sequence.length;
      }
      i += sequence.length;
      continue;
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

}  // namespace

void AppendJsonString(std::string& out, std::string_view value) { AppendQuoted<false>(out, value); }

void AppendJsonStringReplacingInvalidUtf8(std::string& out, std::string_view bytes) { AppendQuoted<true>(out, bytes); }

}  // namespace clientreg::common
