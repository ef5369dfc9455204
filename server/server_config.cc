#include "server/server_config.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"
#include "common/host_port.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/ops_server.h"
#include "common/proto_file.h"
#include "common/status_macros.h"
#include "common/tls_files.h"
#include "server/cimd_host_policy.h"
#include "server/initial_access_tokens.h"
#include "server/rate_limiter.h"
#include "server/registration_policy.h"

namespace clientreg::server {

clientreg::config::v1::ServerConfig DefaultServerConfig() {
  clientreg::config::v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:50051");
  config.set_data_dir("./var");
  config.set_issuer("http://127.0.0.1:8080");
  *config.mutable_limits() = common::DefaultMetadataLimits();
  *config.mutable_registration() = DefaultRegistrationPolicy();
  config.set_max_threads(64);
  config.set_shutdown_grace_seconds(10);
  config.set_revoke_misused_registration_tokens(true);
  config.set_rotate_registration_access_token_on_update(false);
  config.set_secret_rotation_overlap_seconds(0);
  config.set_last_used_flush_seconds(10);
  config.set_max_list_page_size(1000);
  config.set_ops_listen_address("");
  config.set_log_level("info");
  // RFC 7592 brute force: 20 wrong registration access tokens from one address, then one every 3 seconds.
  auto& failed_checks = *config.mutable_rate_limits()->mutable_failed_token_checks_per_client_ip();
  failed_checks.set_burst(20);
  failed_checks.set_refill_per_minute(20);
  config.mutable_rate_limits()->set_max_tracked_keys(100000);
  config.set_max_dynamic_clients(0);
  config.mutable_initial_access_tokens()->set_mode("open");
  clientreg::config::v1::LifecycleConfig& lifecycle = *config.mutable_lifecycle();
  lifecycle.set_reap_never_used_after_seconds(0);
  lifecycle.set_reap_idle_after_seconds(0);
  lifecycle.set_reap_interval_seconds(60);
  lifecycle.set_reap_batch_size(100);
  clientreg::config::v1::CimdConfig& cimd = *config.mutable_cimd();
  cimd.set_enabled(false);
  cimd.set_max_document_bytes(5120);
  cimd.set_allow_query(false);
  cimd.set_cache_min_lifetime_seconds(300);
  cimd.set_cache_max_lifetime_seconds(86400);
  cimd.set_failure_backoff_seconds(30);
  cimd.set_insecure_allow_loopback_http(false);
  cimd.set_connect_timeout_ms(2000);
  cimd.set_fetch_timeout_ms(5000);
  cimd.set_cache_max_entries(10000);
  cimd.set_cache_max_bytes(16 << 20);
  cimd.set_max_concurrent_fetches(16);
  cimd.set_max_fetches_per_host(2);
  cimd.mutable_fetch_rate()->set_burst(60);
  cimd.mutable_fetch_rate()->set_refill_per_minute(600);
  // Unset discovery endpoints derive from the issuer (AuthorizationEndpoint() and the others below).
  clientreg::config::v1::DiscoveryConfig& discovery = *config.mutable_discovery();
  discovery.mutable_subject_types_supported()->Add(std::string("public"));
  discovery.mutable_id_token_signing_alg_values_supported()->Add(std::string("RS256"));
  for (const char* alg : {"RS256", "ES256", "PS256", "EdDSA"}) {
    discovery.mutable_token_endpoint_auth_signing_alg_values_supported()->Add(std::string(alg));
  }
  return config;
}

absl::StatusOr<clientreg::config::v1::ServerConfig> LoadServerConfig(const std::string& path) {
  return common::LoadConfig(path, DefaultServerConfig(), &ValidateServerConfig);
}

std::string AuthorizationEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_authorization_endpoint() ? config.discovery().authorization_endpoint()
                                                         : config.issuer() + "/authorize";
}

std::string TokenEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_token_endpoint() ? config.discovery().token_endpoint() : config.issuer() + "/token";
}

std::string JwksUri(const clientreg::config::v1::ServerConfig& config) {
  return config.discovery().has_jwks_uri() ? config.discovery().jwks_uri() : config.issuer() + "/jwks";
}

std::string RegistrationEndpoint(const clientreg::config::v1::ServerConfig& config) {
  return config.issuer() + "/oauth/register";
}

