#include "server/metadata_validator.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"
#include "common/registration_error.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "server/language_tag.h"
#include "server/registration_policy.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

using clientreg::config::v1::MetadataLimits;
using clientreg::config::v1::RegistrationPolicy;
using clientreg::v1::ClientMetadata;
using clientreg::v1::StringList;
using google::protobuf::RepeatedPtrField;

using common::InvalidClientMetadata;
using common::InvalidRedirectUri;

// InvalidClientMetadata or InvalidRedirectUri.
using ErrorFactory = absl::Status (*)(const std::string& field, const std::string& description);

constexpr size_t kMaxQuotedChars = 200;

// error_description stays within RFC 6749 §5.2's NQSCHAR (%x20-21 / %x23-5B / %x5D-7E). Values are quoted in single
// quotes, so those are escaped too; every escaped byte becomes %XX, which keeps non-ASCII input ASCII. Long values
// are cut at kMaxQuotedChars characters and marked with "...".
std::string Escape(std::string_view value) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    std::string piece;
    if (byte >= 0x20 && byte <= 0x7E && c != '"' && c != '\\' && c != '\'') {
      piece.assign(1, c);
    } else {
      piece = {'%', kHex[byte >> 4], kHex[byte & 0xF]};
    }
    if (out.size() + piece.size() > kMaxQuotedChars) {
      out += "...";
      break;
    }
    out += piece;
  }
  return out;
}

std::string Quote(std::string_view value) { return "'" + Escape(value) + "'"; }

// "<field>: <problem>"
absl::Status FieldError(ErrorFactory error, const std::string& field, const std::string& problem) {
  return error(field, Escape(field) + ": " + problem);
}

// "<field> '<value>': <problem>"
absl::Status ValueError(ErrorFactory error, const std::string& field, std::string_view value,
                        const std::string& problem) {
  return error(field, Escape(field) + " " + Quote(value) + ": " + problem);
}

std::string TooLong(uint32_t max_bytes) { return absl::StrCat("is longer than ", max_bytes, " bytes"); }

std::string IndexedField(const char* name, int index) { return absl::StrCat(name, "[", index, "]"); }

bool Contains(const RepeatedPtrField<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Why `text` cannot be shown as text, or "" if it can: it must be UTF-8 (RFC 3629: no overlong forms, surrogates or
// code points past U+10FFFF) without control characters (Unicode Cc: C0, DEL, C1) or bidirectional embeddings,
// overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can hide or rearrange what a consent screen shows
// ("Trojan Source", CVE-2021-42574). NUL is a C0 control.
std::string TextProblem(std::string_view text) {
  constexpr char kNotUtf8[] = "is not valid UTF-8";
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    uint32_t code_point = 0;
    size_t length = 0;
    if (lead < 0x80) {
      code_point = lead;
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      code_point = lead & 0x1F;
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      code_point = lead & 0x0F;
      length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      code_point = lead & 0x07;
      length = 4;
    } else {
      return kNotUtf8;
    }
    if (i + length > text.size()) return kNotUtf8;
    for (size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation & 0xC0) != 0x80) return kNotUtf8;
      code_point = (code_point << 6) | (continuation & 0x3F);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return kNotUtf8;
    }
    if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) return "contains a control character";
    if ((code_point >= 0x202A && code_point <= 0x202E) || (code_point >= 0x2066 && code_point <= 0x2069)) {
      return "contains a bidirectional control character (U+202A-U+202E, U+2066-U+2069), which can disguise how "
             "the text is shown";
    }
    i += length;
  }
  return "";
}

// client_name, software_id and software_version: any text within max_string_bytes, the empty string included.
absl::Status CheckText(const MetadataLimits& limits, const std::string& field, const std::string& value) {
  if (value.size() > limits.max_string_bytes()) {
    return ValueError(InvalidClientMetadata, field, value, TooLong(limits.max_string_bytes()));
  }
  if (const std::string problem = TextProblem(value); !problem.empty()) {
    return ValueError(InvalidClientMetadata, field, value, problem);
  }
  return absl::OkStatus();
}

