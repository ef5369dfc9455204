#ifndef CLIENTREG_SERVER_METADATA_VALIDATOR_H_
#define CLIENTREG_SERVER_METADATA_VALIDATOR_H_

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/metadata.pb.h"

namespace clientreg::server {

// Checks requested client metadata against spec.md (§1.3-§1.5, §6, §10) and provisions the defaults. One
// validator serves registration (POST) and update (PUT). Immutable after construction, so thread-safe.
class MetadataValidator {
 public:
  // `limits` and `policy` are complete (defaults applied, validated).
  MetadataValidator(clientreg::config::v1::MetadataLimits limits, clientreg::config::v1::RegistrationPolicy policy);

  // Returns the metadata to store: `requested` checked against every rule, with defaults applied. The same function
  // serves POST (Register), PUT (RFC 7592 update) and direct gRPC callers. On failure: INVALID_ARGUMENT with a
  // RegistrationError payload naming the first fault.
  //
  // The result holds every requested value byte for byte (nothing is normalized) plus the provisioned ones:
  // application_type (always set: explicit, or inferred "native" when any redirect URI is a private-use scheme or
  // every one (at least one) is loopback http, else "web"), token_endpoint_auth_method, grant_types, response_types
  // (["code"] when the grant types hold authorization_code, else []) and the policy's default_scope. An empty scope
  // is no scope: the default_scope if there is one, else none.
  //
  // The payload's `error` is invalid_redirect_uri for any fault in redirect_uris (their count, syntax, schemes,
  // repeats and the application_type scheme rules, and their absence for authorization_code),
  // invalid_client_metadata for every other fault. Faults are looked for in this order: redirect_uris,
  // application_type, the other fields in the order of spec.md §1.3 (each followed by its language-tagged variants,
  // in byte order of the tag), then the checks across fields. `error_field` names the member as sent
  // (`redirect_uris[2]`, `client_name#ja-Jpan-JP`, `jwks.keys[0].d`); `error_description` is printable ASCII without
  // `"` or `\` (RFC 6749 §5.2) and quotes the offending value in single quotes, with other bytes as %XX and at most
  // 200 characters of it.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientMetadata> Validate(
      const clientreg::v1::ClientMetadata& requested) const;

 private:
  clientreg::config::v1::MetadataLimits limits_;
  clientreg::config::v1::RegistrationPolicy policy_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_METADATA_VALIDATOR_H_
