#ifndef CLIENTREG_SERVER_INITIAL_ACCESS_TOKENS_H_
#define CLIENTREG_SERVER_INITIAL_ACCESS_TOKENS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/admin.pb.h"
#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "storage/client_store.h"

namespace clientreg::server {

// InitialAccessTokensConfig.mode.
enum class InitialAccessTokenMode { kOpen, kOptional, kRequired };

// "open" (or empty: unset), "optional" or "required"; InvalidArgument naming anything else.
[[nodiscard]] absl::StatusOr<InitialAccessTokenMode> ParseInitialAccessTokenMode(std::string_view mode);

// InvalidArgument naming the first bad field of `config`: the mode, a static token that is too short, too long, of
// the wrong alphabet or given twice, a label too long, or a policy (ValidateInitialAccessTokenPolicy).
[[nodiscard]] absl::Status ValidateInitialAccessTokensConfig(
    const clientreg::config::v1::InitialAccessTokensConfig& config);

// InvalidArgument if a policy's hosts, grant types or scope ceiling cannot be compared with registrations: an empty
// or non-ASCII host, an empty grant type, a scope ceiling that is not RFC 6749 §3.3 scope tokens.
[[nodiscard]] absl::Status ValidateInitialAccessTokenPolicy(const clientreg::v1::InitialAccessTokenPolicy& policy);

// What the token check of one registration found: whether a valid token was presented, and which.
struct TokenGrant {
  // A valid token was presented: its policy applies, and the anonymous rate limits need not.
  bool authenticated = false;
  // The token's id and label, recorded in the client; empty unless authenticated.
  std::string token_id;
  std::string label;
  clientreg::v1::InitialAccessTokenPolicy policy;
  // A stored token, whose use the client's write must consume (ClientStore::CreateAsync with a use); false for a
  // token from the config file, whose uses are not counted.
  bool counted = false;
};

// The UNAUTHENTICATED status of a wrong, expired, used-up or revoked token: one status for all of them, so that
// neither a direct gRPC caller nor the gateway's 401 tells them apart. Carries RegistrationError invalid_token.
absl::Status InvalidInitialAccessToken();

// OK if `validated` (the metadata as it will be stored, defaults applied) stays within `policy`; otherwise
// INVALID_ARGUMENT with a RegistrationError naming the rule: invalid_redirect_uri for a redirect URI host outside
// allowed_redirect_hosts, invalid_client_metadata for a grant type outside allowed_grant_types or a scope token
// outside scope_ceiling. Only a scope the client asked for (`requested`) is held against the ceiling.
[[nodiscard]] absl::Status CheckTokenPolicy(const clientreg::v1::InitialAccessTokenPolicy& policy,
                                            const clientreg::v1::ClientMetadata& requested,
                                            const clientreg::v1::ClientMetadata& validated);

// Initial access tokens (RFC 7591 §3): the mode, the config file's static tokens (kept only as digests), and the
// tokens in the store. Checks the token a registration presents, and serves the admin RPCs. Thread-safe.
class InitialAccessTokens {
 public:
  // `config` must be valid (ValidateInitialAccessTokensConfig). `store` and `clock` must outlive the object.
  // Internal if a digest cannot be computed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<InitialAccessTokens>> Create(
      storage::ClientStore* store, const common::Clock* clock,
      const clientreg::config::v1::InitialAccessTokensConfig& config, std::string server_key);

  InitialAccessTokenMode mode() const { return mode_; }

  // The check of a Register call, by mode. `presented` is RegisterRequest.initial_access_token (nullopt: the request
  // carried no Authorization). open: never asks, and ignores any token. optional: no token is an anonymous grant; a
  // valid one its grant. required: no token is UNAUTHENTICATED (without RegistrationError: RFC 6750 §3.1 wants no
  // error code then). Anywhere a token is looked at, an invalid one is InvalidInitialAccessToken(). UNAVAILABLE if
  // the store cannot be read. A stored token that passes here may still be used up by the time the client is
  // written: the store decides, atomically (ClientStore::CreateAsync).
  [[nodiscard]] absl::StatusOr<TokenGrant> Check(const std::optional<std::string>& presented) const;

  // The admin RPCs (ClientAdmin). Create draws the token from the CSPRNG and returns it once, storing its digest;
  // INVALID_ARGUMENT for a label over 200 bytes, a negative or overflowing expiry, or a bad policy. List gives the
  // static tokens first, then the stored ones; never a digest. Revoke: NOT_FOUND for an unknown id,
  // FAILED_PRECONDITION for a static token. UNAVAILABLE when the store fails.
  [[nodiscard]] absl::StatusOr<clientreg::v1::CreateInitialAccessTokenResponse> CreateToken(
      const clientreg::v1::CreateInitialAccessTokenRequest& request) const;
  [[nodiscard]] absl::StatusOr<clientreg::v1::ListInitialAccessTokensResponse> ListTokens() const;
  [[nodiscard]] absl::StatusOr<clientreg::v1::InitialAccessToken> RevokeToken(std::string_view id) const;

 private:
  struct StaticToken {
    std::string id;
    std::string label;
    clientreg::v1::InitialAccessTokenPolicy policy;
  };

  InitialAccessTokens(storage::ClientStore* store, const common::Clock* clock, InitialAccessTokenMode mode,
                      std::string server_key);

  // The grant of a presented token, or InvalidInitialAccessToken().
  [[nodiscard]] absl::StatusOr<TokenGrant> Lookup(const std::string& token) const;

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  const InitialAccessTokenMode mode_;
  const std::string server_key_;
  // By digest: a presented token is hashed and looked up, never compared as text.
  absl::flat_hash_map<std::string, StaticToken> static_tokens_;
  // In config order, for ListTokens.
  std::vector<std::string> static_digests_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_INITIAL_ACCESS_TOKENS_H_
