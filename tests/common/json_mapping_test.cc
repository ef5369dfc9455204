#include "common/json_mapping.h"

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "clientreg/v1/metadata.pb.h"
#include "common/limits.h"
#include "common/metadata_fields.h"
#include "common/registration_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::common {
namespace {

using clientreg::v1::ClientMetadata;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Checks that `status` is INVALID_ARGUMENT with a RegistrationError {error, field} and an ASCII description.
::testing::AssertionResult IsRegistrationError(const absl::Status& status, std::string_view error,
                                               std::string_view field) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "status is " << status;
  }
  const std::optional<clientreg::v1::RegistrationError> detail = common::GetRegistrationError(status);
  if (!detail.has_value()) return ::testing::AssertionFailure() << "no RegistrationError payload in " << status;
  if (detail->error() != error || detail->error_field() != field) {
    return ::testing::AssertionFailure() << "got error=" << detail->error() << " field=" << detail->error_field()
                                         << " (" << detail->error_description() << ")";
  }
  if (detail->error_description().empty()) return ::testing::AssertionFailure() << "empty description";
  for (const char c : detail->error_description()) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return ::testing::AssertionFailure() << "non-ASCII description: " << detail->error_description();
    }
  }
  return ::testing::AssertionSuccess();
}

std::string Nested(int depth, std::string_view inner) {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

class JsonMappingTest : public ::testing::Test {
 protected:
  absl::StatusOr<ClientMetadata> Parse(std::string_view body) { return mapper_.ParseClientMetadata(body); }

  JsonMapper mapper_{common::DefaultHttpLimits()};
};

// --- The field table -------------------------------------------------------------------------------------------

TEST(MetadataFieldsTest, OrderIsSpecTableThenApplicationType) {
  std::vector<std::string_view> names;
  for (const MetadataField& field : MetadataFields()) names.push_back(field.json_name);
  EXPECT_THAT(names, ElementsAre("redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types",
                                 "client_name", "client_uri", "logo_uri", "scope", "contacts", "tos_uri", "policy_uri",
                                 "jwks_uri", "jwks", "software_id", "software_version", "application_type"));
}

TEST(MetadataFieldsTest, KindsTagsAndErrorCodes) {
  for (const MetadataField& field : MetadataFields()) {
    SCOPED_TRACE(field.json_name);
    const std::string_view name = field.json_name;
    const JsonKind expected_kind =
        name == "jwks" ? JsonKind::kObject
        : name == "redirect_uris" || name == "grant_types" || name == "response_types" || name == "contacts"
            ? JsonKind::kStringArray
            : JsonKind::kString;
    EXPECT_EQ(field.kind(), expected_kind);
    const bool expected_localizable = name == "client_name" || name == "client_uri" || name == "logo_uri" ||
                                      name == "tos_uri" || name == "policy_uri";
    EXPECT_EQ(field.localizable(), expected_localizable);
    const std::optional<clientreg::v1::RegistrationError> detail =
        common::GetRegistrationError(field.wrong_kind_error("f", "d"));
    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->error(), name == "redirect_uris" ? common::kInvalidRedirectUri : common::kInvalidClientMetadata);
  }
}

// Sets each row through its accessors and finds the change by proto field name: the JSON name, the accessors and
// the proto field cannot drift apart. Also proves every ClientMetadata field has a row.
TEST(MetadataFieldsTest, AccessorsReachTheProtoFieldOfTheSameName) {
  const google::protobuf::Descriptor* descriptor = ClientMetadata::descriptor();
  int covered = 0;
  for (const MetadataField& field : MetadataFields()) {
    SCOPED_TRACE(field.json_name);
    ClientMetadata metadata;
    std::visit(
        [&](const auto& accessors) {
          EXPECT_FALSE((metadata.*accessors.has)());
          (metadata.*accessors.mutable_value)();
          EXPECT_TRUE((metadata.*accessors.has)());
        },
        field.value);
    const google::protobuf::FieldDescriptor* proto_field = descriptor->FindFieldByName(std::string(field.json_name));
    ASSERT_NE(proto_field, nullptr);
    EXPECT_TRUE(metadata.GetReflection()->HasField(metadata, proto_field));
    std::vector<const google::protobuf::FieldDescriptor*> set_fields;
    metadata.GetReflection()->ListFields(metadata, &set_fields);
    EXPECT_EQ(set_fields.size(), 1u);
    ++covered;
    if (field.localizable()) {
      ClientMetadata tagged;
      (*(tagged.*field.localized->mutable_value)())["en"] = "x";
      EXPECT_EQ((tagged.*field.localized->get)().size(), 1u);
      const google::protobuf::FieldDescriptor* map_field =
          descriptor->FindFieldByName(std::string(field.json_name) + "_localized");
      ASSERT_NE(map_field, nullptr);
      EXPECT_EQ(tagged.GetReflection()->FieldSize(tagged, map_field), 1);
      ++covered;
    }
  }
  EXPECT_EQ(covered, descriptor->field_count());
}

