#include "common/json_mapping.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/metadata_fields.h"
#include "common/registration_error.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "simdjson.h"

namespace clientreg::common {
namespace {

using clientreg::v1::ClientMetadata;
using simdjson::dom::element;
using simdjson::dom::element_type;

// error_description must be ASCII (RFC 7591 §3.2.2), but member names are whatever the client sent. Shows printable
// ASCII as is and every other byte as \xNN, and cuts long names so an error cannot echo a 64 KiB key.
std::string PrintableName(std::string_view name) {
  constexpr std::size_t kMaxShown = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const auto byte = static_cast<unsigned char>(name[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  out += name.size() > kMaxShown ? "\"..." : "\"";
  return out;
}

std::string_view ElementKindName(const element& value) {
  switch (value.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

// Debian's absl::string_view is not std::string_view, so absl::StrCat needs the conversion spelled out.
absl::string_view ToAbsl(std::string_view view) { return absl::string_view(view.data(), view.size()); }

// For values whose type was checked. They return copies on purpose: value_unsafe() returns a reference into its
// temporary simdjson_result, which a range-for would outlive.
simdjson::dom::array AsArray(const element& value) { return value.get_array().value_unsafe(); }
simdjson::dom::object AsObject(const element& value) { return value.get_object().value_unsafe(); }

bool IsContainer(const element& value) {
  return value.type() == element_type::ARRAY || value.type() == element_type::OBJECT;
}

std::string TooDeepDescription(std::uint32_t max_depth) {
  return absl::StrCat("JSON nesting is deeper than ", max_depth, " levels");
}

// The one conversion of simdjson errors (style.md point 4). Every input fault is the client's: invalid_request
// (spec.md §1.8). Out of memory is transient overload, and the remaining codes cannot come from a DOM parse of a
// padded buffer, so they are our bug: neither blames the client.
absl::Status FromSimdjsonError(simdjson::error_code code, std::uint32_t max_body_bytes, std::uint32_t max_depth) {
  switch (code) {
    case simdjson::SUCCESS:
      return absl::OkStatus();
    case simdjson::CAPACITY:
      return common::InvalidRequest("", absl::StrCat("request body is larger than ", max_body_bytes, " bytes"));
    case simdjson::DEPTH_ERROR:
      return common::InvalidRequest("", TooDeepDescription(max_depth));
    case simdjson::EMPTY:
      return common::InvalidRequest("", "request body is empty; expected a JSON object");
    case simdjson::TAPE_ERROR:
      return common::InvalidRequest("",
                                    "malformed JSON: misplaced or missing comma, colon, brace or bracket, "
                                    "an unquoted name, or data after the value");
    case simdjson::TRAILING_CONTENT:
      return common::InvalidRequest("", "malformed JSON: data after the value");
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return common::InvalidRequest("", "malformed JSON: the document ends inside an array or object");
    case simdjson::STRING_ERROR:
      return common::InvalidRequest("", "malformed JSON string: invalid escape or unpaired surrogate");
    case simdjson::UNCLOSED_STRING:
      return common::InvalidRequest("", "malformed JSON: a string is not closed");
    case simdjson::UNESCAPED_CHARS:
      return common::InvalidRequest("", "malformed JSON string: unescaped control character");
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return common::InvalidRequest("", "malformed JSON: invalid literal (expected true, false or null)");
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return common::InvalidRequest("", "malformed JSON number, or a number out of range");
    case simdjson::UTF8_ERROR:
      return common::InvalidRequest("", "request body is not valid UTF-8");
    case simdjson::MEMALLOC:
      return absl::ResourceExhaustedError("out of memory while parsing JSON");
    case simdjson::UNINITIALIZED:
    case simdjson::UNSUPPORTED_ARCHITECTURE:
    case simdjson::INCORRECT_TYPE:
    case simdjson::INDEX_OUT_OF_BOUNDS:
    case simdjson::NO_SUCH_FIELD:
    case simdjson::IO_ERROR:
    case simdjson::INVALID_JSON_POINTER:
    case simdjson::INVALID_URI_FRAGMENT:
    case simdjson::UNEXPECTED_ERROR:
    case simdjson::PARSER_IN_USE:
    case simdjson::OUT_OF_ORDER_ITERATION:
    case simdjson::INSUFFICIENT_PADDING:
    case simdjson::SCALAR_DOCUMENT_AS_VALUE:
    case simdjson::OUT_OF_BOUNDS:
    case simdjson::NUM_ERROR_CODES:
      break;
  }
  return absl::InternalError(absl::StrCat("JSON parser failure: ", simdjson::error_message(code)));
}

// A step of the path to a nested member, for error_field ("jwks.keys[0].kty").
struct PathStep {
  std::string_view key;
  std::size_t index = 0;
  bool is_key = true;
};

std::string PathString(const std::vector<PathStep>& path) {
  std::string out;
  for (const PathStep& step : path) {
    if (step.is_key) {
      if (!out.empty()) out += '.';
      out.append(step.key);
    } else {
      absl::StrAppend(&out, "[", step.index, "]");
    }
  }
  return out;
}

// The repeated name of the first member (in document order) whose name an earlier member of `object` already has.
// Sorting keeps this O(n log n) whatever names a hostile body picks; a hash set could be driven into collisions.
std::optional<std::string_view> FirstDuplicateName(const simdjson::dom::object& object) {
  std::vector<std::pair<std::string_view, std::size_t>> names;
  std::size_t position = 0;
  for (const simdjson::dom::key_value_pair member : object) names.emplace_back(member.key, position++);
  if (names.size() < 2) return std::nullopt;
  std::sort(names.begin(), names.end());
  std::optional<std::pair<std::string_view, std::size_t>> first;
  for (std::size_t i = 1; i < names.size(); ++i) {
    // Within a run of equal names the second entry is the first repetition.
    if (names[i].first == names[i - 1].first && (i < 2 || names[i - 2].first != names[i].first)) {
      if (!first.has_value() || names[i].second < first->second) first = names[i];
    }
  }
  if (!first.has_value()) return std::nullopt;
  return first->first;
}

// Checks what simdjson leaves to us: unique member names at every depth (RFC 8259 §4 SHOULD; spec.md §8 makes it a
// rule), and the exact nesting cap. `depth` is the depth of `value`, the root object being 1.
absl::Status CheckStructure(const element& value, std::uint32_t depth, std::uint32_t max_depth,
                            std::vector<PathStep>& path) {
  // No error_field: simdjson reports most depth faults without a position, and all of them should look alike.
  if (depth > max_depth) return common::InvalidRequest("", TooDeepDescription(max_depth));
  if (value.type() == element_type::OBJECT) {
    const simdjson::dom::object object = AsObject(value);
    if (const std::optional<std::string_view> name = FirstDuplicateName(object); name.has_value()) {
      path.push_back(PathStep{*name});
      return common::InvalidRequest(PathString(path), absl::StrCat("duplicate member name ", PrintableName(*name)));
    }
    for (const simdjson::dom::key_value_pair member : object) {
      if (!IsContainer(member.value)) continue;
      path.push_back(PathStep{member.key});
      RETURN_IF_ERROR(CheckStructure(member.value, depth + 1, max_depth, path));
      path.pop_back();
    }
    return absl::OkStatus();
  }
  std::size_t index = 0;
  for (const element child : AsArray(value)) {
    if (IsContainer(child)) {
      path.push_back(PathStep{{}, index, false});
      RETURN_IF_ERROR(CheckStructure(child, depth + 1, max_depth, path));
      path.pop_back();
    }
    ++index;
  }
  return absl::OkStatus();
}

std::string ToString(const element& string_value) {
  const std::string_view view = string_value.get_string().value_unsafe();
  return std::string(view.data(), view.size());
}

// Nesting depth: an object or array is 1 + its deepest member; a scalar adds nothing.
std::uint32_t NestingDepth(const element& value) {
  std::uint32_t deepest = 0;
  if (value.type() == element_type::OBJECT) {
    for (const simdjson::dom::key_value_pair member : AsObject(value)) {
      deepest = std::max(deepest, NestingDepth(member.value));
    }
  } else if (value.type() == element_type::ARRAY) {
    for (const element child : AsArray(value)) deepest = std::max(deepest, NestingDepth(child));
  } else {
    return 0;
  }
  return deepest + 1;
}

void ToProtoValue(const element& value, google::protobuf::Value& out);

void ToProtoStruct(const simdjson::dom::object& object, google::protobuf::Struct& out) {
  auto& fields = *out.mutable_fields();
  for (const simdjson::dom::key_value_pair member : object) {
    ToProtoValue(member.value, fields[std::string(member.key)]);
  }
}

void ToProtoValue(const element& value, google::protobuf::Value& out) {
  switch (value.type()) {
    case element_type::OBJECT:
      ToProtoStruct(AsObject(value), *out.mutable_struct_value());
      return;
    case element_type::ARRAY: {
      google::protobuf::ListValue& list = *out.mutable_list_value();
      for (const element child : AsArray(value)) ToProtoValue(child, *list.add_values());
      return;
    }
    // google.protobuf.Struct has only doubles: integers beyond 2^53 round. JWK members are strings, so this
    // touches nothing a valid JWK Set holds.
    case element_type::INT64:
      out.set_number_value(static_cast<double>(value.get_int64().value_unsafe()));
      return;
    case element_type::UINT64:
      out.set_number_value(static_cast<double>(value.get_uint64().value_unsafe()));
      return;
    case element_type::DOUBLE:
      out.set_number_value(value.get_double().value_unsafe());
      return;
    case element_type::STRING:
      out.set_string_value(ToString(value));
      return;
    case element_type::BOOL:
      out.set_bool_value(value.get_bool().value_unsafe());
      return;
    case element_type::NULL_VALUE:
      out.set_null_value(google::protobuf::NULL_VALUE);
      return;
  }
}

// The members of one table row found in the body: the plain member and its `#tag` variants in document order.
struct RowMembers {
  std::optional<element> plain;
  struct Tagged {
    std::string_view member_name;
    std::string_view tag;
    element value;
  };
  std::vector<Tagged> tagged;
};

absl::Status WrongKind(const MetadataField& field, std::string_view error_field, std::string_view expected,
                       const element& value) {
  return field.wrong_kind_error(std::string(error_field),
                                absl::StrCat(PrintableName(error_field), " must be ", ToAbsl(expected), ", not ",
                                             ToAbsl(ElementKindName(value))));
}

// Type-checks one non-null member value and stores it through the row's accessors.
class ValueReader {
 public:
  ValueReader(const MetadataField& field, const element& value, ClientMetadata& metadata)
      : field_(field), value_(value), metadata_(metadata) {}

  absl::Status operator()(const StringAccessors& accessors) const {
    if (value_.type() != element_type::STRING) return WrongKind(JsonKind::kString);
    // NUL and other control characters pass: they are value faults, and value checks run in the server after all
    // type checks (spec.md §10 error order).
    *(metadata_.*accessors.mutable_value)() = ToString(value_);
    return absl::OkStatus();
  }

  absl::Status operator()(const StringListAccessors& accessors) const {
    if (value_.type() != element_type::ARRAY) return WrongKind(JsonKind::kStringArray);
    clientreg::v1::StringList& list = *(metadata_.*accessors.mutable_value)();
    std::size_t index = 0;
    for (const element item : AsArray(value_)) {
      if (item.type() != element_type::STRING) {
        return common::WrongKind(field_, absl::StrCat(ToAbsl(field_.json_name), "[", index, "]"), "a string", item);
      }
      list.add_values(ToString(item));
      ++index;
    }
    return absl::OkStatus();
  }

  absl::Status operator()(const ObjectAccessors& accessors) const {
    if (value_.type() != element_type::OBJECT) return WrongKind(JsonKind::kObject);
    // Deeper than this, the Struct would exceed protobuf's nesting limit on the way to the server (and the server
    // refuses it too): a clear invalid_client_metadata here instead of an unparseable call.
    if (NestingDepth(value_) > common::kMaxStructNestingDepth) {
      return field_.wrong_kind_error(std::string(field_.json_name),
                                     absl::StrCat(PrintableName(field_.json_name), " is nested deeper than ",
                                                  common::kMaxStructNestingDepth, " levels"));
    }
    ToProtoStruct(AsObject(value_), *(metadata_.*accessors.mutable_value)());
    return absl::OkStatus();
  }

 private:
  absl::Status WrongKind(JsonKind expected) const {
    return common::WrongKind(field_, field_.json_name, JsonKindName(expected), value_);
  }

  const MetadataField& field_;
  const element& value_;
  ClientMetadata& metadata_;
};

absl::Status ReadRow(const MetadataField& field, const RowMembers& members, ClientMetadata& metadata) {
  // spec.md §8 [profile]: a null member is treated as absent.
  if (members.plain.has_value() && !members.plain->is_null()) {
    RETURN_IF_ERROR(std::visit(ValueReader(field, *members.plain, metadata), field.value));
  }
  for (const RowMembers::Tagged& variant : members.tagged) {
    if (variant.value.is_null()) continue;
    if (variant.value.type() != element_type::STRING) {
      return WrongKind(field, variant.member_name, JsonKindName(JsonKind::kString), variant.value);
    }
    // RFC 7591 §2.2: the tag is kept exactly as sent; the server checks its syntax and case-insensitive repeats.
    (*(metadata.*field.localized->mutable_value)())[std::string(variant.tag)] = ToString(variant.value);
  }
  return absl::OkStatus();
}

std::uint32_t LimitOrDefault(bool has, std::uint32_t value, std::uint32_t fallback) { return has ? value : fallback; }

}  // namespace

class JsonMapper::Impl {
 public:
  explicit Impl(const clientreg::config::v1::HttpLimits& limits)
      : max_body_bytes_(LimitOrDefault(limits.has_max_body_bytes(), limits.max_body_bytes(),
                                       common::DefaultHttpLimits().max_body_bytes())),
        max_depth_(LimitOrDefault(limits.has_max_json_depth(), limits.max_json_depth(),
                                  common::DefaultHttpLimits().max_json_depth())),
        // The parser's max_capacity equals its allocation, so no body can make it grow after construction.
        parser_(max_body_bytes_),
        buffer_(std::make_unique<char[]>(std::size_t{max_body_bytes_} + simdjson::SIMDJSON_PADDING)) {
    // simdjson counts a scalar inside a container as one more level than the container ("[1]" needs 2, "[]" 1).
    // Allowing one extra level lets every document within our cap through; CheckStructure then applies the cap
    // exactly, counting objects and arrays only.
    allocation_error_ = parser_.allocate(max_body_bytes_, std::size_t{max_depth_} + 1);
  }

  absl::StatusOr<ParsedBody> Parse(std::string_view body, std::span<const std::string_view> extra_members) {
    if (allocation_error_ != simdjson::SUCCESS) {
      return FromSimdjsonError(allocation_error_, max_body_bytes_, max_depth_);
    }
    if (body.size() > max_body_bytes_) return FromSimdjsonError(simdjson::CAPACITY, max_body_bytes_, max_depth_);

    // A private padded copy: simdjson reads up to SIMDJSON_PADDING bytes past the end, and the caller's buffer
    // promises none.
    std::memcpy(buffer_.get(), body.data(), body.size());
    std::memset(buffer_.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
    element root;
    if (const simdjson::error_code error = parser_.parse(buffer_.get(), body.size(), false).get(root); error) {
      return FromSimdjsonError(error, max_body_bytes_, max_depth_);
    }
    // RFC 7591 §3.1: the metadata are the members of one JSON object.
    if (root.type() != element_type::OBJECT) {
      return common::InvalidRequest(
          "", absl::StrCat("request body must be a JSON object, not ", ToAbsl(ElementKindName(root))));
    }
    std::vector<PathStep> path;
    RETURN_IF_ERROR(CheckStructure(root, 1, max_depth_, path));

    const std::span<const MetadataField> fields = MetadataFields();
    std::vector<RowMembers> rows(fields.size());
    std::vector<std::optional<element>> extra_values(extra_members.size());
    ParsedBody parsed;
    for (const simdjson::dom::key_value_pair member : AsObject(root)) {
      if (const std::optional<MemberRef> ref = ResolveMemberName(member.key); ref.has_value()) {
        RowMembers& row = rows[ref->field_index];
        // Names are unique (checked above), so there is at most one plain member per row.
        if (ref->tag.has_value()) {
          row.tagged.push_back(RowMembers::Tagged{member.key, *ref->tag, member.value});
        } else {
          row.plain = member.value;
        }
        continue;
      }
      const auto extra = std::find(extra_members.begin(), extra_members.end(), member.key);
      if (extra != extra_members.end()) {
        extra_values[extra - extra_members.begin()] = member.value;
        continue;
      }
      // RFC 7591 §2: metadata the server does not understand MUST be ignored.
      ++parsed.unknown_members;
    }

    // Table order, not document order: spec.md §10 reports the first wrong kind in field-table order.
    for (std::size_t i = 0; i < fields.size(); ++i) {
      RETURN_IF_ERROR(ReadRow(fields[i], rows[i], parsed.metadata));
    }
    for (std::size_t i = 0; i < extra_members.size(); ++i) {
      const std::optional<element>& value = extra_values[i];
      if (!value.has_value() || value->is_null()) continue;
      ExtraMember& extra = parsed.extras.emplace_back();
      extra.name = std::string(extra_members[i]);
      if (value->type() == element_type::STRING) extra.string_value = ToString(*value);
    }
    return parsed;
  }

 private:
  const std::uint32_t max_body_bytes_;
  const std::uint32_t max_depth_;
  simdjson::dom::parser parser_;
  std::unique_ptr<char[]> buffer_;
  simdjson::error_code allocation_error_ = simdjson::SUCCESS;
};

JsonMapper::JsonMapper(const clientreg::config::v1::HttpLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}

JsonMapper::~JsonMapper() = default;

absl::StatusOr<clientreg::v1::ClientMetadata> JsonMapper::ParseClientMetadata(std::string_view body) {
  ASSIGN_OR_RETURN(ParsedBody parsed, impl_->Parse(body, {}));
  return std::move(parsed.metadata);
}

absl::StatusOr<ParsedBody> JsonMapper::Parse(std::string_view body, std::span<const std::string_view> extra_members) {
  return impl_->Parse(body, extra_members);
}

}  // namespace clientreg::common
