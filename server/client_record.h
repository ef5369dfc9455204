#ifndef CLIENTREG_SERVER_CLIENT_RECORD_H_
#define CLIENTREG_SERVER_CLIENT_RECORD_H_

#include <cstdint>

#include "clientreg/v1/admin.pb.h"
#include "clientreg/v1/stored.pb.h"

namespace clientreg::server {

// The operator's view of `stored`: every field but the digests (client secret, previous client secret,
// registration access token), with `has_client_secret` saying whether a secret digest is stored. `last_used_at`
// is the later of `stored.last_used_at()` and `last_used_at`, so callers can merge in the separately recorded value.
// The one place where ClientAuthentication and ClientAdmin build a ClientRecord.
clientreg::v1::ClientRecord MakeClientRecord(const clientreg::v1::StoredClient& stored, int64_t last_used_at);

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_RECORD_H_
