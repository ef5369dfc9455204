#include "server/registrar.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/status_macros.h"

namespace clientreg::server {
namespace {

// 128 random bits: ids are unguessable and collide with probability ~2^-64 even at 2^32 clients.
constexpr std::size_t kClientIdBytes = 16;
// A collision is practically impossible; a retry bound keeps a broken CSPRNG from looping forever.
constexpr int kMaxIdAttempts = 3;

// Lowercase hex: URL-safe, case-stable, and never starting with "https://" (CIMD §6.9) or with "-" (CLI flags).
absl::StatusOr<std::string> NewClientId() {
  ASSIGN_OR_RETURN(const std::string bytes, common::RandomBytes(kClientIdBytes));
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

}  // namespace

bool UsesClientSecret(const std::string& token_endpoint_auth_method) {
  return token_endpoint_auth_method == "client_secret_basic" || token_endpoint_auth_method == "client_secret_post";
}

Registrar::Registrar(storage::ClientStore* store, const common::Clock* clock, MetadataValidator validator,
                     Options options)
    : store_(store), clock_(clock), validator_(std::move(validator)), options_(std::move(options)) {}

absl::StatusOr<clientreg::v1::ClientInformation> Registrar::Register(
    const clientreg::v1::ClientMetadata& requested) const {
  ASSIGN_OR_RETURN(clientreg::v1::ClientMetadata metadata, validator_.Validate(requested));

  const int64_t now = clock_->NowSeconds();
  clientreg::v1::StoredClient stored;
  stored.set_client_id_issued_at(now);
  stored.set_updated_at(now);
  stored.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
  stored.set_origin(clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
  stored.set_version(1);

  clientreg::v1::ClientInformation info;
  if (UsesClientSecret(metadata.token_endpoint_auth_method())) {
    ASSIGN_OR_RETURN(const std::string secret, common::RandomToken());
    ASSIGN_OR_RETURN(const std::string digest, common::HmacSha256(options_.server_key, secret));
    stored.set_client_secret_digest(digest);
    const int64_t expires_at =
        options_.client_secret_lifetime_seconds > 0 ? now + options_.client_secret_lifetime_seconds : 0;
    stored.set_client_secret_expires_at(expires_at);
    info.set_client_secret(secret);
    info.set_client_secret_expires_at(expires_at);
  }
  *stored.mutable_metadata() = metadata;

  absl::Status written;
  for (int attempt = 0; attempt < kMaxIdAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::string client_id, NewClientId());
    stored.set_client_id(client_id);
    written = store_->Create(stored);
    if (!absl::IsAlreadyExists(written)) break;
  }
  if (!written.ok()) {
    common::Log(common::LogLevel::kError, "register_write_failed", {{"error", std::string(written.message())}});
    // Whatever the store said, the client was not registered: the caller may retry (503, never 201).
    return absl::UnavailableError("the registration could not be stored");
  }

  info.set_client_id(stored.client_id());
  info.set_client_id_issued_at(now);
  *info.mutable_metadata() = std::move(metadata);
  common::Log(common::LogLevel::kInfo, "client_registered", {{"client_id", stored.client_id()}});
  return info;
}

}  // namespace clientreg::server
