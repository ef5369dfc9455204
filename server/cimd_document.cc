#include "server/cimd_document.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/registration_error.h"

namespace clientreg::server {
namespace {

constexpr std::string_view kClientId = "client_id";
constexpr std::string_view kClientSecret = "client_secret";
constexpr std::string_view kClientSecretExpiresAt = "client_secret_expires_at";
constexpr std::string_view kExtraMembers[] = {kClientId, kClientSecret, kClientSecretExpiresAt};

absl::Status Invalid(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("client_id metadata document ", std::string(why)));
}

// The parser's and validator's errors quote the offending value; the refusal keeps their code and field only.
absl::Status Refusal(const absl::Status& status) {
  const std::optional<clientreg::v1::RegistrationError> error = common::GetRegistrationError(status);
  if (!error.has_value()) return Invalid("could not be read");
  if (error->error_field().empty()) return Invalid(absl::StrCat("is refused: ", error->error()));
  return Invalid(absl::StrCat("is refused: ", error->error(), " at ", error->error_field()));
}

bool IsSharedSecretMethod(std::string_view method) {
  return method == "client_secret_basic" || method == "client_secret_post" || method == "client_secret_jwt";
}

}  // namespace

absl::StatusOr<clientreg::v1::ClientMetadata> ReadCimdDocument(std::string_view body, std::string_view url,
                                                               common::JsonMapper& mapper,
                                                               const MetadataValidator& validator) {
  absl::StatusOr<common::ParsedBody> parsed = mapper.Parse(body, kExtraMembers);
  if (!parsed.ok()) return Refusal(parsed.status());

  bool has_client_id = false;
  for (const common::ExtraMember& member : parsed->extras) {
    if (member.name == kClientId) {
      if (!member.string_value.has_value()) return Invalid("has a client_id that is not a string");
      if (*member.string_value != url) return Invalid("has a client_id that differs from its URL");
      has_client_id = true;
    } else {
      return Invalid(absl::StrCat("must not have ", member.name, " (CIMD clients have no shared secret)"));
    }
  }
  if (!has_client_id) return Invalid("has no client_id");

  clientreg::v1::ClientMetadata& metadata = parsed->metadata;
  if (!metadata.has_client_name()) return Invalid("has no client_name");
  if (!metadata.has_redirect_uris() || metadata.redirect_uris().values().empty()) {
    return Invalid("has no redirect_uris");
  }
  if (!metadata.has_token_endpoint_auth_method()) {
    metadata.set_token_endpoint_auth_method("none");
  } else if (IsSharedSecretMethod(metadata.token_endpoint_auth_method())) {
    return Invalid("must not use a shared-secret token_endpoint_auth_method");
  }
  absl::StatusOr<clientreg::v1::ClientMetadata> validated = validator.Validate(metadata);
  if (!validated.ok()) return Refusal(validated.status());
  return validated;
}

}  // namespace clientreg::server
