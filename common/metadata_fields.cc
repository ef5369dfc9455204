#include "common/metadata_fields.h"

#include <array>
#include <type_traits>
#include <variant>

#include "common/registration_error.h"

namespace clientreg::common {
namespace {

using clientreg::v1::ClientMetadata;

constexpr std::array<MetadataField, 16> kMetadataFields = {{
    // spec.md §6 step 1: any problem with redirect_uris, its JSON type included, is invalid_redirect_uri.
    {"redirect_uris", &common::InvalidRedirectUri,
     StringListAccessors{&ClientMetadata::has_redirect_uris, &ClientMetadata::redirect_uris,
                         &ClientMetadata::mutable_redirect_uris},
     std::nullopt},
    {"token_endpoint_auth_method", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_token_endpoint_auth_method, &ClientMetadata::token_endpoint_auth_method,
                     &ClientMetadata::mutable_token_endpoint_auth_method},
     std::nullopt},
    {"grant_types", &common::InvalidClientMetadata,
     StringListAccessors{&ClientMetadata::has_grant_types, &ClientMetadata::grant_types,
                         &ClientMetadata::mutable_grant_types},
     std::nullopt},
    {"response_types", &common::InvalidClientMetadata,
     StringListAccessors{&ClientMetadata::has_response_types, &ClientMetadata::response_types,
                         &ClientMetadata::mutable_response_types},
     std::nullopt},
    {"client_name", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_client_name, &ClientMetadata::client_name,
                     &ClientMetadata::mutable_client_name},
     LocalizedAccessors{&ClientMetadata::client_name_localized, &ClientMetadata::mutable_client_name_localized}},
    {"client_uri", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_client_uri, &ClientMetadata::client_uri, &ClientMetadata::mutable_client_uri},
     LocalizedAccessors{&ClientMetadata::client_uri_localized, &ClientMetadata::mutable_client_uri_localized}},
    {"logo_uri", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_logo_uri, &ClientMetadata::logo_uri, &ClientMetadata::mutable_logo_uri},
     LocalizedAccessors{&ClientMetadata::logo_uri_localized, &ClientMetadata::mutable_logo_uri_localized}},
    // RFC 6749 §3.3: scope is one space-separated string, never an array.
    {"scope", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_scope, &ClientMetadata::scope, &ClientMetadata::mutable_scope}, std::nullopt},
    {"contacts", &common::InvalidClientMetadata,
     StringListAccessors{&ClientMetadata::has_contacts, &ClientMetadata::contacts, &ClientMetadata::mutable_contacts},
     std::nullopt},
    {"tos_uri", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_tos_uri, &ClientMetadata::tos_uri, &ClientMetadata::mutable_tos_uri},
     LocalizedAccessors{&ClientMetadata::tos_uri_localized, &ClientMetadata::mutable_tos_uri_localized}},
    {"policy_uri", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_policy_uri, &ClientMetadata::policy_uri, &ClientMetadata::mutable_policy_uri},
     LocalizedAccessors{&ClientMetadata::policy_uri_localized, &ClientMetadata::mutable_policy_uri_localized}},
    {"jwks_uri", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_jwks_uri, &ClientMetadata::jwks_uri, &ClientMetadata::mutable_jwks_uri},
     std::nullopt},
    {"jwks", &common::InvalidClientMetadata,
     ObjectAccessors{&ClientMetadata::has_jwks, &ClientMetadata::jwks, &ClientMetadata::mutable_jwks}, std::nullopt},
    {"software_id", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_software_id, &ClientMetadata::software_id,
                     &ClientMetadata::mutable_software_id},
     std::nullopt},
    {"software_version", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_software_version, &ClientMetadata::software_version,
                     &ClientMetadata::mutable_software_version},
     std::nullopt},
    // OIDC Registration §2; spec.md §10 makes it understood metadata.
    {"application_type", &common::InvalidClientMetadata,
     StringAccessors{&ClientMetadata::has_application_type, &ClientMetadata::application_type,
                     &ClientMetadata::mutable_application_type},
     std::nullopt},
}};

constexpr bool RowsAreConsistent() {
  for (std::size_t i = 0; i < kMetadataFields.size(); ++i) {
    const MetadataField& field = kMetadataFields[i];
    // Only string values have language-tagged variants (RFC 7591 §2.2 names human-readable strings).
    if (field.localizable() && field.kind() != JsonKind::kString) return false;
    // ResolveMemberName splits at the first '#', so a name containing one could never be found.
    if (field.json_name.find('#') != std::string_view::npos) return false;
    for (std::size_t j = i + 1; j < kMetadataFields.size(); ++j) {
      if (kMetadataFields[j].json_name == field.json_name) return false;
    }
  }
  return true;
}
static_assert(RowsAreConsistent(), "field table: duplicate name, '#' in a name, or a localizable non-string");

static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(JsonKind::kString), ValueAccessors>,
                   StringAccessors> &&
        std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(JsonKind::kStringArray), ValueAccessors>,
                       StringListAccessors> &&
        std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(JsonKind::kObject), ValueAccessors>,
                       ObjectAccessors>,
    "ValueAccessors alternatives must follow the JsonKind order");

}  // namespace

std::span<const MetadataField> MetadataFields() { return kMetadataFields; }

std::optional<MemberRef> ResolveMemberName(std::string_view member_name) {
  const std::size_t hash = member_name.find('#');
  const std::string_view base = member_name.substr(0, hash);
  for (std::size_t i = 0; i < kMetadataFields.size(); ++i) {
    if (kMetadataFields[i].json_name != base) continue;
    if (hash == std::string_view::npos) return MemberRef{i, std::nullopt};
    // RFC 7591 §2: a tagged variant of a field that takes no tags is metadata we do not understand.
    if (!kMetadataFields[i].localizable()) return std::nullopt;
    return MemberRef{i, member_name.substr(hash + 1)};
  }
  return std::nullopt;
}

std::string_view JsonKindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kString:
      return "a string";
    case JsonKind::kStringArray:
      return "an array of strings";
    case JsonKind::kObject:
      return "an object";
  }
  return "a value";
}

}  // namespace clientreg::common
