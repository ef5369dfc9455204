#include "server/server_app.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/build_info.h"
#include "common/logging.h"
#include "common/ops_endpoints.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "common/tls_files.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/server_config.h"
#include "server/server_metadata.h"
#include "storage/rocksdb_client_store.h"

namespace clientreg::server {
namespace {

// A registration request is at most the gateway's body limit once transcoded; this bounds what a direct gRPC
// caller can make the server allocate.
constexpr int kMaxReceiveMessageBytes = 1 << 20;
// Per connection: far above what a gateway keeps in flight (max_inflight_rpcs, default 48).
constexpr int kMaxConcurrentStreams = 1024;

// The data dir holds client records and the HMAC key: nobody but the server's user may read it. umask 077 makes
// every file RocksDB creates from now on 0600 (directories 0700); what an older version left readable is
// tightened once here.
absl::Status PrepareDataDir(const std::filesystem::path& data_dir) {
  ::umask(0077);
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir ", data_dir.string(), ": ", error.message()));
  }
  using std::filesystem::perms;
  std::filesystem::permissions(data_dir, perms::owner_all, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot make data dir ", data_dir.string(), " private: ", error.message()));
  }
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_symlink()) continue;
    std::error_code ignored;
    std::filesystem::permissions(
        it->path(), it->is_directory() ? perms::owner_all : perms::owner_read | perms::owner_write, ignored);
  }
  return absl::OkStatus();
}

// TLS on the listener as config.tls says, plain text without it (ValidateServerConfig allows that only on a local
// address). With a client CA, a client certificate is verified against it whenever one is presented: an invalid
// one fails the handshake, so no call from it reaches a handler.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(
    const clientreg::config::v1::ServerConfig& config) {
  if (!config.has_tls()) return grpc::InsecureServerCredentials();
  const clientreg::config::v1::GrpcServerTlsConfig& tls = config.tls();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, common::ReadPemCertificates(tls.certificate_chain_file()));
  ASSIGN_OR_RETURN(pair.private_key, common::ReadPemPrivateKey(tls.private_key_file()));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file().empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, common::ReadPemCertificates(tls.client_ca_file()));
    options.client_certificate_request = tls.require_client_certificate()
                                             ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                             : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// The effective config holds no secret (the key is a file path, static initial access tokens are redacted, bearer
