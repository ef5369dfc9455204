#ifndef CLIENTREG_COMMON_METADATA_FIELDS_H_
#define CLIENTREG_COMMON_METADATA_FIELDS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"
#include "clientreg/v1/metadata.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"

namespace clientreg::common {

// The one table of RFC 7591 client metadata members (style.md point 16). The JSON parser (json_mapping.cc) and the
// JSON writer (json_writer.cc) both walk it, so a member's name, JSON kind and proto field are written down once.

// The JSON kind a member must have. `null` is accepted for every kind and means "absent" (spec.md §8).
enum class JsonKind {
  kString,       // a JSON string
  kStringArray,  // a JSON array whose elements are all strings
  kObject,       // a JSON object (jwks), kept as a google.protobuf.Struct
};

// Accessors of an `optional string` field.
struct StringAccessors {
  bool (clientreg::v1::ClientMetadata::*has)() const;
  const std::string& (clientreg::v1::ClientMetadata::*get)() const;
  std::string* (clientreg::v1::ClientMetadata::*mutable_value)();
};

// Accessors of a message field, whose presence is the message's presence: a set, empty StringList is `[]`.
template <typename Message>
struct MessageAccessors {
  bool (clientreg::v1::ClientMetadata::*has)() const;
  const Message& (clientreg::v1::ClientMetadata::*get)() const;
  Message* (clientreg::v1::ClientMetadata::*mutable_value)();
};
using StringListAccessors = MessageAccessors<clientreg::v1::StringList>;
using ObjectAccessors = MessageAccessors<google::protobuf::Struct>;

// The alternative index of each accessor type equals the JsonKind it serves, so a row's kind is derived from its
// accessors and the two cannot disagree.
using ValueAccessors = std::variant<StringAccessors, StringListAccessors, ObjectAccessors>;

// Accessors of a `*_localized` map: language-tagged variants keyed by the tag exactly as sent after `#`.
struct LocalizedAccessors {
  const google::protobuf::Map<std::string, std::string>& (clientreg::v1::ClientMetadata::*get)() const;
  google::protobuf::Map<std::string, std::string>* (clientreg::v1::ClientMetadata::*mutable_value)();
};

// Builds the 400 error for a member of the wrong JSON kind: one of common::InvalidClientMetadata or
// common::InvalidRedirectUri. `field` is the error_field (e.g. "redirect_uris[1]", "client_name#en").
using ErrorFactory = absl::Status (*)(const std::string& field, const std::string& description);

// One row: one RFC 7591 member of ClientMetadata.
struct MetadataField {
  // The top-level JSON member name, which is also the proto field name.
  std::string_view json_name;
  // Error for a value of the wrong kind (spec.md §6 step 1: anything wrong with redirect_uris is
  // invalid_redirect_uri; every other field uses invalid_client_metadata).
  ErrorFactory wrong_kind_error;
  ValueAccessors value;
  // Set exactly for the fields that accept `name#tag` variants (RFC 7591 §2.2). Such fields are strings.
  std::optional<LocalizedAccessors> localized;

  constexpr JsonKind kind() const { return static_cast<JsonKind>(value.index()); }
  constexpr bool localizable() const { return localized.has_value(); }
};

// Every row, in the order of spec.md §1.3's table followed by application_type. This order is the order in which
// the parser type-checks members (spec.md §10: the first fault in table order is reported) and the order in which
// the writer prints them.
std::span<const MetadataField> MetadataFields();

// What a top-level member name refers to.
struct MemberRef {
  // Index into MetadataFields().
  std::size_t field_index = 0;
  // For `name#tag`, the tag exactly as sent (possibly empty, possibly not a valid BCP 47 tag); nullopt for `name`.
  std::optional<std::string_view> tag;
};

// Resolves a top-level member name: "client_name" and "client_name#ja-Jpan-JP" refer to the client_name row.
// Returns nullopt for names outside the table, and for `name#tag` when `name` takes no language tags
// ("redirect_uris#en", "foo#en"): such members are unknown metadata. The returned tag views `member_name`.
std::optional<MemberRef> ResolveMemberName(std::string_view member_name);

// A short English phrase for a JSON kind, for error descriptions ("a string", "an array of strings", "an object").
std::string_view JsonKindName(JsonKind kind);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_METADATA_FIELDS_H_
