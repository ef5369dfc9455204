#include "server/client_record.h"

#include <algorithm>

namespace clientreg::server {

clientreg::v1::ClientRecord MakeClientRecord(const clientreg::v1::StoredClient& stored, int64_t last_used_at) {
  clientreg::v1::ClientRecord record;
  record.set_client_id(stored.client_id());
  *record.mutable_metadata() = stored.metadata();
  record.set_client_id_issued_at(stored.client_id_issued_at());
  record.set_updated_at(stored.updated_at());
  record.set_last_used_at(std::max(stored.last_used_at(), last_used_at));
  record.set_state(stored.state());
  record.set_origin(stored.origin());
  const bool has_secret = !stored.client_secret_digest().empty();
  record.set_has_client_secret(has_secret);
  // A public client's stored expiry is meaningless; 0 keeps operators from reading it as a deadline.
  record.set_client_secret_expires_at(has_secret ? stored.client_secret_expires_at() : 0);
  record.set_version(stored.version());
  record.set_initial_access_token_id(stored.initial_access_token_id());
  record.set_initial_access_token_label(stored.initial_access_token_label());
  return record;
}

}  // namespace clientreg::server
