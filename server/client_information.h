#ifndef CLIENTREG_SERVER_CLIENT_INFORMATION_H_
#define CLIENTREG_SERVER_CLIENT_INFORMATION_H_

#include <string>
#include <string_view>

#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/stored.pb.h"

namespace clientreg::server {

// The client configuration endpoint of `client_id` (spec.md §2.1): `{issuer}/oauth/register/{client_id}`.
std::string RegistrationClientUri(std::string_view issuer, std::string_view client_id);

// The client information response (RFC 7591 §3.2.1, RFC 7592 §3) for `client` without any plaintext credential:
// metadata, client_id, client_id_issued_at, client_secret_expires_at exactly when the client holds a secret, and
// registration_client_uri. The caller adds client_secret and registration_access_token where it has them.
clientreg::v1::ClientInformation ToClientInformation(const clientreg::v1::StoredClient& client,
                                                     std::string_view issuer);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_INFORMATION_H_
