#include "server/client_information.h"

#include "absl/strings/str_cat.h"

namespace clientreg::server {

std::string RegistrationClientUri(std::string_view issuer, std::string_view client_id) {
  // Debian's absl::string_view is not std::string_view: convert explicitly.
  return absl::StrCat(absl::string_view(issuer.data(), issuer.size()), "/oauth/register/",
                      absl::string_view(client_id.data(), client_id.size()));
}

clientreg::v1::ClientInformation ToClientInformation(const clientreg::v1::StoredClient& client,
                                                     std::string_view issuer) {
  clientreg::v1::ClientInformation info;
  *info.mutable_metadata() = client.metadata();
  info.set_client_id(client.client_id());
  info.set_client_id_issued_at(client.client_id_issued_at());
  // spec.md §10: client_secret_expires_at is present exactly when the client holds a secret.
  if (!client.client_secret_digest().empty()) info.set_client_secret_expires_at(client.client_secret_expires_at());
  info.set_registration_client_uri(RegistrationClientUri(issuer, client.client_id()));
  return info;
}

}  // namespace clientreg::server
