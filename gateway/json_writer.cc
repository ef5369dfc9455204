#include "gateway/json_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json_string.h"
#include "common/metadata_fields.h"
#include "google/protobuf/struct.pb.h"

namespace clientreg::gateway {
namespace {

using clientreg::v1::ClientMetadata;
using common::MetadataField;
using common::MetadataFields;
using common::ObjectAccessors;
using common::StringAccessors;
using common::StringListAccessors;

// Appends one JSON object: the constructor opens it, Name() starts each member, Close() ends it.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void Close() { out_ += '}'; }

  // Starts a member; the caller appends its value.
  std::string& Name(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    common::AppendJsonString(out_, name);
    out_ += ':';
    return out_;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendNumber(std::string& out, double value) {
  // RFC 8259 §6 has no NaN or infinity; Struct can hold them only if built in code, never from JSON input.
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  // Below 2^53 every integer is exact in a double, so `kid`-like counters and RSA `e` as a number read back as
  // integers instead of as 65537.0-style doubles.
  constexpr double kMaxExactInteger = 9007199254740992.0;
  if (std::trunc(value) == value && std::fabs(value) < kMaxExactInteger) {
    absl::StrAppend(&out, static_cast<std::int64_t>(value));
    return;
  }
  // Shortest round-trip form, independent of the C locale's decimal point (unlike printf's %g).
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendStringArray(std::string& out, const google::protobuf::RepeatedPtrField<std::string>& items) {
  out += '[';
  bool first = true;
  for (const std::string& item : items) {
    if (!first) out += ',';
    first = false;
    common::AppendJsonString(out, item);
  }
  out += ']';
}

void AppendValue(std::string& out, const google::protobuf::Value& value);

void AppendStruct(std::string& out, const google::protobuf::Struct& object) {
  // Map iteration order is unspecified; byte order makes the output reproducible.
  std::vector<const google::protobuf::Map<std::string, google::protobuf::Value>::value_type*> members;
  members.reserve(object.fields().size());
  for (const auto& member : object.fields()) members.push_back(&member);
  std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  ObjectWriter writer(out);
  for (const auto* member : members) AppendValue(writer.Name(member->first), member->second);
  writer.Close();
}

void AppendValue(std::string& out, const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kStructValue:
      AppendStruct(out, value.struct_value());
      return;
    case google::protobuf::Value::kListValue: {
      out += '[';
      bool first = true;
      for (const google::protobuf::Value& item : value.list_value().values()) {
        if (!first) out += ',';
        first = false;
        AppendValue(out, item);
      }
      out += ']';
      return;
    }
    case google::protobuf::Value::kNumberValue:
      AppendNumber(out, value.number_value());
      return;
    case google::protobuf::Value::kStringValue:
      common::AppendJsonString(out, value.string_value());
      return;
    case google::protobuf::Value::kBoolValue:
      out += value.bool_value() ? "true" : "false";
      return;
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      out += "null";
      return;
  }
}

// Appends the value of one row, if set; shaped by the row's accessors, like the parser in json_mapping.cc.
class ValueWriter {
 public:
  ValueWriter(const MetadataField& field, const ClientMetadata& metadata, ObjectWriter& writer)
      : field_(field), metadata_(metadata), writer_(writer) {}

  void operator()(const StringAccessors& accessors) const {
    if (!(metadata_.*accessors.has)()) return;
    common::AppendJsonString(writer_.Name(field_.json_name), (metadata_.*accessors.get)());
  }

  void operator()(const StringListAccessors& accessors) const {
    if (!(metadata_.*accessors.has)()) return;
    AppendStringArray(writer_.Name(field_.json_name), (metadata_.*accessors.get)().values());
  }

  void operator()(const ObjectAccessors& accessors) const {
    if (!(metadata_.*accessors.has)()) return;
    AppendStruct(writer_.Name(field_.json_name), (metadata_.*accessors.get)());
  }

 private:
  const MetadataField& field_;
  const ClientMetadata& metadata_;
  ObjectWriter& writer_;
};

void AppendLocalized(const MetadataField& field, const ClientMetadata& metadata, ObjectWriter& writer) {
  const google::protobuf::Map<std::string, std::string>& variants = (metadata.*field.localized->get)();
  std::vector<const google::protobuf::Map<std::string, std::string>::value_type*> sorted;
  sorted.reserve(variants.size());
  for (const auto& variant : variants) sorted.push_back(&variant);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* variant : sorted) {
    // RFC 7591 §2.2: echoed under the member name as sent, `name#tag`.
    common::AppendJsonString(writer.Name(absl::StrCat(absl::string_view(field.json_name.data(), field.json_name.size()),
                                                      "#", variant->first)),
                             variant->second);
  }
}

void AppendNonEmptyString(ObjectWriter& writer, std::string_view name, const std::string& value) {
  if (!value.empty()) common::AppendJsonString(writer.Name(name), value);
}

void AppendNonEmptyArray(ObjectWriter& writer, std::string_view name,
                         const google::protobuf::RepeatedPtrField<std::string>& items) {
  if (!items.empty()) AppendStringArray(writer.Name(name), items);
}

}  // namespace

std::string WriteServerMetadata(const clientreg::v1::ServerMetadata& metadata, DiscoveryDocument document) {
  std::string out;
  ObjectWriter writer(out);
  // RFC 8414 §3.3: clients compare the issuer byte for byte with the one they built the URL from.
  common::AppendJsonString(writer.Name("issuer"), metadata.issuer());
  AppendNonEmptyString(writer, "authorization_endpoint", metadata.authorization_endpoint());
  AppendNonEmptyString(writer, "token_endpoint", metadata.token_endpoint());
  AppendNonEmptyString(writer, "jwks_uri", metadata.jwks_uri());
  AppendNonEmptyString(writer, "registration_endpoint", metadata.registration_endpoint());
  AppendNonEmptyArray(writer, "response_types_supported", metadata.response_types_supported());
  AppendNonEmptyArray(writer, "grant_types_supported", metadata.grant_types_supported());
  AppendNonEmptyArray(writer, "token_endpoint_auth_methods_supported",
                      metadata.token_endpoint_auth_methods_supported());
  AppendNonEmptyArray(writer, "token_endpoint_auth_signing_alg_values_supported",
                      metadata.token_endpoint_auth_signing_alg_values_supported());
  AppendNonEmptyArray(writer, "code_challenge_methods_supported", metadata.code_challenge_methods_supported());
  AppendNonEmptyArray(writer, "scopes_supported", metadata.scopes_supported());
  // CIMD §5: present only when the server resolves metadata document client_ids.
  if (metadata.client_id_metadata_document_supported()) writer.Name("client_id_metadata_document_supported") += "true";
  if (document == DiscoveryDocument::kOpenIdConfiguration) {
    AppendNonEmptyArray(writer, "subject_types_supported", metadata.subject_types_supported());
    AppendNonEmptyArray(writer, "id_token_signing_alg_values_supported",
                        metadata.id_token_signing_alg_values_supported());
  }
  writer.Close();
  return out;
}

std::string WriteClientInformation(const clientreg::v1::ClientInformation& info) {
  std::string out;
  ObjectWriter writer(out);
  common::AppendJsonString(writer.Name("client_id"), info.client_id());
  if (info.has_client_secret()) common::AppendJsonString(writer.Name("client_secret"), info.client_secret());
  // RFC 7591 §3.2.1: seconds since the epoch as JSON numbers, not the strings proto3 JSON would print.
  absl::StrAppend(&writer.Name("client_id_issued_at"), info.client_id_issued_at());
  if (info.has_client_secret_expires_at()) {
    absl::StrAppend(&writer.Name("client_secret_expires_at"), info.client_secret_expires_at());
  }
  if (info.has_registration_client_uri()) {
    common::AppendJsonString(writer.Name("registration_client_uri"), info.registration_client_uri());
  }
  if (info.has_registration_access_token()) {
    common::AppendJsonString(writer.Name("registration_access_token"), info.registration_access_token());
  }
  for (const MetadataField& field : MetadataFields()) {
    std::visit(ValueWriter(field, info.metadata(), writer), field.value);
    if (field.localizable()) AppendLocalized(field, info.metadata(), writer);
  }
  writer.Close();
  return out;
}

}  // namespace clientreg::gateway
