// clientreg-gateway: the public HTTP/1.1 JSON API in front of clientreg-server. Flags override the config file:
//   clientreg-gateway [--config=FILE] [--listen=HOST:PORT] [--ops_listen=HOST:PORT] [--server=HOST:PORT]
//                     [--check-config]
// --check-config validates the config (file and flags) and exits: 0 if it is valid, 2 with the field named if not.
// It loads the tls certificate chain and key, so it also proves they are readable and match.
// SIGTERM and SIGINT drain and exit; SIGHUP re-reads the tls certificate chain and key files.
#include <chrono>
#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "common/logging.h"
#include "common/process.h"
#include "gateway/gateway_app.h"
#include "gateway/gateway_config.h"

namespace {

// How long start-up waits for the server before giving up.
constexpr std::chrono::seconds kServerWait(60);
constexpr std::chrono::seconds kShutdownGrace(10);

int Fail(absl::string_view message) {
  // Lines logged before the failure come first.
  clientreg::common::FlushLogs();
  std::fprintf(stderr, "clientreg-gateway: %.*s\n", static_cast<int>(message.size()), message.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, listen, ops_listen, server, check_config;
  if (const absl::Status flags = clientreg::common::ParseFlags(argc, argv,
                                                               {{"--config=", &config_path},
                                                                {"--listen=", &listen},
                                                                {"--ops_listen=", &ops_listen},
                                                                {"--server=", &server},
                                                                {"--check-config", &check_config}});
      !flags.ok()) {
    return Fail(std::string(flags.message()) +
                "; usage: clientreg-gateway [--config=FILE] [--listen=HOST:PORT] [--ops_listen=HOST:PORT] "
                "[--server=HOST:PORT] [--check-config]");
  }
  auto config = clientreg::gateway::LoadGatewayConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (!listen.empty()) config->set_listen_address(listen);
  if (!ops_listen.empty()) config->set_ops_listen_address(ops_listen);
  if (!server.empty()) config->set_server_address(server);
  if (const absl::Status valid = clientreg::gateway::ValidateGatewayConfig(*config); !valid.ok()) {
    return Fail(valid.message());
  }
  if (check_config == "true") {
    std::printf("clientreg-gateway: config is valid\n");
    return 0;
  }
  // Validated above, so the level parses.
  clientreg::common::SetMinLogLevel(
      clientreg::common::ParseLogLevel(config->log_level()).value_or(clientreg::common::LogLevel::kInfo));

  clientreg::common::DisableMutexDeadlockDetection();
  clientreg::common::BlockStopSignals();
  auto app = clientreg::gateway::GatewayApp::Start(*config, kServerWait);
  if (!app.ok()) return Fail(app.status().message());

  // SIGHUP reloads the certificate and key; the holder logs the outcome, and a failure keeps the old pair serving.
  const int signal_number = clientreg::common::WaitForStopSignal([&app] { (*app)->ReloadTls().IgnoreError(); });
  clientreg::common::Log(clientreg::common::LogLevel::kInfo, "gateway_stopping",
                         {{"signal", std::to_string(signal_number)}});
  // Logs gateway_draining and gateway_stopped, and flushes the log.
  (*app)->Shutdown(kShutdownGrace);
  return 0;
}
