#ifndef CLIENTREG_GATEWAY_JSON_WRITER_H_
#define CLIENTREG_GATEWAY_JSON_WRITER_H_

#include <string>

#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/registration.pb.h"

namespace clientreg::gateway {

// The client information response body (RFC 7591 §3.2.1, RFC 7592 §3): one JSON object (RFC 8259) with, in order,
// `client_id`, `client_secret` (if set), `client_id_issued_at` (a JSON integer), `client_secret_expires_at` (a JSON
// integer, if set), `registration_client_uri` and `registration_access_token` (each if set), then every set
// metadata member in field-table order (metadata_fields.h). An unset field is absent; an empty StringList prints
// `[]`; each language-tagged variant follows its plain member as `name#tag`, tags in byte order. `jwks` is printed
// from its Struct, members in byte order, integral numbers below 2^53 in magnitude as integers, other numbers in
// the shortest form that reads back to the same double, and a NaN or infinity (which no JSON input yields) as
// null. Strings are escaped per RFC 8259 §7 and copied byte for byte otherwise; they must be valid UTF-8, as every
// proto3 string is.
std::string WriteClientInformation(const clientreg::v1::ClientInformation& info);

// The two discovery documents served from the same ServerMetadata.
enum class DiscoveryDocument {
  // RFC 8414 §2: issuer, the endpoints, jwks_uri and the *_supported lists of what registration accepts.
  kOAuthAuthorizationServer,
  // OpenID Connect Discovery §3: the same plus subject_types_supported and id_token_signing_alg_values_supported.
  kOpenIdConfiguration,
};

// A discovery document: one JSON object whose `issuer` is copied byte for byte (RFC 8414 §3.3). Empty strings and
// lists are omitted, since RFC 8414 §3.2 says claims with zero elements MUST be.
std::string WriteServerMetadata(const clientreg::v1::ServerMetadata& metadata, DiscoveryDocument document);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_JSON_WRITER_H_
