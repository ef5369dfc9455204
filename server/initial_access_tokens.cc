#include "server/initial_access_tokens.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "server/registration_policy.h"
#include "server/uri.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::InitialAccessToken;
using ::clientreg::v1::InitialAccessTokenPolicy;
using ::clientreg::v1::StoredInitialAccessToken;

// A static token is chosen by an operator: at least 32 characters keeps it out of guessing range even when it is
// not random base64url (ours are 43). The maximum keeps a config typo (a pasted file) from becoming a token.
constexpr std::size_t kMinStaticTokenChars = 32;
constexpr std::size_t kMaxStaticTokenChars = 512;
constexpr std::size_t kMaxLabelBytes = 200;
// 64 random bits: an admin handle, not a secret; unique enough, and the store refuses a duplicate anyway.
constexpr std::size_t kTokenIdBytes = 8;
constexpr int kMaxIdAttempts = 3;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// RFC 6750 §2.1 b64token: what an `Authorization: Bearer` field can carry, so a configured token can be presented.
bool IsB64Token(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && (absl::ascii_isalnum(static_cast<unsigned char>(token[i])) ||
                              std::string_view("-._~+/").find(token[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

InitialAccessToken ToAdminView(const StoredInitialAccessToken& stored) {
  InitialAccessToken token;
  token.set_id(stored.id());
  token.set_label(stored.label());
  token.set_created_at(stored.created_at());
  token.set_expires_at(stored.expires_at());
  token.set_max_uses(stored.max_uses());
  token.set_uses(stored.uses());
  token.set_revoked(stored.revoked());
  token.set_revoked_at(stored.revoked_at());
  *token.mutable_policy() = stored.policy();
  return token;
}

absl::Status ValidateLabel(const std::string& label, std::string_view field) {
  if (label.size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(field), " has ", label.size(), " bytes; at most ", kMaxLabelBytes, " are allowed"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InitialAccessTokenMode> ParseInitialAccessTokenMode(std::string_view mode) {
  // Unset (a config built in code rather than loaded) is the documented default.
  if (mode == "open" || mode.empty()) return InitialAccessTokenMode::kOpen;
  if (mode == "optional") return InitialAccessTokenMode::kOptional;
  if (mode == "required") return InitialAccessTokenMode::kRequired;
  return absl::InvalidArgumentError(
      absl::StrCat("initial_access_tokens.mode \"", ToAbsl(mode), "\" must be \"open\", \"optional\" or \"required\""));
}

absl::Status ValidateInitialAccessTokenPolicy(const InitialAccessTokenPolicy& policy) {
  for (const std::string& host : policy.allowed_redirect_hosts()) {
    const bool printable = std::all_of(host.begin(), host.end(), [](char c) { return c > ' ' && c < 0x7f; });
    if (host.empty() || !printable) {
      return absl::InvalidArgumentError("allowed_redirect_hosts holds an empty or non-ASCII host");
    }
  }
  for (const std::string& grant_type : policy.allowed_grant_types()) {
    if (grant_type.empty()) return absl::InvalidArgumentError("allowed_grant_types holds an empty grant type");
  }
  if (policy.has_scope_ceiling() && !policy.scope_ceiling().empty() && !IsValidScope(policy.scope_ceiling())) {
    return absl::InvalidArgumentError("scope_ceiling must be scope tokens separated by single spaces");
  }
  return absl::OkStatus();
}

absl::Status ValidateInitialAccessTokensConfig(const clientreg::config::v1::InitialAccessTokensConfig& config) {
  RETURN_IF_ERROR(ParseInitialAccessTokenMode(config.mode()).status());
  std::vector<std::string_view> seen;
  for (int i = 0; i < config.static_tokens_size(); ++i) {
    const auto& token = config.static_tokens(i);
    // The message names the position, never the token.
    const std::string field = absl::StrCat("initial_access_tokens.static_tokens[", i, "]");
    if (token.token().size() < kMinStaticTokenChars || token.token().size() > kMaxStaticTokenChars ||
        !IsB64Token(token.token())) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".token must be ", kMinStaticTokenChars, " to ",
                                                     kMaxStaticTokenChars,
                                                     " characters of letters, digits and -._~+/ (then = padding)"));
    }
    if (std::find(seen.begin(), seen.end(), token.token()) != seen.end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".token is listed twice"));
    }
    seen.push_back(token.token());
    RETURN_IF_ERROR(ValidateLabel(token.label(), field + ".label"));
    if (const absl::Status policy = ValidateInitialAccessTokenPolicy(token.policy()); !policy.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".policy: ", policy.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status InvalidInitialAccessToken() {
  return common::RegistrationErrorStatus(absl::StatusCode::kUnauthenticated, common::kInvalidToken, "",
                                         "the initial access token is invalid");
}

absl::Status CheckTokenPolicy(const InitialAccessTokenPolicy& policy, const clientreg::v1::ClientMetadata& requested,
                              const clientreg::v1::ClientMetadata& validated) {
  if (!policy.allowed_redirect_hosts().empty()) {
    const auto& uris = validated.redirect_uris().values();
    for (int i = 0; i < uris.size(); ++i) {
      const absl::StatusOr<Uri> uri = ParseUri(uris[i]);
      const std::string host = uri.ok() ? uri->host : std::string();
      const bool allowed =
          !host.empty() &&
          std::any_of(policy.allowed_redirect_hosts().begin(), policy.allowed_redirect_hosts().end(),
                      [&](const std::string& allowed_host) { return absl::EqualsIgnoreCase(allowed_host, host); });
      if (!allowed) {
        return common::InvalidRedirectUri(
            absl::StrCat("redirect_uris[", i, "]"),
            absl::StrCat("redirect_uris[", i,
                         "] has a host outside the initial access token's allowed_redirect_hosts"));
      }
    }
  }
  if (!policy.allowed_grant_types().empty()) {
    for (const std::string& grant_type : validated.grant_types().values()) {
      if (!Contains(policy.allowed_grant_types(), grant_type)) {
        return common::InvalidClientMetadata(
            "grant_types", absl::StrCat("the grant type '", grant_type,
                                        "' is outside the initial access token's allowed_grant_types"));
      }
    }
  }
  if (policy.has_scope_ceiling() && requested.has_scope() && !requested.scope().empty()) {
    const std::vector<absl::string_view> ceiling = absl::StrSplit(policy.scope_ceiling(), ' ', absl::SkipEmpty());
    for (const absl::string_view scope_token : absl::StrSplit(validated.scope(), ' ', absl::SkipEmpty())) {
      if (std::find(ceiling.begin(), ceiling.end(), scope_token) == ceiling.end()) {
        return common::InvalidClientMetadata(
            "scope",
            absl::StrCat("the scope token '", scope_token, "' is outside the initial access token's scope_ceiling"));
      }
    }
  }
  return absl::OkStatus();
}

InitialAccessTokens::InitialAccessTokens(storage::ClientStore* store, const common::Clock* clock,
                                         InitialAccessTokenMode mode, std::string server_key)
    : store_(store), clock_(clock), mode_(mode), server_key_(std::move(server_key)) {}

absl::StatusOr<std::unique_ptr<InitialAccessTokens>> InitialAccessTokens::Create(
    storage::ClientStore* store, const common::Clock* clock,
    const clientreg::config::v1::InitialAccessTokensConfig& config, std::string server_key) {
  ASSIGN_OR_RETURN(const InitialAccessTokenMode mode, ParseInitialAccessTokenMode(config.mode()));
  std::unique_ptr<InitialAccessTokens> tokens(new InitialAccessTokens(store, clock, mode, std::move(server_key)));
  for (int i = 0; i < config.static_tokens_size(); ++i) {
    const auto& configured = config.static_tokens(i);
    // Hashed at load like every other token: the plaintext stays in the config message alone.
    ASSIGN_OR_RETURN(std::string digest, common::HmacSha256(tokens->server_key_, configured.token()));
    tokens->static_digests_.push_back(digest);
    tokens->static_tokens_.emplace(
        std::move(digest), StaticToken{absl::StrCat("config-", i + 1), configured.label(), configured.policy()});
  }
  return tokens;
}

absl::StatusOr<TokenGrant> InitialAccessTokens::Check(const std::optional<std::string>& presented) const {
  switch (mode_) {
    case InitialAccessTokenMode::kOpen:
      // RFC 7591 §3: open registration takes requests with no authorization; a token changes nothing here.
      return TokenGrant();
    case InitialAccessTokenMode::kOptional:
      if (!presented.has_value()) return TokenGrant();
      return Lookup(*presented);
    case InitialAccessTokenMode::kRequired:
      if (!presented.has_value()) return absl::UnauthenticatedError("an initial access token is required");
      return Lookup(*presented);
  }
  return absl::InternalError("unknown initial access token mode");
}

absl::StatusOr<TokenGrant> InitialAccessTokens::Lookup(const std::string& token) const {
  // An empty token is a malformed Authorization field (RegisterRequest): invalid, like any wrong token.
  if (token.empty()) return InvalidInitialAccessToken();
  // Found by its keyed digest, never compared as text (RFC 6819 §5.1.4.1.3).
  ASSIGN_OR_RETURN(const std::string digest, common::HmacSha256(server_key_, token));
  TokenGrant grant;
  if (const auto it = static_tokens_.find(digest); it != static_tokens_.end()) {
    grant.authenticated = true;
    grant.token_id = it->second.id;
    grant.label = it->second.label;
    grant.policy = it->second.policy;
    return grant;
  }
  absl::StatusOr<StoredInitialAccessToken> stored = store_->FindInitialAccessToken(digest);
  if (absl::IsNotFound(stored.status())) return InvalidInitialAccessToken();
  if (!stored.ok()) {
    common::Log(common::LogLevel::kError, "initial_access_token_read_failed",
                {{"error", std::string(stored.status().message())}});
    return absl::UnavailableError("the initial access token could not be checked");
  }
  const int64_t now = clock_->NowSeconds();
  // The store checks the same again when it writes the client; this spares the validation and the write.
  if (stored->revoked() || (stored->expires_at() != 0 && stored->expires_at() <= now) ||
      (stored->max_uses() != 0 && stored->uses() >= stored->max_uses())) {
    return InvalidInitialAccessToken();
  }
  grant.authenticated = true;
  grant.token_id = stored->id();
  grant.label = stored->label();
  grant.policy = stored->policy();
  grant.counted = true;
  return grant;
}

absl::StatusOr<clientreg::v1::CreateInitialAccessTokenResponse> InitialAccessTokens::CreateToken(
    const clientreg::v1::CreateInitialAccessTokenRequest& request) const {
  RETURN_IF_ERROR(ValidateLabel(request.label(), "label"));
  RETURN_IF_ERROR(ValidateInitialAccessTokenPolicy(request.policy()));
  const int64_t now = clock_->NowSeconds();
  if (request.expires_in_seconds() < 0) return absl::InvalidArgumentError("expires_in_seconds must not be negative");
  if (request.expires_in_seconds() > std::numeric_limits<int64_t>::max() - now) {
    return absl::InvalidArgumentError("expires_in_seconds is too large");
  }
  StoredInitialAccessToken stored;
  stored.set_label(request.label());
  stored.set_created_at(now);
  stored.set_expires_at(request.expires_in_seconds() == 0 ? 0 : now + request.expires_in_seconds());
  stored.set_max_uses(request.max_uses());
  *stored.mutable_policy() = request.policy();
  ASSIGN_OR_RETURN(const std::string token, common::RandomToken());
  ASSIGN_OR_RETURN(*stored.mutable_digest(), common::HmacSha256(server_key_, token));
  absl::Status written;
  for (int attempt = 0; attempt < kMaxIdAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::string id_bytes, common::RandomBytes(kTokenIdBytes));
    stored.set_id(absl::BytesToHexString(ToAbsl(id_bytes)));
    written = store_->CreateInitialAccessToken(stored);
    if (!absl::IsAlreadyExists(written)) break;
  }
  if (!written.ok()) {
    common::Log(common::LogLevel::kError, "initial_access_token_write_failed",
                {{"error", std::string(written.message())}});
    return absl::UnavailableError("the initial access token could not be stored");
  }
  common::Log(common::LogLevel::kInfo, "initial_access_token_created",
              {{"token_id", stored.id()}, {"max_uses", std::to_string(stored.max_uses())}});
  clientreg::v1::CreateInitialAccessTokenResponse response;
  *response.mutable_token() = ToAdminView(stored);
  response.set_initial_access_token(token);
  return response;
}

absl::StatusOr<clientreg::v1::ListInitialAccessTokensResponse> InitialAccessTokens::ListTokens() const {
  clientreg::v1::ListInitialAccessTokensResponse response;
  for (const std::string& digest : static_digests_) {
    const StaticToken& configured = static_tokens_.at(digest);
    InitialAccessToken& token = *response.add_tokens();
    token.set_id(configured.id);
    token.set_label(configured.label);
    *token.mutable_policy() = configured.policy;
    token.set_from_config(true);
  }
  ASSIGN_OR_RETURN(const std::vector<StoredInitialAccessToken> stored, store_->ListInitialAccessTokens());
  for (const StoredInitialAccessToken& token : stored) *response.add_tokens() = ToAdminView(token);
  return response;
}

absl::StatusOr<InitialAccessToken> InitialAccessTokens::RevokeToken(std::string_view id) const {
  if (id.empty()) return absl::InvalidArgumentError("id is required");
  for (const auto& [digest, configured] : static_tokens_) {
    if (configured.id == id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token ", ToAbsl(id), " comes from the server's config file: remove it there and restart the server"));
    }
  }
  absl::StatusOr<StoredInitialAccessToken> revoked = store_->RevokeInitialAccessToken(id, clock_->NowSeconds());
  if (absl::IsNotFound(revoked.status())) {
    return absl::NotFoundError(absl::StrCat("initial access token \"", ToAbsl(id), "\" not found"));
  }
  if (!revoked.ok()) {
    common::Log(common::LogLevel::kError, "initial_access_token_revoke_failed",
                {{"token_id", id}, {"error", std::string(revoked.status().message())}});
    return absl::UnavailableError("the revocation could not be stored");
  }
  common::Log(common::LogLevel::kInfo, "initial_access_token_revoked", {{"token_id", id}});
  return ToAdminView(*revoked);
}

}  // namespace clientreg::server