TEST(MetadataFieldsTest, ResolveMemberName) {
  const auto index_of = [](std::string_view name) {
    for (std::size_t i = 0; i < MetadataFields().size(); ++i) {
      if (MetadataFields()[i].json_name == name) return i;
    }
    return MetadataFields().size();
  };
  std::optional<MemberRef> ref = ResolveMemberName("scope");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->field_index, index_of("scope"));
  EXPECT_FALSE(ref->tag.has_value());

  ref = ResolveMemberName("client_name#ja-Jpan-JP");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->field_index, index_of("client_name"));
  EXPECT_EQ(ref->tag, "ja-Jpan-JP");

  ref = ResolveMemberName("logo_uri#");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->tag, "");

  ref = ResolveMemberName("tos_uri#a#b");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->tag, "a#b");

  EXPECT_FALSE(ResolveMemberName("redirect_uris#en").has_value());
  EXPECT_FALSE(ResolveMemberName("foo#en").has_value());
  EXPECT_FALSE(ResolveMemberName("Client_Name").has_value());
  EXPECT_FALSE(ResolveMemberName("client_id").has_value());
  EXPECT_FALSE(ResolveMemberName("").has_value());
  EXPECT_FALSE(ResolveMemberName("#en").has_value());
}

// --- Successful parses -----------------------------------------------------------------------------------------

TEST_F(JsonMappingTest, ParsesMinimalRequest) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(R"({"redirect_uris":["https://c.example/cb"]})"));
  EXPECT_THAT(metadata.redirect_uris().values(), ElementsAre("https://c.example/cb"));
  EXPECT_FALSE(metadata.has_grant_types());
  EXPECT_FALSE(metadata.has_token_endpoint_auth_method());
  EXPECT_FALSE(metadata.has_jwks());
}

TEST_F(JsonMappingTest, ParsesEveryField) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(R"({
    "application_type": "native",
    "software_version": "1.2.3",
    "software_id": "4NRB1-0XZABZI9E6-5SM3R",
    "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE"}]},
    "jwks_uri": "https://c.example/jwks.json",
    "policy_uri": "https://c.example/policy",
    "tos_uri": "https://c.example/tos",
    "contacts": ["ve7jtb@example.org", "mary@example.org"],
    "scope": "read write",
    "logo_uri": "https://c.example/logo.png",
    "client_uri": "https://c.example/",
    "client_name": "My Example Client",
    "response_types": ["code"],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
    "redirect_uris": ["https://c.example/cb", "https://c.example/cb2"]
  })"));
  EXPECT_THAT(metadata.redirect_uris().values(), ElementsAre("https://c.example/cb", "https://c.example/cb2"));
  EXPECT_EQ(metadata.token_endpoint_auth_method(), "client_secret_basic");
  EXPECT_THAT(metadata.grant_types().values(), ElementsAre("authorization_code", "refresh_token"));
  EXPECT_THAT(metadata.response_types().values(), ElementsAre("code"));
  EXPECT_EQ(metadata.client_name(), "My Example Client");
  EXPECT_EQ(metadata.client_uri(), "https://c.example/");
  EXPECT_EQ(metadata.logo_uri(), "https://c.example/logo.png");
  EXPECT_EQ(metadata.scope(), "read write");
  EXPECT_THAT(metadata.contacts().values(), ElementsAre("ve7jtb@example.org", "mary@example.org"));
  EXPECT_EQ(metadata.tos_uri(), "https://c.example/tos");
  EXPECT_EQ(metadata.policy_uri(), "https://c.example/policy");
  EXPECT_EQ(metadata.jwks_uri(), "https://c.example/jwks.json");
  ASSERT_TRUE(metadata.has_jwks());
  const google::protobuf::Value& key = metadata.jwks().fields().at("keys").list_value().values(0);
  EXPECT_EQ(key.struct_value().fields().at("kty").string_value(), "EC");
  EXPECT_EQ(metadata.software_id(), "4NRB1-0XZABZI9E6-5SM3R");
  EXPECT_EQ(metadata.software_version(), "1.2.3");
  EXPECT_EQ(metadata.application_type(), "native");
}

