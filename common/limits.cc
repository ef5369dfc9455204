#include "common/limits.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace clientreg::common {

clientreg::config::v1::Limits DefaultLimits() {
  clientreg::config::v1::Limits limits;
  limits.set_max_body_bytes(64 * 1024);
  limits.set_max_header_bytes(8 * 1024);
  limits.set_max_json_depth(64);
  limits.set_max_redirect_uris(20);
  limits.set_max_redirect_uri_bytes(2048);
  limits.set_max_uri_bytes(2048);
  limits.set_max_contacts(10);
  limits.set_max_contact_bytes(320);
  limits.set_max_string_bytes(1024);
  limits.set_max_scope_bytes(2048);
  limits.set_max_scope_tokens(64);
  limits.set_max_language_variants(20);
  limits.set_max_jwks_bytes(16 * 1024);
  limits.set_max_jwks_keys(10);
  limits.set_max_type_entries(10);
  return limits;
}

absl::Status ValidateLimits(const clientreg::config::v1::Limits& limits) {
  // Every limit is a positive uint32; walk them by reflection so a new field cannot be forgotten.
  const google::protobuf::Descriptor* descriptor = limits.GetDescriptor();
  const google::protobuf::Reflection* reflection = limits.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (reflection->GetUInt32(limits, field) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("limits.", field->name(), " must be positive"));
    }
  }
  constexpr uint32_t kMaxBody = 16 * 1024 * 1024;
  if (limits.max_body_bytes() > kMaxBody) {
    return absl::InvalidArgumentError(absl::StrCat("limits.max_body_bytes must be at most ", kMaxBody));
  }
  if (limits.max_json_depth() > 1024) {
    return absl::InvalidArgumentError("limits.max_json_depth must be at most 1024");
  }
  return absl::OkStatus();
}

}  // namespace clientreg::common