// A URI member other than redirect_uris: non-empty, within max_uri_bytes, and accepted by `check`.
absl::Status CheckUriMember(const MetadataLimits& limits, const std::string& field, const std::string& value,
                            absl::Status (*check)(std::string_view)) {
  if (value.empty()) return FieldError(InvalidClientMetadata, field, "must not be empty");
  if (value.size() > limits.max_uri_bytes()) {
    return ValueError(InvalidClientMetadata, field, value, TooLong(limits.max_uri_bytes()));
  }
  if (const absl::Status status = check(value); !status.ok()) {
    return ValueError(InvalidClientMetadata, field, value, std::string(status.message()));
  }
  return absl::OkStatus();
}

using ValueCheck = std::function<absl::Status(const std::string& field, const std::string& value)>;

// The language-tagged variants of `name` (RFC 7591 §2.2, spec.md §1.5): at most max_language_variants, each tag a
// well-formed BCP 47 tag not equal to another ignoring case, each value passing the field's own `check`. A protobuf
// map has no order, so the tags are visited in byte order to make "the first fault" deterministic.
absl::Status CheckVariants(const MetadataLimits& limits, const std::string& name,
                           const google::protobuf::Map<std::string, std::string>& variants, const ValueCheck& check) {
  if (variants.size() > limits.max_language_variants()) {
    return FieldError(InvalidClientMetadata, name,
                      absl::StrCat("has ", variants.size(), " language-tagged variants; at most ",
                                   limits.max_language_variants(), " are allowed"));
  }
  std::vector<std::string> tags;
  for (const auto& entry : variants) tags.push_back(entry.first);
  std::sort(tags.begin(), tags.end());
  std::set<std::string> seen;
  for (const std::string& tag : tags) {
    const std::string field = name + "#" + tag;
    if (!IsWellFormedLanguageTag(tag)) {
      return ValueError(InvalidClientMetadata, field, tag,
                        "is not a well-formed BCP 47 language tag (RFC 5646 Section 2.1)");
    }
    if (!seen.insert(absl::AsciiStrToLower(tag)).second) {
      return ValueError(InvalidClientMetadata, field, tag,
                        "duplicates the tag of another variant; tags are compared ignoring case (RFC 5646 Section "
                        "2.1.1)");
    }
    RETURN_IF_ERROR(check(field, variants.at(tag)));
  }
  return absl::OkStatus();
}

// spec.md §10: native when any redirect URI is a private-use scheme (only a native client can own one), or when
// there is at least one and each is loopback http; web otherwise (https alone, or no redirect URI).
std::string InferApplicationType(const std::vector<RedirectUriKind>& kinds) {
  const auto is = [](RedirectUriKind wanted) { return [wanted](RedirectUriKind kind) { return kind == wanted; }; };
  const bool native = std::any_of(kinds.begin(), kinds.end(), is(RedirectUriKind::kPrivateUse)) ||
                      (!kinds.empty() && std::all_of(kinds.begin(), kinds.end(), is(RedirectUriKind::kLoopbackHttp)));
  return native ? "native" : "web";
}

// spec.md §6 steps 1-6: the count, each URI in order (and not twice), then the application_type "web" rule. Returns
// each URI's kind.
absl::StatusOr<std::vector<RedirectUriKind>> CheckRedirectUris(const MetadataLimits& limits,
                                                               const RegistrationPolicy& policy,
                                                               const ClientMetadata& requested) {
  const PrivateUseSchemes private_use =
      policy.require_reverse_domain_schemes() ? PrivateUseSchemes::kReverseDomainOnly : PrivateUseSchemes::kAny;
  std::vector<RedirectUriKind> kinds;
  const RepeatedPtrField<std::string>& uris = requested.redirect_uris().values();
  if (static_cast<size_t>(uris.size()) > limits.max_redirect_uris()) {
    return FieldError(InvalidRedirectUri, "redirect_uris",
                      absl::StrCat("has ", uris.size(), " URIs; at most ", limits.max_redirect_uris(), " are allowed"));
  }
  for (int i = 0; i < uris.size(); ++i) {
    const std::string field = IndexedField("redirect_uris", i);
    const std::string& uri = uris[i];
    if (uri.empty()) return FieldError(InvalidRedirectUri, field, "must not be empty");
    if (uri.size() > limits.max_redirect_uri_bytes()) {
      return ValueError(InvalidRedirectUri, field, uri, TooLong(limits.max_redirect_uri_bytes()));
    }
    const absl::StatusOr<RedirectUriKind> kind = ClassifyRedirectUri(uri, private_use);
    if (!kind.ok()) return ValueError(InvalidRedirectUri, field, uri, std::string(kind.status().message()));
    // The authorization server compares byte for byte (RFC 3986 §6.2.1), so only an identical URI is a repeat.
    if (const auto earlier = std::find(uris.begin(), uris.begin() + i, uri); earlier != uris.begin() + i) {
      return ValueError(
          InvalidRedirectUri, field, uri,
          "is the same URI as " + IndexedField("redirect_uris", earlier - uris.begin()) + "; register each URI once");
    }
    kinds.push_back(*kind);
  }
  // OpenID Connect Registration §2, spec.md §6 step 5: native clients own private-use schemes, so a client that says
  // it is web may not register one. An inferred type is never web with one (InferApplicationType).
  if (requested.has_application_type() && requested.application_type() == "web") {
    for (int i = 0; i < uris.size(); ++i) {
      if (kinds[i] == RedirectUriKind::kPrivateUse) {
        return ValueError(InvalidRedirectUri, IndexedField("redirect_uris", i), uris[i],
                          "a private-use scheme is allowed only for native clients, and application_type is 'web' "
                          "(OpenID Connect Registration Section 2)");
      }
    }
  }
  return kinds;
}