TEST_F(JsonMappingTest, EmptyArrayIsPresentAndEmpty) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata,
                       Parse(R"({"response_types":[],"grant_types":["client_credentials"]})"));
  EXPECT_TRUE(metadata.has_response_types());
  EXPECT_TRUE(metadata.response_types().values().empty());
  EXPECT_FALSE(metadata.has_redirect_uris());
}

TEST_F(JsonMappingTest, EmptyObjectAndEmptyJwks) {
  ASSERT_OK_AND_ASSIGN(ClientMetadata metadata, Parse("{}"));
  EXPECT_EQ(metadata.ByteSizeLong(), 0u);
  ASSERT_OK_AND_ASSIGN(metadata, Parse(R"({"jwks":{}})"));
  EXPECT_TRUE(metadata.has_jwks());
  EXPECT_TRUE(metadata.jwks().fields().empty());
}

// spec.md §8 [profile], checklist 37: `null` is treated as absent, for every row and for tagged variants.
TEST_F(JsonMappingTest, NullIsAbsent) {
  std::string body = "{";
  for (const MetadataField& field : MetadataFields()) {
    const std::string name(field.json_name);
    body += "\"" + name + "\":null,";
    if (field.localizable()) body += "\"" + name + "#en\":null,";
  }
  body += "\"software_statement\":null}";
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(body));
  EXPECT_EQ(metadata.ByteSizeLong(), 0u) << metadata.DebugString();

  ASSERT_OK_AND_ASSIGN(const ClientMetadata named, Parse(R"({"client_name":null,"redirect_uris":["https://a/cb"]})"));
  EXPECT_FALSE(named.has_client_name());
  EXPECT_EQ(named.redirect_uris().values_size(), 1);
}

// RFC 7591 §2, checklist 9 and 11: unknown members are dropped, whatever they hold, and members the server issues
// are never taken from the request.
TEST_F(JsonMappingTest, UnknownMembersAreDropped) {
  const std::string body = R"({
    "client_name": "kept",
    "example_extension_parameter": "x",
    "software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
    "client_id": "attacker-chosen",
    "client_secret": "attacker-chosen",
    "client_id_issued_at": 1,
    "client_secret_expires_at": 2,
    "registration_access_token": "t",
    "registration_client_uri": "https://evil.example/",
    "id_token_signed_response_alg": "RS256",
    "default_max_age": 3600,
    "foo#en": "bar",
    "redirect_uris#en": ["https://a/cb"],
    "Client_Name": 7,
    "x": {"deep": [1, {"y": null}], "z": 1.5e10},
    "nul\u0000name": true
  })";
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(body));
  ClientMetadata expected;
  expected.set_client_name("kept");
  EXPECT_EQ(metadata.SerializeAsString(), expected.SerializeAsString()) << metadata.DebugString();

  ASSERT_OK_AND_ASSIGN(const ParsedBody parsed, mapper_.Parse(body));
  EXPECT_EQ(parsed.unknown_members, 15);
  EXPECT_TRUE(parsed.extras.empty());
}

// RFC 7591 §2.2, checklist 6: tags are kept exactly as sent; their syntax is the server's check.
TEST_F(JsonMappingTest, LanguageTaggedVariants) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(R"({
    "client_name": "Client",
    "client_name#ja-Jpan-JP": "クライアント名",
    "client_name#en": "Client [en]",
    "client_name#EN": "upper",
    "client_name#": "empty tag",
    "client_name#!!": "bad tag",
    "logo_uri#fr": "https://c.example/logo-fr.png",
    "client_uri#de": "https://c.example/de",
    "tos_uri#a#b": "https://c.example/tos",
    "policy_uri#es-419": "https://c.example/es"
  })"));
  EXPECT_EQ(metadata.client_name(), "Client");
  EXPECT_THAT(metadata.client_name_localized(),
              UnorderedElementsAre(Pair("ja-Jpan-JP", "クライアント名"), Pair("en", "Client [en]"), Pair("EN", "upper"),
                                   Pair("", "empty tag"), Pair("!!", "bad tag")));
  EXPECT_THAT(metadata.logo_uri_localized(), UnorderedElementsAre(Pair("fr", "https://c.example/logo-fr.png")));
  EXPECT_FALSE(metadata.has_logo_uri());
  EXPECT_THAT(metadata.client_uri_localized(), UnorderedElementsAre(Pair("de", "https://c.example/de")));
  EXPECT_THAT(metadata.tos_uri_localized(), UnorderedElementsAre(Pair("a#b", "https://c.example/tos")));
  EXPECT_THAT(metadata.policy_uri_localized(), UnorderedElementsAre(Pair("es-419", "https://c.example/es")));
}

