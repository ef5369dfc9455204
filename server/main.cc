// clientreg-server: the gRPC backend. Flags override the config file:
//   clientreg-server [--config=FILE] [--listen=HOST:PORT] [--ops_listen=HOST:PORT] [--data_dir=DIR] [--issuer=URL]
//                    [--check-config]
// --check-config validates the config (file and flags) and exits: 0 if it is valid, 2 with the field named if not.
#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "common/logging.h"
#include "common/process.h"
#include "server/server_app.h"
#include "server/server_config.h"

namespace {

int Fail(absl::string_view message) {
  // Lines logged before the failure come first.
  clientreg::common::FlushLogs();
  std::fprintf(stderr, "clientreg-server: %.*s\n", static_cast<int>(message.size()), message.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, listen, ops_listen, data_dir, issuer, check_config;
  if (const absl::Status flags = clientreg::common::ParseFlags(argc, argv,
                                                               {{"--config=", &config_path},
                                                                {"--listen=", &listen},
                                                                {"--ops_listen=", &ops_listen},
                                                                {"--data_dir=", &data_dir},
                                                                {"--issuer=", &issuer},
                                                                {"--check-config", &check_config}});
      !flags.ok()) {
    return Fail(std::string(flags.message()) +
                "; usage: clientreg-server [--config=FILE] [--listen=HOST:PORT] [--ops_listen=HOST:PORT] "
                "[--data_dir=DIR] [--issuer=URL] [--check-config]");
  }
  auto config = clientreg::server::LoadServerConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (!listen.empty()) config->set_listen_address(listen);
  if (!ops_listen.empty()) config->set_ops_listen_address(ops_listen);
  if (!data_dir.empty()) config->set_data_dir(data_dir);
  if (!issuer.empty()) config->set_issuer(issuer);
  if (const absl::Status valid = clientreg::server::ValidateServerConfig(*config); !valid.ok()) {
    return Fail(valid.message());
  }
  if (check_config == "true") {
    std::printf("clientreg-server: config is valid\n");
    return 0;
  }
  // Validated above, so the level parses.
  clientreg::common::SetMinLogLevel(
      clientreg::common::ParseLogLevel(config->log_level()).value_or(clientreg::common::LogLevel::kInfo));

  clientreg::common::DisableMutexDeadlockDetection();
  clientreg::common::BlockStopSignals();
  auto app = clientreg::server::ServerApp::Start(*config);
  if (!app.ok()) return Fail(app.status().message());

  const int signal_number = clientreg::common::WaitForStopSignal();
  clientreg::common::Log(clientreg::common::LogLevel::kInfo, "server_stopping",
                         {{"signal", std::to_string(signal_number)}});
  (*app)->Shutdown(std::chrono::seconds(config->shutdown_grace_seconds()));
  return 0;
}
