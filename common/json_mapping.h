#ifndef CLIENTREG_COMMON_JSON_MAPPING_H_
#define CLIENTREG_COMMON_JSON_MAPPING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/metadata.pb.h"

namespace clientreg::common {

// A top-level member outside the field table that the caller asked Parse about, e.g. RFC 7592 §2.2's `client_id`,
// `client_secret` or the members a PUT must not carry.
struct ExtraMember {
  std::string name;
  // The value when it is a JSON string (copied exactly, NUL bytes included); nullopt for any other JSON kind.
  std::optional<std::string> string_value;
};

// The result of Parse.
struct ParsedBody {
  clientreg::v1::ClientMetadata metadata;
  // The asked-for extra members present with a non-null value, in the order they were asked for.
  std::vector<ExtraMember> extras;
  // Top-level members that are neither in the field table nor asked for; they were dropped (RFC 7591 §2).
  std::int64_t unknown_members = 0;
};

// Turns a JSON object into ClientMetadata: the JSON syntax and shape checks (spec.md §1.8, §8, §10) shared by the
// gateway (request bodies) and the server (Client ID Metadata Documents).
// Values are not validated here (URI rules, tag syntax, lengths, NUL bytes): the server does that.
//
// One per thread: owns a simdjson DOM parser sized once for `limits` (max_body_bytes, max_json_depth). Not
// thread-safe; results are copied out, so they outlive the next call.
class JsonMapper {
 public:
  // `limits` should have passed common::ValidateHttpLimits; unset fields take their documented defaults.
  explicit JsonMapper(const clientreg::config::v1::HttpLimits& limits);
  ~JsonMapper();
  JsonMapper(const JsonMapper&) = delete;
  JsonMapper& operator=(const JsonMapper&) = delete;

  // Parses a request body into metadata. Errors, all INVALID_ARGUMENT carrying a RegistrationError payload
  // (common/registration_error.h), in this order:
  //  - `invalid_request` if the body is not exactly one JSON object: malformed JSON, data after the value, an empty
  //    or whitespace-only body, a root that is not an object, invalid UTF-8 or an unpaired surrogate escape, a
  //    number out of range, nesting deeper than max_json_depth (objects and arrays, the root object counting as
  //    1), a body over max_body_bytes, or a member name repeated within one object at any depth. For a duplicate
  //    the error_field is the path of the repeated member, e.g. "client_name" or "jwks.keys[0].kty".
  //  - for the first field-table row (metadata_fields.h, in table order, not document order) holding a value of
  //    the wrong JSON kind: that row's code (`invalid_redirect_uri` for redirect_uris, `invalid_client_metadata`
  //    otherwise) with error_field naming the member as sent ("scope", "client_name#en") or the array element
  //    ("redirect_uris[1]").
  // On success: `null` members are absent; an empty array is a present, empty StringList; `name#tag` variants of
  // the localizable fields land in `name_localized[tag]` with the tag exactly as sent; strings are copied byte for
  // byte; unknown members are dropped; `jwks` becomes a google.protobuf.Struct whose numbers are doubles (an
  // integer beyond 2^53 loses precision, which no JWK member needs). A MEMALLOC from the parser is
  // RESOURCE_EXHAUSTED and an internal parser failure INTERNAL, neither with a payload.
  [[nodiscard]] absl::StatusOr<clientreg::v1::ClientMetadata> ParseClientMetadata(std::string_view body);

  // As ParseClientMetadata, and also reports which of `extra_members` (top-level names outside the field table;
  // a table name listed here is still parsed as metadata and never reported) are present with a non-null value.
  // Their kinds are not checked: the caller decides what a non-string value means.
  [[nodiscard]] absl::StatusOr<ParsedBody> Parse(std::string_view body,
                                                 std::span<const std::string_view> extra_members = {});

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_JSON_MAPPING_H_