// NUL and other escapes are value questions for the server; the mapper copies the decoded bytes exactly.
TEST_F(JsonMappingTest, StringsAreCopiedExactly) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(R"({
    "client_name": "a\u0000b",
    "scope": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00",
    "software_id": "クライアント",
    "redirect_uris": ["https://c.example/cb\u0000x"]
  })"));
  EXPECT_EQ(metadata.client_name(), std::string("a\0b", 3));
  EXPECT_EQ(metadata.scope(), "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(metadata.software_id(), "\xe3\x82\xaf\xe3\x83\xa9\xe3\x82\xa4\xe3\x82\xa2\xe3\x83\xb3\xe3\x83\x88");
  EXPECT_EQ(metadata.redirect_uris().values(0), std::string("https://c.example/cb\0x", 22));
}

TEST_F(JsonMappingTest, JwksBecomesStruct) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, Parse(R"({"jwks": {
    "keys": [{"kty": "RSA", "e": "AQAB", "n": "0vx7", "use": "sig", "ext": true, "alg": null}],
    "int": 65537, "negative": -3, "fraction": 0.25, "exponent": 1e300,
    "big": 9007199254740993, "huge": 18446744073709551615,
    "nested": {"list": [[], {}, "s", false]}
  }})"));
  const auto& fields = metadata.jwks().fields();
  const auto& key = fields.at("keys").list_value().values(0).struct_value().fields();
  EXPECT_EQ(key.at("kty").string_value(), "RSA");
  EXPECT_EQ(key.at("e").string_value(), "AQAB");
  EXPECT_TRUE(key.at("ext").bool_value());
  EXPECT_EQ(key.at("alg").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(fields.at("int").number_value(), 65537.0);
  EXPECT_EQ(fields.at("negative").number_value(), -3.0);
  EXPECT_EQ(fields.at("fraction").number_value(), 0.25);
  EXPECT_EQ(fields.at("exponent").number_value(), 1e300);
  // Struct numbers are doubles: 2^53 + 1 rounds to 2^53 (documented in json_mapping.h).
  EXPECT_EQ(fields.at("big").number_value(), 9007199254740992.0);
  EXPECT_EQ(fields.at("huge").number_value(), 18446744073709551615.0);
  const auto& list = fields.at("nested").struct_value().fields().at("list").list_value();
  ASSERT_EQ(list.values_size(), 4);
  EXPECT_EQ(list.values(0).kind_case(), google::protobuf::Value::kListValue);
  EXPECT_EQ(list.values(1).kind_case(), google::protobuf::Value::kStructValue);
  EXPECT_EQ(list.values(2).string_value(), "s");
  EXPECT_FALSE(list.values(3).bool_value());
  EXPECT_EQ(list.values(3).kind_case(), google::protobuf::Value::kBoolValue);
}

TEST_F(JsonMappingTest, MapperIsReusableAndResultsOutliveTheNextParse) {
  ASSERT_OK_AND_ASSIGN(const ClientMetadata first, Parse(R"({"client_name":"first","jwks":{"k":"v"}})"));
  EXPECT_FALSE(Parse("{").ok());
  ASSERT_OK_AND_ASSIGN(const ClientMetadata second, Parse(R"({"client_name":"second-and-longer"})"));
  EXPECT_EQ(first.client_name(), "first");
  EXPECT_EQ(first.jwks().fields().at("k").string_value(), "v");
  EXPECT_EQ(second.client_name(), "second-and-longer");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK(Parse(R"({"scope":"s","redirect_uris":["https://a/cb"]})"));
  }
}

// --- Extra members for RFC 7592 PUT ----------------------------------------------------------------------------

TEST_F(JsonMappingTest, ReportsAskedForExtraMembers) {
  constexpr std::string_view kExtras[] = {"client_id", "client_secret", "registration_access_token",
                                          "registration_client_uri", "client_id_issued_at"};
  ASSERT_OK_AND_ASSIGN(const ParsedBody parsed, mapper_.Parse(R"({
    "client_id_issued_at": 17,
    "client_secret": null,
    "client_name": "n",
    "other": 1,
    "client_id": "s6BhdRkqt3\u0000"
  })",
                                                              kExtras));
  EXPECT_EQ(parsed.metadata.client_name(), "n");
  EXPECT_EQ(parsed.unknown_members, 1);
  ASSERT_EQ(parsed.extras.size(), 2u);
  EXPECT_EQ(parsed.extras[0].name, "client_id");
  EXPECT_EQ(parsed.extras[0].string_value, std::string("s6BhdRkqt3\0", 11));
  EXPECT_EQ(parsed.extras[1].name, "client_id_issued_at");
  EXPECT_FALSE(parsed.extras[1].string_value.has_value());
}

