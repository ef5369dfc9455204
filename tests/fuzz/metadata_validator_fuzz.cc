// The metadata validator on whatever the JSON mapper makes of arbitrary bodies: never a crash; a refusal names an
// RFC 7591 code with a description fit for an OAuth error (RFC 6749 §5.2); what it accepts, it accepts again unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_mapping.h"
#include "common/limits.h"
#include "common/registration_error.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/metadata_validator.h"
#include "server/registration_policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool IsOAuthDescription(std::string_view text) {
  for (const char c : text) {
    // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E.
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clientreg::common::JsonMapper mapper(clientreg::common::DefaultHttpLimits());
  static const clientreg::server::MetadataValidator validator(clientreg::common::DefaultMetadataLimits(),
                                                              clientreg::server::DefaultRegistrationPolicy());
  const auto requested = mapper.ParseClientMetadata(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!requested.ok()) return 0;
  const auto validated = validator.Validate(*requested);
  if (!validated.ok()) {
    FUZZ_CHECK(validated.status().code() == absl::StatusCode::kInvalidArgument);
    const auto detail = clientreg::common::GetRegistrationError(validated.status());
    FUZZ_CHECK(detail.has_value());
    FUZZ_CHECK(detail->error() == clientreg::common::kInvalidClientMetadata ||
               detail->error() == clientreg::common::kInvalidRedirectUri);
    FUZZ_CHECK(!detail->error_description().empty());
    FUZZ_CHECK(IsOAuthDescription(detail->error_description()));
    return 0;
  }
  // Stored metadata is validated again on every PUT that echoes it: it must pass, and come out the same.
  const auto again = validator.Validate(*validated);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*again, *validated));
  return 0;
}
