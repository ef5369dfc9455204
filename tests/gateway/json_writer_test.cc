#include "gateway/json_writer.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "clientreg/v1/metadata.pb.h"
#include "common/json_mapping.h"
#include "common/limits.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/status_matchers.h"

namespace clientreg::gateway {
namespace {

using clientreg::v1::ClientInformation;
using clientreg::v1::ClientMetadata;
using common::JsonMapper;
using common::ParsedBody;

// The writer's output must be one RFC 8259 object; simdjson's DOM parser validates all of it.
::testing::AssertionResult IsJsonObject(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const simdjson::error_code error = parser.parse(json).get(root); error) {
    return ::testing::AssertionFailure() << simdjson::error_message(error) << " in " << json;
  }
  if (!root.is_object()) return ::testing::AssertionFailure() << "not an object: " << json;
  return ::testing::AssertionSuccess();
}

ClientInformation Minimal() {
  ClientInformation info;
  info.set_client_id("s6BhdRkqt3");
  info.set_client_id_issued_at(1700000000);
  return info;
}

TEST(JsonWriterTest, MinimalInformation) {
  EXPECT_EQ(WriteClientInformation(Minimal()), R"({"client_id":"s6BhdRkqt3","client_id_issued_at":1700000000})");
}

TEST(JsonWriterTest, IssuedMembersInOrderWithIntegers) {
  ClientInformation info = Minimal();
  info.set_client_secret("cf136dc3c1fc93f31185e5885805d");
  info.set_client_secret_expires_at(0);
  info.set_registration_client_uri("https://server.example.com/oauth/register/s6BhdRkqt3");
  info.set_registration_access_token("reg-23410913-abewfq.123483");
  EXPECT_EQ(WriteClientInformation(info),
            R"({"client_id":"s6BhdRkqt3","client_secret":"cf136dc3c1fc93f31185e5885805d",)"
            R"("client_id_issued_at":1700000000,"client_secret_expires_at":0,)"
            R"("registration_client_uri":"https://server.example.com/oauth/register/s6BhdRkqt3",)"
            R"("registration_access_token":"reg-23410913-abewfq.123483"})");

  info.set_client_id_issued_at(std::numeric_limits<std::int64_t>::max());
  info.set_client_secret_expires_at(std::numeric_limits<std::int64_t>::min());
  const std::string json = WriteClientInformation(info);
  EXPECT_NE(json.find(R"("client_id_issued_at":9223372036854775807,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("client_secret_expires_at":-9223372036854775808,)"), std::string::npos) << json;
  EXPECT_TRUE(IsJsonObject(json));
}

TEST(JsonWriterTest, GetResponseWithoutSecret) {
  ClientInformation info = Minimal();
  info.set_client_secret_expires_at(1800000000);
  info.set_registration_access_token("rat");
  EXPECT_EQ(WriteClientInformation(info),
            R"({"client_id":"s6BhdRkqt3","client_id_issued_at":1700000000,"client_secret_expires_at":1800000000,)"
            R"("registration_access_token":"rat"})");
}

TEST(JsonWriterTest, MetadataInTableOrderAbsentStaysAbsentEmptyListIsBrackets) {
  ClientInformation info = Minimal();
  ClientMetadata& metadata = *info.mutable_metadata();
  metadata.set_application_type("web");
  metadata.mutable_response_types();
  metadata.mutable_grant_types()->add_values("client_credentials");
  metadata.set_client_name("");
  metadata.set_token_endpoint_auth_method("client_secret_post");
  EXPECT_EQ(WriteClientInformation(info),
            R"({"client_id":"s6BhdRkqt3","client_id_issued_at":1700000000,)"
            R"("token_endpoint_auth_method":"client_secret_post","grant_types":["client_credentials"],)"
            R"("response_types":[],"client_name":"","application_type":"web"})");
}

TEST(JsonWriterTest, LocalizedVariantsFollowTheirMemberSortedByTag) {
  ClientInformation info = Minimal();
  ClientMetadata& metadata = *info.mutable_metadata();
  (*metadata.mutable_client_name_localized())["ja-Jpan-JP"] = "クライアント名";
  (*metadata.mutable_client_name_localized())["en"] = "Client";
  (*metadata.mutable_client_name_localized())[""] = "untagged-ish";
  metadata.set_client_name("Plain");
  (*metadata.mutable_logo_uri_localized())["fr"] = "https://c.example/fr.png";
  metadata.set_scope("s");
  EXPECT_EQ(WriteClientInformation(info),
            R"({"client_id":"s6BhdRkqt3","client_id_issued_at":1700000000,"client_name":"Plain",)"
            R"("client_name#":"untagged-ish","client_name#en":"Client","client_name#ja-Jpan-JP":"クライアント名",)"
            R"("logo_uri#fr":"https://c.example/fr.png","scope":"s"})");
}

TEST(JsonWriterTest, EscapesStringsAndCopiesNonAscii) {
  ClientInformation info;
  info.set_client_id("id\"\\");
  ClientMetadata& metadata = *info.mutable_metadata();
  metadata.set_client_name(std::string("a\0b\x01\x1f\b\f\n\r\t\"\\/ \x7f", 15));
  metadata.set_software_id("クライアント");
  metadata.mutable_contacts()->add_values("\"quoted\"");
  (*metadata.mutable_tos_uri_localized())["q\"\n"] = "v";
  const std::string json = WriteClientInformation(info);
  EXPECT_EQ(json,
            "{\"client_id\":\"id\\\"\\\\\",\"client_id_issued_at\":0,"
            "\"client_name\":\"a\\u0000b\\u0001\\u001f\\u0008\\u000c\\n\\r\\t\\\"\\\\/ \x7f\","
            "\"contacts\":[\"\\\"quoted\\\"\"],\"tos_uri#q\\\"\\n\":\"v\","
            "\"software_id\":\"\xe3\x82\xaf\xe3\x83\xa9\xe3\x82\xa4\xe3\x82\xa2\xe3\x83\xb3\xe3\x83\x88\"}");
  EXPECT_TRUE(IsJsonObject(json));
}

TEST(JsonWriterTest, JwksNumbersKeysAndNesting) {
  ClientInformation info;
  info.set_client_id("c");
  auto& fields = *info.mutable_metadata()->mutable_jwks()->mutable_fields();
  auto& key = *fields["keys"].mutable_list_value()->add_values()->mutable_struct_value()->mutable_fields();
  key["kty"].set_string_value("RSA");
  key["e"].set_string_value("AQAB");
  key["use"].set_null_value(google::protobuf::NULL_VALUE);
  key["ext"].set_bool_value(true);
  fields["int"].set_number_value(65537);
  fields["negative"].set_number_value(-3);
  fields["zero"].set_number_value(0);
  fields["fraction"].set_number_value(0.1);
  fields["third"].set_number_value(1.0 / 3.0);
  fields["exponent"].set_number_value(1e300);
  fields["tiny"].set_number_value(5e-324);
  fields["two53"].set_number_value(9007199254740992.0);
  fields["nan"].set_number_value(std::nan(""));
  fields["inf"].set_number_value(std::numeric_limits<double>::infinity());
  fields["unset"];
  fields["q\"uote"].set_string_value("\x01");
  fields["empty"].mutable_struct_value();
  fields["list"].mutable_list_value()->add_values()->set_bool_value(false);
  fields["list"].mutable_list_value()->add_values()->mutable_list_value();
  const std::string json = WriteClientInformation(info);
  EXPECT_EQ(json, R"({"client_id":"c","client_id_issued_at":0,"jwks":{"empty":{},"exponent":1e+300,)"
                  R"("fraction":0.1,"inf":null,"int":65537,"keys":[{"e":"AQAB","ext":true,"kty":"RSA","use":null}],)"
                  R"("list":[false,[]],"nan":null,"negative":-3,"q\"uote":"\u0001",)"
                  R"("third":0.3333333333333333,"tiny":5e-324,"two53":9007199254740992,"unset":null,"zero":0}})");
  EXPECT_TRUE(IsJsonObject(json));
}

TEST(JsonWriterTest, JwksNumbersReadBackExactly) {
  JsonMapper mapper(common::DefaultHttpLimits());
  for (const double value : {0.1, 1.0 / 3.0, -2.5e-8, 1e300, 123456789012.5, 4503599627370497.0, -0.5,
                             std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()}) {
    ClientInformation info;
    (*info.mutable_metadata()->mutable_jwks()->mutable_fields())["n"].set_number_value(value);
    const std::string json = WriteClientInformation(info);
    ASSERT_OK_AND_ASSIGN(const ClientMetadata parsed, mapper.ParseClientMetadata(json));
    EXPECT_EQ(parsed.jwks().fields().at("n").number_value(), value) << json;
  }
}

// Checklist 5 and 6: parse a full request, write it as the response, parse the response: the same metadata.
TEST(JsonWriterTest, RoundTripParseWriteParse) {
  const std::string request = R"({
    "redirect_uris": ["https://c.example/cb", "http://127.0.0.1:8080/cb"],
    "token_endpoint_auth_method": "private_key_jwt",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "クライアント \"quoted\" \\ \u0000 \u001f",
    "client_name#ja-Jpan-JP": "クライアント名",
    "client_name#en": "Client",
    "client_uri": "https://c.example/",
    "client_uri#de": "https://c.example/de",
    "logo_uri": "https://c.example/logo.png",
    "scope": "openid profile",
    "contacts": [],
    "tos_uri": "https://c.example/tos",
    "policy_uri#fr": "https://c.example/fr",
    "jwks": {"keys": [{"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQ", "kid": "k1", "x5c": ["MIIC"],
                       "size": 2048, "ratio": 0.75, "ok": true, "none": null, "nested": {"a": [[], {}]}}]},
    "software_id": "4NRB1-0XZABZI9E6-5SM3R",
    "software_version": "2.0",
    "application_type": "native",
    "ignored": "dropped"
  })";
  JsonMapper mapper(common::DefaultHttpLimits());
  ASSERT_OK_AND_ASSIGN(const ClientMetadata metadata, mapper.ParseClientMetadata(request));

  ClientInformation info;
  *info.mutable_metadata() = metadata;
  info.set_client_id("s6BhdRkqt3");
  info.set_client_secret("secret");
  info.set_client_id_issued_at(1700000000);
  info.set_client_secret_expires_at(0);
  info.set_registration_client_uri("https://as.example/oauth/register/s6BhdRkqt3");
  info.set_registration_access_token("rat");
  const std::string response = WriteClientInformation(info);
  ASSERT_TRUE(IsJsonObject(response));

  constexpr std::string_view kIssued[] = {"client_id", "client_secret", "registration_client_uri",
                                          "registration_access_token"};
  ASSERT_OK_AND_ASSIGN(const ParsedBody reparsed, mapper.Parse(response, kIssued));
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  EXPECT_TRUE(differencer.Compare(metadata, reparsed.metadata)) << difference;
  // client_id_issued_at and client_secret_expires_at are the only members outside the table and the asked list.
  EXPECT_EQ(reparsed.unknown_members, 2);
  ASSERT_EQ(reparsed.extras.size(), 4u);
  EXPECT_EQ(reparsed.extras[0].string_value, "s6BhdRkqt3");
  EXPECT_EQ(reparsed.extras[1].string_value, "secret");

  // And writing the re-parsed metadata again gives the same bytes.
  ClientInformation again = info;
  *again.mutable_metadata() = reparsed.metadata;
  EXPECT_EQ(WriteClientInformation(again), response);
}

}  // namespace
}  // namespace clientreg::gateway