TEST_F(JsonMappingTest, TableNamesAreNeverExtras) {
  constexpr std::string_view kExtras[] = {"client_name"};
  ASSERT_OK_AND_ASSIGN(const ParsedBody parsed, mapper_.Parse(R"({"client_name":"n"})", kExtras));
  EXPECT_EQ(parsed.metadata.client_name(), "n");
  EXPECT_TRUE(parsed.extras.empty());
}

// --- invalid_request: the body is not one valid JSON object (spec.md §1.8, §8) --------------------------------

struct BadBody {
  std::string name;
  std::string body;
};

class InvalidRequestTest : public JsonMappingTest, public ::testing::WithParamInterface<BadBody> {};

TEST_P(InvalidRequestTest, IsInvalidRequest) {
  EXPECT_TRUE(IsRegistrationError(Parse(GetParam().body).status(), common::kInvalidRequest, ""));
}

INSTANTIATE_TEST_SUITE_P(
    BodyIsNotOneJsonObject, InvalidRequestTest,
    ::testing::Values(
        // Checklist 44: malformed, trailing data, empty or whitespace.
        BadBody{"MissingValue", R"({"client_name":})"}, BadBody{"TrailingComma", R"({"client_name":"a",})"},
        BadBody{"SingleQuotes", R"({'client_name':'a'})"}, BadBody{"UnquotedName", R"({client_name:"a"})"},
        BadBody{"Unclosed", R"({"client_name":"a")"}, BadBody{"UnclosedString", R"({"client_name":"a)"},
        BadBody{"UnclosedArray", R"({"redirect_uris":["a")"}, BadBody{"TrailingGarbage", R"({"a":1} x)"},
        BadBody{"TrailingBrace", R"({"a":1}})"}, BadBody{"TwoObjects", R"({}{})"}, BadBody{"Empty", ""},
        BadBody{"Whitespace", " \t\r\n "}, BadBody{"LeadingZero", R"({"a":01})"}, BadBody{"NaN", R"({"a":NaN})"},
        BadBody{"BadLiteral", R"({"a":tru})"}, BadBody{"NumberTooLarge", R"({"a":1e400})"},
        BadBody{"IntegerBeyond64Bits", R"({"a":18446744073709551616})"}, BadBody{"BadEscape", R"({"a":"\x"})"},
        BadBody{"RawControlCharacter", "{\"a\":\"x\ty\"}"}, BadBody{"RawNewlineInName", "{\"a\nb\":1}"},
        BadBody{"Comment", "{/* c */}"},
        // Checklist 45: a root that is not an object.
        BadBody{"RootArray", "[]"}, BadBody{"RootNull", "null"}, BadBody{"RootNumber", "1"},
        BadBody{"RootString", R"("x")"}, BadBody{"RootTrue", "true"},
        BadBody{"RootArrayOfObject", R"([{"client_name":"a"}])"},
        // Checklist 47: invalid UTF-8 and unpaired surrogates.
        BadBody{"InvalidUtf8InValue", "{\"client_name\":\"\xff\"}"},
        BadBody{"TruncatedUtf8", "{\"client_name\":\"\xe3\x82\"}"},
        BadBody{"OverlongUtf8", "{\"client_name\":\"\xc0\xaf\"}"},
        BadBody{"EncodedSurrogateUtf8", "{\"client_name\":\"\xed\xa0\x80\"}"},
        BadBody{"InvalidUtf8InName", "{\"\xfe\":1}"}, BadBody{"InvalidUtf8InUnknownMember", "{\"x\":[\"\x80\"]}"},
        BadBody{"LoneHighSurrogate", R"({"client_name":"\ud800"})"},
        BadBody{"HighSurrogateThenLetter", R"({"client_name":"\ud800\u0041"})"},
        BadBody{"LoneLowSurrogate", R"({"client_name":"\udc00"})"},
        // Checklist 49: 10,000 nested arrays, at the root and inside a member.
        BadBody{"TenThousandNestedArrays", Nested(10000, "")},
        BadBody{"TenThousandNestedArraysInMember", "{\"x\":" + Nested(10000, "1") + "}"},
        BadBody{"TenThousandUnclosedArrays", std::string(10000, '[')}),
    [](const ::testing::TestParamInfo<BadBody>& info) { return info.param.name; });