namespace {

// The services a CallerConfig may name: those whose handlers ask the CallerAuthorizer.
constexpr std::string_view kCallerServices[] = {
    clientreg::v1::ClientRegistration::service_full_name(), clientreg::v1::ClientAuthentication::service_full_name(),
    clientreg::v1::ClientDirectory::service_full_name(), clientreg::v1::ClientAdmin::service_full_name()};

bool IsLowercaseSha256Hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The gRPC listener's TLS and its callers (config.proto: GrpcServerTlsConfig, CallerConfig). Files are read here, so
// that --check-config finds a wrong path or a file of the wrong kind before a start does.
absl::Status ValidateListenerSecurity(const clientreg::config::v1::ServerConfig& config) {
  if (!config.has_tls()) {
    // Plain text off this machine would expose every caller's credentials and every client's metadata.
    if (!common::IsLocalAddress(config.listen_address())) {
      return absl::InvalidArgumentError(absl::StrCat("listen_address \"", config.listen_address(),
                                                     "\" is not a loopback address: set tls to serve on it"));
    }
  } else {
    const clientreg::config::v1::GrpcServerTlsConfig& tls = config.tls();
    if (tls.certificate_chain_file().empty() || tls.private_key_file().empty()) {
      return absl::InvalidArgumentError("tls needs both certificate_chain_file and private_key_file");
    }
    RETURN_IF_ERROR(common::CheckPemCertificatesFile("tls.certificate_chain_file", tls.certificate_chain_file()));
    RETURN_IF_ERROR(common::CheckPemPrivateKeyFile("tls.private_key_file", tls.private_key_file()));
    if (!tls.client_ca_file().empty()) {
      RETURN_IF_ERROR(common::CheckPemCertificatesFile("tls.client_ca_file", tls.client_ca_file()));
    } else if (tls.require_client_certificate()) {
      return absl::InvalidArgumentError("tls.require_client_certificate needs tls.client_ca_file");
    }
    // With TLS every call needs a caller (config.proto), so an empty list would refuse every call.
    if (config.callers().empty()) {
      return absl::InvalidArgumentError("tls is set but callers is empty: no caller could call any service");
    }
  }
  std::set<std::string, std::less<>> names, identities, digests;
  for (int i = 0; i < config.callers_size(); ++i) {
    const clientreg::config::v1::CallerConfig& caller = config.callers(i);
    const std::string field = absl::StrCat("callers[", i, "]");
    if (caller.name().empty()) return absl::InvalidArgumentError(absl::StrCat(field, ".name must not be empty"));
    if (!names.insert(caller.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".name \"", caller.name(), "\" is used twice"));
    }
    if (caller.certificate_identities().empty() && caller.bearer_token_sha256().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " (", caller.name(), ") needs certificate_identities or bearer_token_sha256"));
    }
    if (!caller.certificate_identities().empty() && config.tls().client_ca_file().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".certificate_identities needs tls.client_ca_file: without it no client certificate is asked for"));
    }
    for (const std::string& identity : caller.certificate_identities()) {
      if (identity.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".certificate_identities has an empty name"));
      }
      // One certificate must name one caller.
      if (!identities.insert(identity).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".certificate_identities: \"", identity, "\" is listed twice"));
      }
    }
    for (const std::string& digest : caller.bearer_token_sha256()) {
      if (!IsLowercaseSha256Hex(digest)) {
        return absl::InvalidArgumentError(absl::StrCat(
            field,
            ".bearer_token_sha256 must hold 64 lowercase hex digits, the SHA-256 of the credential (printf %s "
            "\"$TOKEN\" | sha256sum)"));
      }
      if (!digests.insert(digest).second) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".bearer_token_sha256 lists a digest twice"));
      }
    }
    for (const std::string& service : caller.services()) {
      if (std::find(std::begin(kCallerServices), std::end(kCallerServices), service) == std::end(kCallerServices)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".services: unknown service \"", service,
                         "\"; expected clientreg.v1.ClientRegistration, clientreg.v1.ClientAuthentication, "
                         "clientreg.v1.ClientDirectory or clientreg.v1.ClientAdmin"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCimd(const clientreg::config::v1::CimdConfig& cimd) {
  if (cimd.max_document_bytes() == 0 || cimd.max_document_bytes() > 65536) {
    return absl::InvalidArgumentError("cimd.max_document_bytes must be 1 to 65536");
  }
  if (cimd.cache_min_lifetime_seconds() > cimd.cache_max_lifetime_seconds()) {
    return absl::InvalidArgumentError(
        "cimd.cache_min_lifetime_seconds must not exceed cimd.cache_max_lifetime_seconds");
  }
  if (cimd.connect_timeout_ms() == 0 || cimd.fetch_timeout_ms() == 0 || cimd.fetch_timeout_ms() > 60000) {
    return absl::InvalidArgumentError("cimd.connect_timeout_ms must be positive and cimd.fetch_timeout_ms 1 to 60000");
  }
  if (cimd.cache_max_entries() == 0 || cimd.cache_max_bytes() == 0) {
    return absl::InvalidArgumentError("cimd.cache_max_entries and cimd.cache_max_bytes must be positive");
  }
  if (cimd.max_concurrent_fetches() == 0 || cimd.max_concurrent_fetches() > 256) {
    return absl::InvalidArgumentError("cimd.max_concurrent_fetches must be 1 to 256");
  }
  if (cimd.max_fetches_per_host() == 0) return absl::InvalidArgumentError("cimd.max_fetches_per_host must be positive");
  if (!cimd.ca_file().empty()) RETURN_IF_ERROR(common::CheckPemCertificatesFile("cimd.ca_file", cimd.ca_file()));
  // The host patterns are checked where they are compiled, so --check-config and a start agree.
  return CimdHostPolicy::Create(cimd.allowed_hosts(), cimd.denied_hosts()).status();
}

absl::Status ValidateLifecycle(const clientreg::config::v1::LifecycleConfig& lifecycle) {
  if (lifecycle.reap_never_used_after_seconds() < 0) {
    return absl::InvalidArgumentError("lifecycle.reap_never_used_after_seconds must not be negative (0: off)");
  }
  if (lifecycle.reap_idle_after_seconds() < 0) {
    return absl::InvalidArgumentError("lifecycle.reap_idle_after_seconds must not be negative (0: off)");
  }
  if (lifecycle.reap_interval_seconds() == 0) {
    return absl::InvalidArgumentError("lifecycle.reap_interval_seconds must be positive");
  }
  if (lifecycle.reap_batch_size() == 0 || lifecycle.reap_batch_size() > 1000) {
    return absl::InvalidArgumentError("lifecycle.reap_batch_size must be 1 to 1000");
  }
  return absl::OkStatus();
}

}  // namespace

clientreg::config::v1::ServerConfig RedactedServerConfig(const clientreg::config::v1::ServerConfig& config) {
  clientreg::config::v1::ServerConfig redacted = config;
  for (auto& token : *redacted.mutable_initial_access_tokens()->mutable_static_tokens()) token.set_token("<redacted>");
  // A full digest of a weak credential could be cracked by anyone who reads the log; eight hex digits still tell
  // which credential a caller entry holds.
  for (clientreg::config::v1::CallerConfig& caller : *redacted.mutable_callers()) {
    for (std::string& digest : *caller.mutable_bearer_token_sha256()) digest = digest.substr(0, 8) + "...";
  }
  return redacted;
}

absl::Status ValidateServerConfig(const clientreg::config::v1::ServerConfig& config) {
  if (config.listen_address().empty()) return absl::InvalidArgumentError("listen_address must not be empty");
  if (config.data_dir().empty()) return absl::InvalidArgumentError("data_dir must not be empty");
  // RFC 8414 §2: the issuer is a URL with no query and no fragment; http only for a local deployment.
  const std::string& issuer = config.issuer();
  if (!(absl::StartsWith(issuer, "https://") || absl::StartsWith(issuer, "http://")) ||
      absl::StrContains(issuer, "?") || absl::StrContains(issuer, "#") || absl::EndsWith(issuer, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("issuer \"", issuer, "\" must be an http(s) URL without query, fragment or trailing slash"));
  }
  if (config.max_threads() < 4) return absl::InvalidArgumentError("max_threads must be at least 4");
  if (config.secret_rotation_overlap_seconds() < 0) {
    return absl::InvalidArgumentError("secret_rotation_overlap_seconds must not be negative");
  }
  if (config.last_used_flush_seconds() == 0)
    return absl::InvalidArgumentError("last_used_flush_seconds must be positive");
  if (config.max_list_page_size() == 0) return absl::InvalidArgumentError("max_list_page_size must be positive");
  if (!config.ops_listen_address().empty()) {
    if (const absl::Status valid = common::ValidateOpsAddress(config.ops_listen_address()); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ops_listen_address: ", valid.message()));
    }
  }
  if (const auto level = common::ParseLogLevel(config.log_level()); !level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("log_level: ", level.status().message()));
  }
  RETURN_IF_ERROR(ValidateListenerSecurity(config));
  RETURN_IF_ERROR(common::ValidateMetadataLimits(config.limits()));
  RETURN_IF_ERROR(ValidateRateLimits(config.rate_limits()));
  RETURN_IF_ERROR(ValidateInitialAccessTokensConfig(config.initial_access_tokens()));
  RETURN_IF_ERROR(ValidateLifecycle(config.lifecycle()));
  RETURN_IF_ERROR(ValidateCimd(config.cimd()));
  return ValidateRegistrationPolicy(config.registration());
}

}  // namespace clientreg::server
