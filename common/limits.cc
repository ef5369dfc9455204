#include "common/limits.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace clientreg::common {

namespace {

// Every limit is a positive uint32; walk them by reflection so a new field cannot be forgotten.
absl::Status CheckAllPositive(const google::protobuf::Message& limits) {
  const google::protobuf::Descriptor* descriptor = limits.GetDescriptor();
  const google::protobuf::Reflection* reflection = limits.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (reflection->GetUInt32(limits, field) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("limits.", field->name(), " must be positive"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

clientreg::config::v1::HttpLimits DefaultHttpLimits() {
  clientreg::config::v1::HttpLimits limits;
  limits.set_max_body_bytes(64 * 1024);
  limits.set_max_header_bytes(8 * 1024);
  limits.set_max_json_depth(64);
  return limits;
}

clientreg::config::v1::MetadataLimits DefaultMetadataLimits() {
  clientreg::config::v1::MetadataLimits limits;
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

absl::Status ValidateHttpLimits(const clientreg::config::v1::HttpLimits& limits) {
  if (absl::Status positive = CheckAllPositive(limits); !positive.ok()) return positive;
  constexpr uint32_t kMaxBody = 16 * 1024 * 1024;
  if (limits.max_body_bytes() > kMaxBody) {
    return absl::InvalidArgumentError(absl::StrCat("limits.max_body_bytes must be at most ", kMaxBody));
  }
  if (limits.max_json_depth() > 1024) {
    return absl::InvalidArgumentError("limits.max_json_depth must be at most 1024");
  }
  return absl::OkStatus();
}

absl::Status ValidateMetadataLimits(const clientreg::config::v1::MetadataLimits& limits) {
  return CheckAllPositive(limits);
}

}  // namespace clientreg::common
