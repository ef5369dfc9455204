// The JSON mapper on arbitrary request bodies: never a crash, and every refusal is the documented kind.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_mapping.h"
#include "common/limits.h"
#include "common/registration_error.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clientreg::common::JsonMapper mapper(clientreg::common::DefaultHttpLimits());
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto parsed = mapper.ParseClientMetadata(body);
  if (parsed.ok()) return 0;
  const absl::StatusCode code = parsed.status().code();
  if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kInternal) return 0;
  // Anything else is the client's fault, and says which OAuth error it is.
  FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument);
  const auto detail = clientreg::common::GetRegistrationError(parsed.status());
  FUZZ_CHECK(detail.has_value());
  FUZZ_CHECK(detail->error() == clientreg::common::kInvalidRequest ||
             detail->error() == clientreg::common::kInvalidClientMetadata ||
             detail->error() == clientreg::common::kInvalidRedirectUri);
  return 0;
}