TEST_F(JsonMappingTest, HundredThousandNestedArraysAreRefusedWithoutCrashing) {
  // Over the 64 KiB body limit, so refused before parsing; the HTTP layer answers 413 earlier still.
  EXPECT_TRUE(IsRegistrationError(Parse(Nested(100000, "")).status(), common::kInvalidRequest, ""));
  EXPECT_TRUE(IsRegistrationError(Parse("{\"jwks\":" + Nested(30000, "") + "}").status(), common::kInvalidRequest, ""));
}

TEST_F(JsonMappingTest, BodyOverLimitIsInvalidRequest) {
  clientreg::config::v1::HttpLimits limits = common::DefaultHttpLimits();
  limits.set_max_body_bytes(32);
  JsonMapper mapper(limits);
  const std::string fits = R"({"client_name":"0123456789abcd"})";
  ASSERT_EQ(fits.size(), 32u);
  EXPECT_OK(mapper.ParseClientMetadata(fits));
  EXPECT_TRUE(IsRegistrationError(mapper.ParseClientMetadata(R"({"client_name":"0123456789abcde"})").status(),
                                  common::kInvalidRequest, ""));
}

// max_json_depth counts objects and arrays, the root object being level 1, whether or not the innermost one is
// empty.
TEST_F(JsonMappingTest, DepthLimitIsExact) {
  clientreg::config::v1::HttpLimits limits = common::DefaultHttpLimits();
  limits.set_max_json_depth(4);
  JsonMapper mapper(limits);
  EXPECT_OK(mapper.ParseClientMetadata(R"({"x":[[[]]]})"));
  EXPECT_OK(mapper.ParseClientMetadata(R"({"x":[[[1]]]})"));
  EXPECT_OK(mapper.ParseClientMetadata(R"({"jwks":{"keys":[{"kty":"EC"}]}})"));
  EXPECT_TRUE(
      IsRegistrationError(mapper.ParseClientMetadata(R"({"x":[[[[]]]]})").status(), common::kInvalidRequest, ""));
  EXPECT_TRUE(
      IsRegistrationError(mapper.ParseClientMetadata(R"({"x":[[[["deep"]]]]})").status(), common::kInvalidRequest, ""));
  EXPECT_TRUE(IsRegistrationError(mapper.ParseClientMetadata(R"({"jwks":{"keys":[{"kty":{}}]}})").status(),
                                  common::kInvalidRequest, ""));
}

// jwks becomes a google.protobuf.Struct, about three protobuf levels per JSON level: past kMaxStructNestingDepth
// it is invalid_client_metadata on the member, not a call the server cannot parse.
TEST_F(JsonMappingTest, JwksNestingIsCappedBelowProtobufsLimit) {
  const auto jwks = [](int arrays) {
    return R"({"jwks":{"keys":[{"kty":"EC","x":)" + Nested(arrays, "1") + "}]}}";  // depth 3 + arrays
  };
  EXPECT_OK(Parse(jwks(static_cast<int>(common::kMaxStructNestingDepth) - 3)));
  EXPECT_TRUE(IsRegistrationError(Parse(jwks(static_cast<int>(common::kMaxStructNestingDepth) - 2)).status(),
                                  common::kInvalidClientMetadata, "jwks"));
  EXPECT_TRUE(IsRegistrationError(Parse(jwks(40)).status(), common::kInvalidClientMetadata, "jwks"));
}

TEST_F(JsonMappingTest, DefaultDepthIs64) {
  EXPECT_OK(Parse("{\"x\":" + Nested(63, "1") + "}"));
  EXPECT_OK(Parse("{\"x\":" + Nested(63, "") + "}"));
  EXPECT_FALSE(Parse("{\"x\":" + Nested(64, "") + "}").ok());
  EXPECT_FALSE(Parse("{\"x\":" + Nested(64, "1") + "}").ok());
  // Unset limits take the documented defaults.
  JsonMapper defaults{clientreg::config::v1::HttpLimits()};
  EXPECT_OK(defaults.ParseClientMetadata("{\"x\":" + Nested(63, "") + "}"));
  EXPECT_FALSE(defaults.ParseClientMetadata("{\"x\":" + Nested(64, "") + "}").ok());
}

