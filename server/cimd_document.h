#ifndef CLIENTREG_SERVER_CIMD_DOCUMENT_H_
#define CLIENTREG_SERVER_CIMD_DOCUMENT_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "clientreg/v1/metadata.pb.h"
#include "common/json_mapping.h"
#include "server/metadata_validator.h"

namespace clientreg::server {

// Reads a Client ID Metadata Document fetched from `url` into the client's effective metadata (CIMD §4.1, MCP
// 2025-11-25):
// - one JSON object, parsed by `mapper` (the gateway's parser; built with max_body_bytes = cimd.max_document_bytes);
// - `client_id` a string equal to `url` byte for byte (RFC 3986 §6.2.1 simple comparison);
// - `client_name` and a non-empty `redirect_uris` present;
// - no `client_secret`, no `client_secret_expires_at`, and no shared-secret token_endpoint_auth_method
//   (client_secret_basic, client_secret_post, client_secret_jwt): there is no secret to share. An absent method is
//   "none" (a public client), not RFC 7591's client_secret_basic default; private_key_jwt with jwks or jwks_uri
//   passes;
// - then every member through `validator`, as a registration, so the same redirect and metadata policy holds.
// INVALID_ARGUMENT otherwise, naming the member at fault and the OAuth error code, never a value from the document.
[[nodiscard]] absl::StatusOr<clientreg::v1::ClientMetadata> ReadCimdDocument(std::string_view body,
                                                                             std::string_view url,
                                                                             common::JsonMapper& mapper,
                                                                             const MetadataValidator& validator);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CIMD_DOCUMENT_H_
