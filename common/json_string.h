#ifndef CLIENTREG_COMMON_JSON_STRING_H_
#define CLIENTREG_COMMON_JSON_STRING_H_

#include <string>
#include <string_view>

namespace clientreg::common {

// Appends `value` (valid UTF-8) to `out` as a JSON string literal (RFC 8259 §7): quotes, backslash and control
// characters escaped, everything else, non-ASCII included, copied byte for byte. Invalid UTF-8 in `value` is copied
// as it is, so the result is then not valid JSON text: use AppendJsonStringReplacingInvalidUtf8 for untrusted bytes.
void AppendJsonString(std::string& out, std::string_view value);

// Like AppendJsonString, but `bytes` may hold anything: each ill-formed UTF-8 sequence (a maximal subpart in the
// sense of Unicode §3.9, e.g. a stray continuation byte, a truncated sequence, an overlong form, a surrogate or a
// code point above U+10FFFF) becomes one U+FFFD, so the result is always valid UTF-8 and valid JSON.
void AppendJsonStringReplacingInvalidUtf8(std::string& out, std::string_view bytes);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_JSON_STRING_H_
