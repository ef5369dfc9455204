#include "gateway/gateway_app.h"

#include <future>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/build_info.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/ops_endpoints.h"
#include "common/server_channel.h"
#include "common/status_macros.h"
#include "common/tls_files.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace clientreg::gateway {
namespace {

constexpr std::chrono::milliseconds kMaxReconnectBackoff{5000};

// Asks the server what it publishes, waiting at most the client's RPC deadline. Called before listening, on the
// starting thread, never on an Asio thread.
absl::StatusOr<clientreg::v1::ServerMetadata> FetchServerMetadata(RegistrationClient& client) {
  std::promise<std::pair<grpc::Status, clientreg::v1::ServerMetadata>> answer;
  std::future<std::pair<grpc::Status, clientreg::v1::ServerMetadata>> result = answer.get_future();
  client.GetServerMetadata({}, {}, [&answer](grpc::Status status, clientreg::v1::ServerMetadata metadata) {
    answer.set_value({std::move(status), std::move(metadata)});
  });
  auto [status, metadata] = result.get();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("GetServerMetadata failed: ", status.error_message()));
  }
  // Every route hangs off the issuer; without it the gateway would serve the wrong URLs.
  if (metadata.issuer().empty()) return absl::FailedPreconditionError("the server publishes no issuer");
  return metadata;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::Start(const clientreg::config::v1::GatewayConfig& config,
                                                              std::chrono::milliseconds server_wait) {
  std::unique_ptr<GatewayApp> app(new GatewayApp());

  HttpServerOptions http;
  ASSIGN_OR_RETURN(common::HostPort listen, common::SplitHostPort(config.listen_address()));
  http.address = std::move(listen.host);
  http.port = listen.port;
  http.threads = config.threads();
  http.max_connections = config.max_connections();
  http.max_header_bytes = config.limits().max_header_bytes();
  http.max_body_bytes = config.limits().max_body_bytes();
  http.read_timeout = std::chrono::milliseconds(config.read_timeout_ms());
  for (const std::string& cidr : config.trusted_proxies()) {
    ASSIGN_OR_RETURN(common::IpNetwork proxies, common::IpNetwork::Parse(cidr));
    http.trusted_proxies.push_back(std::move(proxies));
  }
  http.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms());
  if (config.has_tls()) {
    // Before waiting for the server: a certificate that cannot load fails start-up at once.
    ASSIGN_OR_RETURN(app->tls_,
                     TlsContextHolder::Create(config.tls().certificate_chain_file(), config.tls().private_key_file()));
    http.tls = app->tls_;
  }

  // One long-lived channel for the process: HTTP/2 multiplexes every call over it.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // No gRPC-level retries: a Register is not idempotent (a replay could create a second client), and the retry
  // filter keeps a copy of every request for a replay that must never happen. The HTTP caller decides on a 503.
  arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Channelz keeps per-call counters and a registry entry nobody here reads.
  arguments.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // gRPC's default backoff grows to two minutes between attempts; a restarted server must be back in the gateway's
  // readiness within seconds, not minutes.
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(kMaxReconnectBackoff.count()));
  ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      common::ServerChannelCredentials(config.has_server_tls() ? &config.server_tls() : nullptr, arguments));
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(config.server_address(), credentials, arguments);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + server_wait)) {
    return absl::UnavailableError(
        absl::StrCat("server at ", config.server_address(), " did not answer within ", server_wait.count(), " ms"));
  }

  RegistrationClient::Options client_options;
  client_options.max_inflight = config.max_inflight_rpcs();
  client_options.max_queued = config.max_queued_rpcs();
  client_options.deadline = std::chrono::milliseconds(config.rpc_deadline_ms());
  if (!config.server_token_file().empty()) {
    // ValidateGatewayConfig allows a token only where it may be sent (TLS, or a local server).
    ASSIGN_OR_RETURN(const std::string token, common::ReadBearerTokenFile(config.server_token_file()));
    client_options.authorization = common::BearerAuthorization(token);
  }
  app->registration_ = std::make_unique<RegistrationClient>(channel, client_options);

  // The issuer places the routes and config never changes at run time, so it is read once, before listening.
  ASSIGN_OR_RETURN(clientreg::v1::ServerMetadata server_metadata, FetchServerMetadata(*app->registration_));

  app->health_ = std::make_unique<UpstreamHealth>(std::move(channel), UpstreamHealth::Options());
  app->health_->Start();

  common::RegisterProcessMetrics(app->metrics_);
  const RegistrationClient* registration = app->registration_.get();
  app->gateway_metrics_ =
      std::make_unique<GatewayMetrics>(app->metrics_, [registration] { return registration->inflight(); });

  const std::string issuer = server_metadata.issuer();
  const UpstreamHealth* health = app->health_.get();
  Router::Options router_options;
  router_options.server_metadata = std::move(server_metadata);
  router_options.limits = config.limits();
  router_options.cors_allowed_origins.assign(config.cors_allowed_origins().begin(),
                                             config.cors_allowed_origins().end());
  router_options.readiness = [health] { return health->Checks(); };
  app->router_ = std::make_unique<Router>(std::move(router_options), app->registration_.get());

  const Router* router = app->router_.get();
  app->recorder_ = std::make_unique<ExchangeRecorder>(
      app->gateway_metrics_.get(), [router](std::string_view target) { return router->Classify(target); });
  app->http_ = std::make_unique<HttpServer>(
      http,
      [router](HttpRequest request, std::function<void(HttpResponse)> done) {
        router->Handle(std::move(request), std::move(done));
      },
      app->recorder_.get());
  RETURN_IF_ERROR(app->http_->Start());

  if (!config.ops_listen_address().empty()) {
    ASSIGN_OR_RETURN(app->ops_,
                     common::StartOpsEndpoints(
                         config.ops_listen_address(), [health] { return health->Checks(); }, &app->metrics_));
  }
  // The gateway's config holds no secret (addresses, limits, origins), so operators see exactly what runs.
  std::string effective_config;
  if (!google::protobuf::util::MessageToJsonString(config, &effective_config).ok()) effective_config = "?";
  common::Log(common::LogLevel::kInfo, "gateway_started",
              {{"listen", config.listen_address()},
               {"scheme", app->tls_ != nullptr ? "https" : "http"},
               {"port", std::to_string(app->http_->port())},
               {"ops_port", std::to_string(app->ops_port())},
               {"server", config.server_address()},
               {"issuer", issuer},
               {"ready", app->health_->Ready() ? "true" : "false"},
               {"version", common::BuildVersion()},
               {"revision", common::BuildRevision()},
               {"config", effective_config}});
  return app;
}

GatewayApp::~GatewayApp() { Shutdown(std::chrono::milliseconds(0)); }

absl::Status GatewayApp::ReloadTls() {
  if (tls_ == nullptr) {
    common::Log(common::LogLevel::kInfo, "tls_reload_skipped", {{"reason", "no tls in the config"}});
    return absl::OkStatus();
  }
  return tls_->Reload();
}

void GatewayApp::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  common::Log(common::LogLevel::kInfo, "gateway_draining", {{"grace_ms", std::to_string(grace.count())}});
  // Readiness first: /readyz answers 503 while in-flight requests finish, so load balancers stop sending.
  if (health_ != nullptr) health_->SetDraining();
  // Then the HTTP side; calls still in flight past `grace` end by their deadline, and the members' destruction
  // order keeps the client and router alive until then.
  if (http_ != nullptr) http_->Shutdown(grace);
  if (health_ != nullptr) health_->Stop();
  // Last: the ops port's /readyz says 503 until the very end of the drain.
  if (ops_ != nullptr) ops_->Stop();
  common::Log(common::LogLevel::kInfo, "gateway_stopped");
  common::FlushLogs();
}

}  // namespace clientreg::gateway