absl::Status CheckAuthMethod(const RegistrationPolicy& policy, const std::string& method) {
  if (Contains(policy.allowed_token_endpoint_auth_methods(), method)) return absl::OkStatus();
  // client_secret_jwt needs the secret in the clear to check the HMAC; clientreg stores only a keyed digest.
  const std::string problem =
      method == "client_secret_jwt"
          ? "is not supported: the server keeps only a digest of the client secret, so it cannot verify an HMAC"
          : "is not a supported method; allowed: " + absl::StrJoin(policy.allowed_token_endpoint_auth_methods(), ", ");
  return ValueError(InvalidClientMetadata, "token_endpoint_auth_method", method, problem);
}

absl::Status CheckGrantTypes(const MetadataLimits& limits, const RegistrationPolicy& policy,
                             const RepeatedPtrField<std::string>& grants) {
  if (grants.empty()) {
    return FieldError(InvalidClientMetadata, "grant_types", "must not be empty; omit it to get the default");
  }
  if (static_cast<size_t>(grants.size()) > limits.max_type_entries()) {
    return FieldError(
        InvalidClientMetadata, "grant_types",
        absl::StrCat("has ", grants.size(), " entries; at most ", limits.max_type_entries(), " are allowed"));
  }
  for (int i = 0; i < grants.size(); ++i) {
    const std::string field = IndexedField("grant_types", i);
    const std::string& grant = grants[i];
    if (grant == "password") {
      return ValueError(InvalidClientMetadata, field, grant,
                        "the resource owner password credentials grant must not be used (RFC 9700 Section 2.4)");
    }
    if (grant == "implicit") {
      return ValueError(InvalidClientMetadata, field, grant,
                        "the implicit grant is not supported (RFC 9700 Section 2.1.2; OAuth 2.1 removes it)");
    }
    if (!Contains(policy.allowed_grant_types(), grant)) {
      return ValueError(InvalidClientMetadata, field, grant,
                        "is not a supported grant type; allowed: " + absl::StrJoin(policy.allowed_grant_types(), ", "));
    }
    if (std::find(grants.begin(), grants.begin() + i, grant) != grants.begin() + i) {
      return ValueError(InvalidClientMetadata, field, grant, "is listed twice");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckResponseTypes(const MetadataLimits& limits, const RepeatedPtrField<std::string>& responses) {
  if (static_cast<size_t>(responses.size()) > limits.max_type_entries()) {
    return FieldError(
        InvalidClientMetadata, "response_types",
        absl::StrCat("has ", responses.size(), " entries; at most ", limits.max_type_entries(), " are allowed"));
  }
  for (int i = 0; i < responses.size(); ++i) {
    const std::string field = IndexedField("response_types", i);
    const std::string& response = responses[i];
    if (response == "token") {
      return ValueError(InvalidClientMetadata, field, response,
                        "the implicit response type is not supported (RFC 9700 Section 2.1.2)");
    }
    // Only `code` is supported, so combinations such as `code id_token` (in any word order) are refused whole.
    if (response != "code") {
      return ValueError(InvalidClientMetadata, field, response, "is not a supported response type; only 'code' is");
    }
    if (std::find(responses.begin(), responses.begin() + i, response) != responses.begin() + i) {
      return ValueError(InvalidClientMetadata, field, response, "is listed twice");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckScope(const MetadataLimits& limits, const RegistrationPolicy& policy, const std::string& scope) {
  if (scope.size() > limits.max_scope_bytes()) {
    return ValueError(InvalidClientMetadata, "scope", scope, TooLong(limits.max_scope_bytes()));
  }
  if (!IsValidScope(scope)) {
    return ValueError(InvalidClientMetadata, "scope", scope,
                      "must be scope tokens of printable ASCII other than double quote and backslash, separated by "
                      "single spaces (RFC 6749 Section 3.3)");
  }
  const std::vector<absl::string_view> tokens = absl::StrSplit(scope, ' ');
  if (tokens.size() > limits.max_scope_tokens()) {
    return ValueError(
        InvalidClientMetadata, "scope", scope,
        absl::StrCat("has ", tokens.size(), " tokens; at most ", limits.max_scope_tokens(), " are allowed"));
  }
  if (policy.scope_allowlist().empty()) return absl::OkStatus();
  // No silent narrowing (spec.md §10): one token outside the allowlist refuses the request and is named.
  for (const absl::string_view token : tokens) {
    const std::string_view view(token.data(), token.size());
    if (!Contains(policy.scope_allowlist(), view)) {
      return FieldError(InvalidClientMetadata, "scope",
                        "the scope token " + Quote(view) + " is not allowed by this server");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckContacts(const MetadataLimits& limits, const RepeatedPtrField<std::string>& contacts) {
  if (static_cast<size_t>(contacts.size()) > limits.max_contacts()) {
    return FieldError(
        InvalidClientMetadata, "contacts",
        absl::StrCat("has ", contacts.size(), " entries; at most ", limits.max_contacts(), " are allowed"));
  }
  for (int i = 0; i < contacts.size(); ++i) {
    const std::string field = IndexedField("contacts", i);
    const std::string& contact = contacts[i];
    if (contact.empty()) return FieldError(InvalidClientMetadata, field, "must not be empty");
    if (contact.size() > limits.max_contact_bytes()) {
      return ValueError(InvalidClientMetadata, field, contact, TooLong(limits.max_contact_bytes()));
    }
    if (const std::string problem = TextProblem(contact); !problem.empty()) {
      return ValueError(InvalidClientMetadata, field, contact, problem);
    }
  }
  return absl::OkStatus();
}

// RFC 7517 §5: a JWK Set is an object whose `keys` array holds JWKs, each with a string `kty` (§4.1). spec.md §1.3:
// only public keys, so no symmetric key and none of the private members of RFC 7518 §6.2.2 (EC), §6.3.2 (RSA) and
// §6.4.1 (oct); OKP keys (RFC 8037) use `d` too.
// Nesting depth: an object or array is 1 + its deepest member; a scalar adds nothing.
std::uint32_t NestingDepth(const google::protobuf::Value& value);
std::uint32_t NestingDepth(const google::protobuf::Struct& object) {
  std::uint32_t deepest = 0;
  for (const auto& [name, child] : object.fields()) deepest = std::max(deepest, NestingDepth(child));
  return deepest + 1;
}
std::uint32_t NestingDepth(const google::protobuf::Value& value) {
  if (value.has_struct_value()) return NestingDepth(value.struct_value());
  if (!value.has_list_value()) return 0;
  std::uint32_t deepest = 0;
  for (const auto& child : value.list_value().values()) deepest = std::max(deepest, NestingDepth(child));
  return deepest + 1;
}

absl::Status CheckJwks(const MetadataLimits& limits, const google::protobuf::Struct& jwks) {
  // A direct gRPC caller is not held to the gateway's JSON depth: the record must stay parseable when read back.
  if (NestingDepth(jwks) > common::kMaxStructNestingDepth) {
    return FieldError(InvalidClientMetadata, "jwks",
                      absl::StrCat("is nested deeper than ", common::kMaxStructNestingDepth, " levels"));
  }
  // The size is that of the Struct's protobuf encoding, which stands in for the JSON text: both spend a few bytes
  // of framing per member around the same names and strings, and JWKs are mostly base64url strings.
  if (jwks.ByteSizeLong() > limits.max_jwks_bytes()) {
    return FieldError(InvalidClientMetadata, "jwks",
                      absl::StrCat("is larger than ", limits.max_jwks_bytes(), " bytes"));
  }
  const auto keys = jwks.fields().find("keys");
  if (keys == jwks.fields().end() || !keys->second.has_list_value()) {
    return FieldError(InvalidClientMetadata, "jwks",
                      "must be a JWK Set: an object with a 'keys' array (RFC 7517 Section 5)");
  }
  const auto& list = keys->second.list_value().values();
  if (list.empty()) return FieldError(InvalidClientMetadata, "jwks.keys", "must hold at least one key");
  if (static_cast<size_t>(list.size()) > limits.max_jwks_keys()) {
    return FieldError(InvalidClientMetadata, "jwks.keys",
                      absl::StrCat("has ", list.size(), " keys; at most ", limits.max_jwks_keys(), " are allowed"));
  }
  for (int i = 0; i < list.size(); ++i) {
    const std::string field = absl::StrCat("jwks.keys[", i, "]");
    if (!list[i].has_struct_value()) {
      return FieldError(InvalidClientMetadata, field, "must be a JSON object (RFC 7517 Section 4)");
    }
    const auto& members = list[i].struct_value().fields();
    const auto kty = members.find("kty");
    if (kty == members.end() || !kty->second.has_string_value() || kty->second.string_value().empty()) {
      return FieldError(InvalidClientMetadata, field + ".kty", "must be a non-empty string (RFC 7517 Section 4.1)");
    }
    if (kty->second.string_value() == "oct") {
      return ValueError(InvalidClientMetadata, field + ".kty", "oct",
                        "symmetric keys are refused; jwks holds public keys only");
    }
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      if (members.count(member) != 0) {
        return FieldError(InvalidClientMetadata, field + "." + member,
                          "is a private key member; jwks must hold public keys only (RFC 7518 Section 6)");
      }
    }
  }
  return absl::OkStatus();
}

// The checks across fields, on the metadata with its defaults applied (spec.md §1.4, §10).
absl::Status CheckAcrossFields(const ClientMetadata& metadata) {
  if (metadata.has_jwks() && metadata.has_jwks_uri()) {
    return FieldError(InvalidClientMetadata, "jwks", "jwks and jwks_uri must not both be present (RFC 7591 Section 2)");
  }
  const std::string& method = metadata.token_endpoint_auth_method();
  if (method == "private_key_jwt" && !metadata.has_jwks() && !metadata.has_jwks_uri()) {
    return ValueError(InvalidClientMetadata, "token_endpoint_auth_method", method,
                      "needs the client's public keys in jwks or jwks_uri");
  }
  const RepeatedPtrField<std::string>& grants = metadata.grant_types().values();
  const bool code_grant = Contains(grants, kAuthorizationCodeGrant);
  const bool code_response = Contains(metadata.response_types().values(), "code");
  // RFC 7591 §2.1: each grant type registered with the response type it needs, and the reverse.
  if (code_grant && !code_response) {
    return FieldError(InvalidClientMetadata, "response_types",
                      "the grant type 'authorization_code' must be registered with the response type 'code' (RFC "
                      "7591 Section 2.1)");
  }
  if (!code_grant && code_response) {
    return FieldError(InvalidClientMetadata, "response_types",
                      "the response type 'code' needs the grant type 'authorization_code' (RFC 7591 Section 2.1)");
  }
  // spec.md §10: refresh tokens come with an authorization code or a device code here, never on their own.
  if (Contains(grants, kRefreshTokenGrant) && !code_grant && !Contains(grants, kDeviceCodeGrant)) {
    return FieldError(InvalidClientMetadata, "grant_types",
                      "'refresh_token' needs 'authorization_code' or the device_code grant beside it: refresh tokens "
                      "are issued only with those here");
  }
  if (Contains(grants, kClientCredentialsGrant) && method == "none") {
    return FieldError(InvalidClientMetadata, "grant_types",
                      "'client_credentials' is for confidential clients only, and token_endpoint_auth_method is "
                      "'none' (RFC 6749 Section 4.4)");
  }
  if (code_grant && metadata.redirect_uris().values().empty()) {
    return FieldError(InvalidRedirectUri, "redirect_uris",
                      "the grant type 'authorization_code' needs at least one redirect URI (RFC 6749 Section "
                      "3.1.2.2)");
  }
  return absl::OkStatus();
}

}  // namespace

MetadataValidator::MetadataValidator(MetadataLimits limits, RegistrationPolicy policy)
    : limits_(std::move(limits)), policy_(std::move(policy)) {}

absl::StatusOr<ClientMetadata> MetadataValidator::Validate(const ClientMetadata& requested) const {
  ClientMetadata result = requested;

  ASSIGN_OR_RETURN(const std::vector<RedirectUriKind> kinds, CheckRedirectUris(limits_, policy_, requested));
  if (requested.has_application_type()) {
    const std::string& type = requested.application_type();
    if (type != "web" && type != "native") {
      return ValueError(InvalidClientMetadata, "application_type", type, "must be 'web' or 'native'");
    }
  } else {
    result.set_application_type(InferApplicationType(kinds));
  }

  if (requested.has_token_endpoint_auth_method()) {
    RETURN_IF_ERROR(CheckAuthMethod(policy_, requested.token_endpoint_auth_method()));
  } else {
    result.set_token_endpoint_auth_method(policy_.default_token_endpoint_auth_method());
  }

  if (requested.has_grant_types()) {
    RETURN_IF_ERROR(CheckGrantTypes(limits_, policy_, requested.grant_types().values()));
  } else {
    *result.mutable_grant_types()->mutable_values() = policy_.default_grant_types();
  }

  if (requested.has_response_types()) {
    RETURN_IF_ERROR(CheckResponseTypes(limits_, requested.response_types().values()));
  } else {
    StringList* responses = result.mutable_response_types();
    if (Contains(result.grant_types().values(), kAuthorizationCodeGrant)) responses->add_values("code");
  }

  const ValueCheck text = [this](const std::string& field, const std::string& value) {
    return CheckText(limits_, field, value);
  };
  const ValueCheck web_url = [this](const std::string& field, const std::string& value) {
    return CheckUriMember(limits_, field, value, CheckWebUrl);
  };
  // Each field of spec.md §1.3's table in order, its language-tagged variants right after it.
  if (requested.has_client_name()) RETURN_IF_ERROR(text("client_name", requested.client_name()));
  RETURN_IF_ERROR(CheckVariants(limits_, "client_name", requested.client_name_localized(), text));
  if (requested.has_client_uri()) RETURN_IF_ERROR(web_url("client_uri", requested.client_uri()));
  RETURN_IF_ERROR(CheckVariants(limits_, "client_uri", requested.client_uri_localized(), web_url));
  if (requested.has_logo_uri()) RETURN_IF_ERROR(web_url("logo_uri", requested.logo_uri()));
  RETURN_IF_ERROR(CheckVariants(limits_, "logo_uri", requested.logo_uri_localized(), web_url));
  // spec.md §10: agents that discovered no scopes send "scope": "", which means no scope, like an absent one.
  if (requested.has_scope() && !requested.scope().empty()) {
    RETURN_IF_ERROR(CheckScope(limits_, policy_, requested.scope()));
  } else if (policy_.has_default_scope()) {
    result.set_scope(policy_.default_scope());
  } else {
    result.clear_scope();
  }
  if (requested.has_contacts()) RETURN_IF_ERROR(CheckContacts(limits_, requested.contacts().values()));
  if (requested.has_tos_uri()) RETURN_IF_ERROR(web_url("tos_uri", requested.tos_uri()));
  RETURN_IF_ERROR(CheckVariants(limits_, "tos_uri", requested.tos_uri_localized(), web_url));
  if (requested.has_policy_uri()) RETURN_IF_ERROR(web_url("policy_uri", requested.policy_uri()));
  RETURN_IF_ERROR(CheckVariants(limits_, "policy_uri", requested.policy_uri_localized(), web_url));
  if (requested.has_jwks_uri()) {
    RETURN_IF_ERROR(CheckUriMember(limits_, "jwks_uri", requested.jwks_uri(), CheckJwksUri));
  }
  if (requested.has_jwks()) RETURN_IF_ERROR(CheckJwks(limits_, requested.jwks()));
  if (requested.has_software_id()) RETURN_IF_ERROR(text("software_id", requested.software_id()));
  if (requested.has_software_version()) RETURN_IF_ERROR(text("software_version", requested.software_version()));

  RETURN_IF_ERROR(CheckAcrossFields(result));
  return result;
}

}  // namespace clientreg::server