// credentials are shortened digests), so operators see exactly what runs.
std::string EffectiveConfigJson(const clientreg::config::v1::ServerConfig& config) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(RedactedServerConfig(config), &json).ok()) return "?";
  return json;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(const clientreg::config::v1::ServerConfig& config,
                                                            Dependencies dependencies) {
  std::unique_ptr<ServerApp> app(new ServerApp());
  const common::Clock* clock = dependencies.clock != nullptr ? dependencies.clock : &app->system_clock_;
  app->server_metrics_ = std::make_unique<ServerMetrics>(app->metrics_);
  RegisterProcessMetrics(app->metrics_);

  const std::filesystem::path data_dir(config.data_dir());
  RETURN_IF_ERROR(PrepareDataDir(data_dir));
  const std::string key_file =
      config.has_secret_key_file() ? config.secret_key_file() : (data_dir / "server.key").string();
  ASSIGN_OR_RETURN(std::string server_key, common::LoadOrCreateServerKey(key_file));
  if (dependencies.store != nullptr) {
    app->store_ = std::move(dependencies.store);
  } else {
    app->store_metrics_ = std::make_unique<storage::StoreMetrics>(app->metrics_);
    ASSIGN_OR_RETURN(app->store_, storage::OpenRocksDbClientStore((data_dir / "clients").string(), nullptr,
                                                                  app->store_metrics_.get()));
  }
  // Read from the store's own counts, kept in its write batches: a scrape never scans the clients.
  app->metrics_.AddCallbackGauge(
      "clientreg_clients", "Stored clients by state (active, disabled).", {"state"}, [store = app->store_.get()] {
        const absl::StatusOr<storage::ClientCounts> counts = store->CountClients();
        if (!counts.ok()) return std::vector<common::Sample>();
        return std::vector<common::Sample>{{{"active"}, static_cast<double>(counts->active)},
                                           {{"disabled"}, static_cast<double>(counts->disabled)}};
      });

  app->registrar_ =
      std::make_unique<Registrar>(app->store_.get(), clock, MetadataValidator(config.limits(), config.registration()),
                                  RegistrarOptions(config, server_key));
  RegistrationManager::Options manager_options = RegistrationManagerOptions(config, server_key);
  manager_options.metrics = app->server_metrics_.get();
  app->registration_manager_ = std::make_unique<RegistrationManager>(
      app->store_.get(), clock, MetadataValidator(config.limits(), config.registration()), std::move(manager_options));
  app->callers_ = std::make_unique<CallerAuthorizer>(config, app->server_metrics_.get());
  ASSIGN_OR_RETURN(app->initial_access_tokens_,
                   InitialAccessTokens::Create(app->store_.get(), clock, config.initial_access_tokens(), server_key));
  app->rate_limiter_ = std::make_unique<RateLimiter>(config.rate_limits(), *clock);
  app->client_cap_ = std::make_unique<ClientCap>(config.max_dynamic_clients(), app->store_.get(), clock);
  app->registration_service_ = std::make_unique<RegistrationService>(
      app->registrar_.get(), app->initial_access_tokens_.get(), app->registration_manager_.get(), app->callers_.get(),
      BuildServerMetadata(config), app->server_metrics_.get(), app->rate_limiter_.get(), app->client_cap_.get());

  ASSIGN_OR_RETURN(app->last_use_,
                   LastUseRecorder::Create(app->store_.get(), std::chrono::seconds(config.last_used_flush_seconds())));
  ClientAuthenticator::Options authenticator_options;
  authenticator_options.server_key = server_key;
  authenticator_options.last_use = app->last_use_.get();
  authenticator_options.metrics = app->server_metrics_.get();
  ASSIGN_OR_RETURN(app->authenticator_,
                   ClientAuthenticator::Create(app->store_.get(), clock, std::move(authenticator_options)));
  app->authentication_service_ =
      std::make_unique<AuthenticationService>(app->authenticator_.get(), app->callers_.get());
  ClientDirectory::Options directory_options;
  directory_options.max_redirect_uri_bytes = config.limits().max_redirect_uri_bytes();
  directory_options.metrics = app->server_metrics_.get();
  if (config.cimd().enabled()) {
    if (config.cimd().insecure_allow_loopback_http()) {
      common::Log(common::LogLevel::kWarning, "cimd_insecure_loopback_http",
                  {{"detail",
                    "cimd.insecure_allow_loopback_http is on: http client_ids on 127.0.0.1 and localhost "
                    "resolve from loopback. For local testing only."}});
    }
    app->cimd_metrics_ = std::make_unique<CimdResolver::Metrics>(app->metrics_);
    app->cimd_validator_ = std::make_unique<MetadataValidator>(config.limits(), config.registration());
    ASSIGN_OR_RETURN(app->cimd_resolver_,
                     CimdResolver::Create(config.cimd(),
                                          dependencies.cimd_fetcher_options.value_or(CimdFetcherOptions(config.cimd())),
                                          app->cimd_validator_.get(), clock, app->cimd_metrics_.get()));
    app->metrics_.AddCallbackGauge(
        "clientreg_cimd_cache_entries", "Client ID Metadata Documents held in the cache.", {},
        [resolver = app->cimd_resolver_.get()] {
          return std::vector<common::Sample>{{{}, static_cast<double>(resolver->cached_entries())}};
        });
    app->metrics_.AddCallbackGauge(
        "clientreg_cimd_cache_bytes", "Bytes of the Client ID Metadata Document cache.", {},
        [resolver = app->cimd_resolver_.get()] {
          return std::vector<common::Sample>{{{}, static_cast<double>(resolver->cached_bytes())}};
        });
    directory_options.cimd = app->cimd_resolver_.get();
  }
  app->directory_ =
      std::make_unique<ClientDirectory>(app->store_.get(), clock, app->last_use_.get(), directory_options);
  app->directory_service_ = std::make_unique<ClientDirectoryService>(app->directory_.get(), app->callers_.get());
  ClientAdmin::Options admin_options;
  admin_options.server_key = server_key;
  admin_options.client_secret_lifetime_seconds = config.registration().client_secret_lifetime_seconds();
  admin_options.secret_rotation_overlap_seconds = config.secret_rotation_overlap_seconds();
  admin_options.max_list_page_size = config.max_list_page_size();
  app->client_admin_ =
      std::make_unique<ClientAdmin>(app->store_.get(), clock, app->authenticator_.get(), std::move(admin_options));
  ClientReaper::Options reaper_options;
  reaper_options.never_used_after_seconds = config.lifecycle().reap_never_used_after_seconds();
  reaper_options.idle_after_seconds = config.lifecycle().reap_idle_after_seconds();
  reaper_options.interval = std::chrono::seconds(config.lifecycle().reap_interval_seconds());
  reaper_options.batch_size = config.lifecycle().reap_batch_size();
  // A use still batched in memory counts: written before each pass, and one recorded since spares its client.
  reaper_options.flush_last_use = [recorder = app->last_use_.get()] { return recorder->Flush(); };
  reaper_options.pending_last_use = [recorder = app->last_use_.get()](std::string_view client_id) {
    return recorder->Pending(client_id);
  };
  reaper_options.metrics = &app->metrics_;
  ASSIGN_OR_RETURN(app->reaper_, ClientReaper::Create(app->store_.get(), clock, std::move(reaper_options)));
  app->client_admin_service_ =
      std::make_unique<ClientAdminService>(app->client_admin_.get(), app->initial_access_tokens_.get(),
                                           app->reaper_.get(), app->callers_.get(), config.max_list_page_size());

  // Lets grpcurl and grpc_cli discover the services; it must run before the builder is created to take effect.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // grpc.health.v1.Health (Check and Watch), fed by the HealthMonitor; also must precede the builder.
  grpc::EnableDefaultHealthCheckService(true);
  const std::vector<std::string> services = {std::string(clientreg::v1::ClientRegistration::service_full_name()),
                                             std::string(clientreg::v1::ClientAuthentication::service_full_name()),
                                             std::string(clientreg::v1::ClientDirectory::service_full_name()),
                                             std::string(clientreg::v1::ClientAdmin::service_full_name())};
  app->health_ =
      std::make_unique<HealthMonitor>(app->store_.get(), HealthMonitor::Options{std::chrono::seconds(1), services});

  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, ListenerCredentials(config));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), credentials, &app->port_);
  builder.RegisterService(app->registration_service_.get());
  builder.RegisterService(app->authentication_service_.get());
  builder.RegisterService(app->directory_service_.get());
  builder.RegisterService(app->client_admin_service_.get());
  // Bounded handler threads: beyond them a call fails fast with RESOURCE_EXHAUSTED instead of piling up, and the
  // gateways keep their in-flight calls below this bound.
  const int threads = static_cast<int>(config.max_threads());
  grpc::ResourceQuota quota("clientreg-server");
  quota.SetMaxThreads(threads);
  builder.SetResourceQuota(quota);
  // gRPC's sync server ends a handler thread once more than MAX_POLLERS threads wait for work (default 2), so a
  // steady load of concurrent calls created and destroyed a thread per call (clone3, mmap, munmap under strace).
  // Letting every thread of the quota stay keeps them warm; MIN_POLLERS keeps a few ready for a burst.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, std::min(threads, 4));
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, threads);
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  // Channelz keeps per-call counters and a registry entry nobody here reads.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // Callback calls take no thread from the quota, so this bounds what one connection can have open at once (gRPC
  // clients queue calls beyond it rather than fail them).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  std::vector<std::string> timed_services = services;
  timed_services.push_back("grpc.health.v1.Health");
  interceptors.push_back(RpcMetricsInterceptorFactory(app->server_metrics_.get(), timed_services));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  app->server_ = builder.BuildAndStart();
  if (app->server_ == nullptr || app->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address()));
  }
  app->health_->Start(app->server_->GetHealthCheckService());
  app->reaper_->Start();

  if (!config.ops_listen_address().empty()) {
    const HealthMonitor* health = app->health_.get();
    ASSIGN_OR_RETURN(app->ops_,
                     common::StartOpsEndpoints(
                         config.ops_listen_address(), [health] { return health->Checks(); }, &app->metrics_));
  }
  if (app->callers_->open()) {
    common::Log(common::LogLevel::kWarning, "caller_authentication_off",
                {{"listen", config.listen_address()},
                 {"reason",
                  "local listener without tls and without callers: every local process may call every service, "
                  "ClientAdmin included"}});
  }
  const std::string effective_config = EffectiveConfigJson(config);
  common::Log(common::LogLevel::kInfo, "server_started",
              {{"listen", config.listen_address()},
               {"port", std::to_string(app->port_)},
               {"ops_port", std::to_string(app->ops_port())},
               {"tls", config.has_tls() ? "on" : "off"},
               {"client_certificates", !config.tls().client_ca_file().empty()
                                           ? (config.tls().require_client_certificate() ? "required" : "verified")
                                           : "off"},
               {"callers", app->callers_->open() ? "open" : std::to_string(config.callers_size())},
               {"data_dir", config.data_dir()},
               {"ready", app->health_->Ready() ? "true" : "false"},
               {"version", common::BuildVersion()},
               {"revision", common::BuildRevision()},
               {"config", effective_config}});
  return app;
}

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(const clientreg::config::v1::ServerConfig& config) {
  return Start(config, Dependencies());
}

