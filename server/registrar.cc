#include "server/registrar.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "server/client_information.h"
#include "server/credentials.h"

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

Registrar::Options RegistrarOptions(const clientreg::config::v1::ServerConfig& config, std::string server_key) {
  Registrar::Options options;
  options.server_key = std::move(server_key);
  options.client_secret_lifetime_seconds = config.registration().client_secret_lifetime_seconds();
  options.issuer = config.issuer();
  return options;
}

Registrar::Registrar(storage::ClientStore* store, const common::Clock* clock, MetadataValidator validator,
                     Options options)
    : store_(store), clock_(clock), validator_(std::move(validator)), options_(std::move(options)) {}

// A validated registration with its credentials, waiting for its durable write. Only the digests are in `stored`.
struct Registrar::Pending {
  clientreg::v1::StoredClient stored;
  std::string client_secret;
  std::string registration_access_token;
  // The use of a stored initial access token that the client's write consumes.
  std::optional<storage::InitialAccessTokenUse> token_use;
};

absl::StatusOr<clientreg::v1::ClientInformation> Registrar::Register(const clientreg::v1::ClientMetadata& requested,
                                                                     const TokenGrant& grant) const {
  absl::StatusOr<clientreg::v1::ClientInformation> result;
  absl::Notification finished;
  RegisterAsync(requested, grant, [&](absl::StatusOr<clientreg::v1::ClientInformation> info) {
    result = std::move(info);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

void Registrar::RegisterAsync(const clientreg::v1::ClientMetadata& requested, const TokenGrant& grant,
                              RegisterDone done) const {
  absl::StatusOr<clientreg::v1::ClientMetadata> metadata = validator_.Validate(requested);
  if (!metadata.ok()) return done(metadata.status());
  if (grant.authenticated) {
    // RFC 7591 §5: the whole request counts, the token included; its policy narrows what the metadata may ask for.
    if (const absl::Status within = CheckTokenPolicy(grant.policy, requested, *metadata); !within.ok()) {
      return done(within);
    }
  }

  auto pending = std::make_shared<Pending>();
  clientreg::v1::StoredClient& stored = pending->stored;
  const int64_t now = clock_->NowSeconds();
  stored.set_client_id_issued_at(now);
  stored.set_updated_at(now);
  stored.set_state(clientreg::v1::StoredClient::STATE_ACTIVE);
  stored.set_origin(clientreg::v1::StoredClient::ORIGIN_DYNAMIC);
  stored.set_version(1);
  if (grant.authenticated) {
    // The label tells operators who invited the client; the token itself never reaches the record.
    stored.set_initial_access_token_id(grant.token_id);
    stored.set_initial_access_token_label(grant.label);
    if (grant.counted) pending->token_use = storage::InitialAccessTokenUse{grant.token_id, now};
  }

  if (UsesClientSecret(metadata->token_endpoint_auth_method())) {
    absl::StatusOr<IssuedCredential> secret = IssueCredential(options_.server_key);
    if (!secret.ok()) return done(secret.status());
    stored.set_client_secret_digest(std::move(secret->digest));
    stored.set_client_secret_expires_at(SecretExpiresAt(now, options_.client_secret_lifetime_seconds));
    pending->client_secret = std::move(secret->plaintext);
  }
  // RFC 7592 §3 and OIDC Registration §3.2: the token and the configuration URL are returned together, always.
  absl::StatusOr<IssuedCredential> token = IssueCredential(options_.server_key);
  if (!token.ok()) return done(token.status());
  stored.set_registration_access_token_digest(std::move(token->digest));
  pending->registration_access_token = std::move(token->plaintext);
  *stored.mutable_metadata() = *std::move(metadata);
  Store(std::move(pending), 0, std::move(done));
}

void Registrar::Store(std::shared_ptr<Pending> pending, int attempt, RegisterDone done) const {
  absl::StatusOr<std::string> client_id = NewClientId();
  if (!client_id.ok()) return done(client_id.status());
  pending->stored.set_client_id(*std::move(client_id));
  // `pending` is shared with the callback, which runs after CreateAsync has copied the record.
  clientreg::v1::StoredClient& stored = pending->stored;
  const std::optional<storage::InitialAccessTokenUse> token_use = pending->token_use;
  store_->CreateAsync(
      stored, token_use,
      [this, pending = std::move(pending), attempt, done = std::move(done)](absl::Status written) mutable {
        if (absl::IsAlreadyExists(written) && attempt + 1 < kMaxIdAttempts) {
          return Store(std::move(pending), attempt + 1, std::move(done));
        }
        // Overload, not a fault: the store refused before writing. One error line per refused request would only
        // add to the load (the gateway answers 503 with Retry-After either way).
        if (absl::IsResourceExhausted(written)) return done(absl::ResourceExhaustedError("the service is overloaded"));
        // The token ran out (or was revoked or expired) between the check and the write: the same 401 as a token
        // that was never valid (spec.md §1.2, no oracle).
        if (absl::IsFailedPrecondition(written) && pending->token_use.has_value()) {
          return done(InvalidInitialAccessToken());
        }
        if (!written.ok()) {
          common::Log(common::LogLevel::kError, "register_write_failed", {{"error", std::string(written.message())}});
          // Whatever the store said, the client was not registered: the caller may retry (503, never 201).
          return done(absl::UnavailableError("the registration could not be stored"));
        }
        clientreg::v1::ClientInformation info = ToClientInformation(pending->stored, options_.issuer);
        if (!pending->client_secret.empty()) info.set_client_secret(std::move(pending->client_secret));
        info.set_registration_access_token(std::move(pending->registration_access_token));
        common::Log(common::LogLevel::kInfo, "client_registered", {{"client_id", pending->stored.client_id()}});
        done(std::move(info));
      });
}

}  // namespace clientreg::server
