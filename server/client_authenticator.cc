#include "server/client_authenticator.h"

#include <utility>

#include "common/logging.h"
#include "common/registration_error.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "server/client_record.h"
#include "server/credentials.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::StoredClient;

// Client ids are short; a longer one is only echoed into the log up to this many bytes.
constexpr std::size_t kMaxLoggedClientIdBytes = 64;

// One answer for every refusal, so that a caller learns nothing about which check failed (RFC 6749 §5.2 asks only
// for invalid_client; spec.md §7 asks that existence not leak).
absl::Status AuthenticationFailed() {
  return common::RegistrationErrorStatus(absl::StatusCode::kUnauthenticated, common::kInvalidClient, "",
                                         "client authentication failed");
}

std::string_view Loggable(std::string_view client_id) { return client_id.substr(0, kMaxLoggedClientIdBytes); }

}  // namespace

absl::StatusOr<std::unique_ptr<ClientAuthenticator>> ClientAuthenticator::Create(storage::ClientStore* store,
                                                                                 const common::Clock* clock,
                                                                                 Options options) {
  std::unique_ptr<LastUseRecorder> own_last_use;
  if (options.last_use == nullptr) {
    ASSIGN_OR_RETURN(own_last_use, LastUseRecorder::Create(store, options.flush_interval));
  }
  ASSIGN_OR_RETURN(const std::string decoy_secret, common::RandomBytes(common::kTokenBytes));
  // A digest under the real key, so that comparing with it costs exactly what comparing with a real one does.
  ASSIGN_OR_RETURN(std::string decoy_digest, common::HmacSha256(options.server_key, decoy_secret));
  return std::unique_ptr<ClientAuthenticator>(
      new ClientAuthenticator(store, clock, std::move(options), std::move(decoy_digest), std::move(own_last_use)));
}

ClientAuthenticator::ClientAuthenticator(storage::ClientStore* store, const common::Clock* clock, Options options,
                                         std::string decoy_digest, std::unique_ptr<LastUseRecorder> own_last_use)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      decoy_digest_(std::move(decoy_digest)),
      own_last_use_(std::move(own_last_use)),
      last_use_(own_last_use_ != nullptr ? own_last_use_.get() : options_.last_use) {}

ClientAuthenticator::~ClientAuthenticator() = default;

absl::StatusOr<clientreg::v1::ClientRecord> ClientAuthenticator::Authenticate(std::string_view client_id,
                                                                              std::string_view client_secret) {
  const int64_t now = clock_->NowSeconds();
  ASSIGN_OR_RETURN(const std::string digest, common::HmacSha256(options_.server_key, client_secret));

  absl::StatusOr<StoredClient> stored =
      client_id.empty() ? absl::NotFoundError("empty client_id") : store_->Get(client_id);
  if (!stored.ok() && !absl::IsNotFound(stored.status())) {
    common::Log(common::LogLevel::kError, "client_authentication_read_failed",
                {{"client_id", Loggable(client_id)}, {"error", std::string(stored.status().message())}});
    Count("error");
    return absl::UnavailableError("client authentication is unavailable");
  }
  const bool known = stored.ok();

  // Both comparisons run on every call, against the decoy where there is no live digest, so that the time taken
  // does not tell an unknown client, a public client or an expired rotation overlap from a wrong secret.
  const bool has_current = known && !stored->client_secret_digest().empty();
  const bool current_matches =
      common::ConstantTimeEquals(digest, has_current ? stored->client_secret_digest() : decoy_digest_) && has_current;
  const bool has_previous =
      known && !stored->previous_client_secret_digest().empty() && now < stored->previous_client_secret_valid_until();
  const bool previous_matches =
      common::ConstantTimeEquals(digest, has_previous ? stored->previous_client_secret_digest() : decoy_digest_) &&
      has_previous;

  const char* refusal = nullptr;
  if (!known) {
    refusal = "unknown_client";
  } else if (stored->state() != StoredClient::STATE_ACTIVE) {
    refusal = "client_disabled";
  } else if (!UsesClientSecret(stored->metadata().token_endpoint_auth_method()) || !has_current) {
    refusal = "client_without_secret";
  } else if (current_matches) {
    const int64_t expires_at = stored->client_secret_expires_at();
    if (expires_at != 0 && expires_at <= now) refusal = "secret_expired";
  } else if (!previous_matches) {
    refusal = "wrong_secret";
  }
  if (refusal != nullptr) {
    // The reason goes to the operator's log only, never to the caller.
    common::Log(common::LogLevel::kInfo, "client_authentication_failed",
                {{"client_id", Loggable(client_id)}, {"reason", refusal}});
    Count(std::string_view(refusal) == "client_disabled" ? "disabled" : "invalid");
    return AuthenticationFailed();
  }

  last_use_->Record(stored->client_id(), now);
  Count("ok");
  return MakeClientRecord(*stored, now);
}

void ClientAuthenticator::Count(std::string_view outcome) const {
  if (options_.metrics != nullptr) options_.metrics->client_authentications.WithLabels({outcome}).Increment();
}

}  // namespace clientreg::server