ServerApp::~ServerApp() { Shutdown(std::chrono::milliseconds(0)); }

void ServerApp::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  common::Log(common::LogLevel::kInfo, "server_draining", {{"grace_ms", std::to_string(grace.count())}});
  // Readiness first, so that load balancers and gateways stop sending before the listener closes.
  if (health_ != nullptr) health_->SetDraining();
  if (server_ != nullptr) {
    const auto deadline = std::chrono::system_clock::now() + grace;
    // A ResolveClient waiting for a metadata document fetch is a call in flight: it gets the grace, then the
    // resolver stops and answers it UNAVAILABLE, since the server's shutdown waits for every callback call.
    absl::Notification drained;
    std::thread cimd_stopper;
    if (cimd_resolver_ != nullptr) {
      cimd_stopper = std::thread([this, &drained, deadline] {
        drained.WaitForNotificationWithDeadline(absl::FromChrono(deadline));
        cimd_resolver_->Stop();
      });
    }
    server_->Shutdown(deadline);
    server_->Wait();
    drained.Notify();
    if (cimd_stopper.joinable()) cimd_stopper.join();
  }
  if (health_ != nullptr) health_->Stop();
  // No call can record a use any more: the last batch goes to the store while it is still open.
  // The reaper flushes last uses: it stops first.
  if (reaper_ != nullptr) reaper_->Stop();
  if (last_use_ != nullptr) last_use_->Stop();
  // /readyz said 503 through the whole drain; it goes before the store, which /metrics reads.
  if (ops_ != nullptr) ops_->Stop();
  // Every acknowledged write is already synced; closing releases the RocksDB lock for a restart.
  store_.reset();
  common::Log(common::LogLevel::kInfo, "server_stopped");
  common::FlushLogs();
}

void ServerApp::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace clientreg::server