// Checklist 50, at every depth.
TEST_F(JsonMappingTest, DuplicateMemberNames) {
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"client_name":"a","client_name":"b"})").status(), common::kInvalidRequest,
                                  "client_name"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"client_name":"a","client_name":null})").status(), common::kInvalidRequest,
                                  "client_name"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"client_name#en":"a","client_name#en":"b"})").status(),
                                  common::kInvalidRequest, "client_name#en"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"unknown":1,"unknown":1})").status(), common::kInvalidRequest, "unknown"));
  EXPECT_TRUE(
      IsRegistrationError(Parse(R"({"jwks":{"keys":[{"kty":"RSA","n":"a"},{"kty":"RSA","kty":"EC"}]}})").status(),
                          common::kInvalidRequest, "jwks.keys[1].kty"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"x":{"y":[1,{"a\u0000":1,"a\u0000":2}]}})").status(),
                                  common::kInvalidRequest, std::string("x.y[1].a\0", 9)));
  // The member that first repeats an earlier name, in document order.
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"b":1,"a":1,"a":2,"b":2})").status(), common::kInvalidRequest, "a"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"a":1,"b":1,"b":2,"a":2})").status(), common::kInvalidRequest, "b"));
  // Names differing in case or escape spelling: distinct, and equal once decoded.
  EXPECT_OK(Parse(R"({"client_name":"a","Client_name":"b"})"));
  EXPECT_TRUE(
      IsRegistrationError(Parse(R"({"scope":"a","\u0073cope":"b"})").status(), common::kInvalidRequest, "scope"));
}

TEST_F(JsonMappingTest, BodyErrorsComeBeforeKindErrors) {
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"redirect_uris":"x","z":{"a":1,"a":2}})").status(), common::kInvalidRequest,
                                  "z.a"));
}

// --- Wrong JSON kinds (spec.md §6 step 1, §8; checklist 19, 36, 37) -----------------------------------------

struct WrongKind {
  std::string name;
  std::string body;
  std::string error;
  std::string field;
};

class WrongKindTest : public JsonMappingTest, public ::testing::WithParamInterface<WrongKind> {};

TEST_P(WrongKindTest, NamesTheMember) {
  EXPECT_TRUE(IsRegistrationError(Parse(GetParam().body).status(), GetParam().error, GetParam().field));
}

