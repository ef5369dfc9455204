#ifndef CLIENTREG_GATEWAY_JSON_STRING_H_
#define CLIENTREG_GATEWAY_JSON_STRING_H_

#include <string>
#include <string_view>

namespace clientreg::gateway {

// Appends `value` (valid UTF-8) to `out` as a JSON string literal (RFC 8259 §7): quotes, backslash and control
// characters escaped, everything else, non-ASCII included, copied byte for byte.
void AppendJsonString(std::string& out, std::string_view value);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_JSON_STRING_H_