INSTANTIATE_TEST_SUITE_P(
    KindChecks, WrongKindTest,
    ::testing::Values(
        WrongKind{"RedirectUrisString", R"({"redirect_uris":"https://c.example/cb"})", common::kInvalidRedirectUri,
                  "redirect_uris"},
        WrongKind{"RedirectUrisNumber", R"({"redirect_uris":1})", common::kInvalidRedirectUri, "redirect_uris"},
        WrongKind{"RedirectUrisObject", R"({"redirect_uris":{"0":"https://a/cb"}})", common::kInvalidRedirectUri,
                  "redirect_uris"},
        WrongKind{"RedirectUrisBool", R"({"redirect_uris":true})", common::kInvalidRedirectUri, "redirect_uris"},
        WrongKind{"RedirectUriElementNumber", R"({"redirect_uris":["https://a/cb",1]})", common::kInvalidRedirectUri,
                  "redirect_uris[1]"},
        WrongKind{"RedirectUriElementNull", R"({"redirect_uris":[null]})", common::kInvalidRedirectUri,
                  "redirect_uris[0]"},
        WrongKind{"RedirectUriElementArray", R"({"redirect_uris":["a","b",["c"]]})", common::kInvalidRedirectUri,
                  "redirect_uris[2]"},
        WrongKind{"AuthMethodArray", R"({"token_endpoint_auth_method":["none"]})", common::kInvalidClientMetadata,
                  "token_endpoint_auth_method"},
        WrongKind{"GrantTypesString", R"({"grant_types":"authorization_code"})", common::kInvalidClientMetadata,
                  "grant_types"},
        WrongKind{"GrantTypeElementObject", R"({"grant_types":[{}]})", common::kInvalidClientMetadata,
                  "grant_types[0]"},
        WrongKind{"ResponseTypesNumber", R"({"response_types":0})", common::kInvalidClientMetadata, "response_types"},
        WrongKind{"ClientNameNumber", R"({"client_name":42})", common::kInvalidClientMetadata, "client_name"},
        WrongKind{"ClientNameFalse", R"({"client_name":false})", common::kInvalidClientMetadata, "client_name"},
        WrongKind{"ClientUriObject", R"({"client_uri":{}})", common::kInvalidClientMetadata, "client_uri"},
        WrongKind{"LogoUriArray", R"({"logo_uri":[]})", common::kInvalidClientMetadata, "logo_uri"},
        WrongKind{"ScopeArray", R"({"scope":["read","write"]})", common::kInvalidClientMetadata, "scope"},
        WrongKind{"ContactsString", R"({"contacts":"a@example.org"})", common::kInvalidClientMetadata, "contacts"},
        WrongKind{"ContactElementNumber", R"({"contacts":["a@example.org",7]})", common::kInvalidClientMetadata,
                  "contacts[1]"},
        WrongKind{"TosUriNumber", R"({"tos_uri":1.5})", common::kInvalidClientMetadata, "tos_uri"},
        WrongKind{"PolicyUriTrue", R"({"policy_uri":true})", common::kInvalidClientMetadata, "policy_uri"},
        WrongKind{"JwksUriObject", R"({"jwks_uri":{"keys":[]}})", common::kInvalidClientMetadata, "jwks_uri"},
        WrongKind{"JwksString", R"({"jwks":"{\"keys\":[]}"})", common::kInvalidClientMetadata, "jwks"},
        WrongKind{"JwksArray", R"({"jwks":[{"kty":"EC"}]})", common::kInvalidClientMetadata, "jwks"},
        WrongKind{"SoftwareIdNumber", R"({"software_id":123})", common::kInvalidClientMetadata, "software_id"},
        WrongKind{"SoftwareVersionNumber", R"({"software_version":1.0})", common::kInvalidClientMetadata,
                  "software_version"},
        WrongKind{"ApplicationTypeArray", R"({"application_type":["web"]})", common::kInvalidClientMetadata,
                  "application_type"},
        WrongKind{"TaggedNameNumber", R"({"client_name#ja-Jpan-JP":1})", common::kInvalidClientMetadata,
                  "client_name#ja-Jpan-JP"},
        WrongKind{"TaggedLogoArray", R"({"logo_uri#fr":["x"]})", common::kInvalidClientMetadata, "logo_uri#fr"},
        WrongKind{"TaggedNonAsciiTag", "{\"tos_uri#\xe6\x97\xa5\":{}}", common::kInvalidClientMetadata,
                  "tos_uri#\xe6\x97\xa5"}),
    [](const ::testing::TestParamInfo<WrongKind>& info) { return info.param.name; });

// spec.md §10: the first wrong kind in field-table order wins, whatever the document order.
TEST_F(JsonMappingTest, KindErrorsFollowTableOrder) {
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"client_name":1,"redirect_uris":"x"})").status(),
                                  common::kInvalidRedirectUri, "redirect_uris"));
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"application_type":1,"scope":[],"grant_types":"x"})").status(),
                                  common::kInvalidClientMetadata, "grant_types"));
  EXPECT_TRUE(
      IsRegistrationError(Parse(R"({"jwks":[],"contacts":{}})").status(), common::kInvalidClientMetadata, "contacts"));
  // Within a row the plain member comes before its variants.
  EXPECT_TRUE(IsRegistrationError(Parse(R"({"client_name#en":1,"client_name":2})").status(),
                                  common::kInvalidClientMetadata, "client_name"));
  // Unknown members never produce kind errors.
  EXPECT_OK(Parse(R"({"client_name#":"x","foo#en":1,"redirect_uris#en":{}})"));
}

TEST_F(JsonMappingTest, DescriptionsOfHostileNamesStayAscii) {
  const std::string long_tag(5000, 'x');
  EXPECT_TRUE(IsRegistrationError(Parse("{\"client_name#" + long_tag + "\":1}").status(),
                                  common::kInvalidClientMetadata, "client_name#" + long_tag));
  EXPECT_TRUE(IsRegistrationError(Parse("{\"\\u0001\xe3\x82\xaf\":1,\"\\u0001\xe3\x82\xaf\":2}").status(),
                                  common::kInvalidRequest, "\x01\xe3\x82\xaf"));
}

}  // namespace
}  // namespace clientreg::common
