// clientreg-gateway: the public HTTP/1.1 JSON API in front of clientreg-server. Flags override the config file:
//   clientreg-gateway [--config=FILE] [--listen=HOST:PORT] [--server=HOST:PORT]
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "gateway/gateway_app.h"
#include "gateway/gateway_config.h"

namespace {

// How long start-up waits for the server before giving up.
constexpr std::chrono::seconds kServerWait(60);
constexpr std::chrono::seconds kShutdownGrace(10);

int Fail(absl::string_view message) {
  std::fprintf(stderr, "%s: %.*s\n", "clientreg-gateway", static_cast<int>(message.size()), message.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, listen, server;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    const auto value = [&](std::string_view name, std::string& out) {
      if (arg.substr(0, name.size()) != name) return false;
      out = std::string(arg.substr(name.size()));
      return true;
    };
    if (!(value("--config=", config_path) || value("--listen=", listen) || value("--server=", server))) {
      return Fail(absl::StrCat("unknown argument ", std::string(arg),
                               "; usage: clientreg-gateway [--config=FILE] [--listen=HOST:PORT] [--server=HOST:PORT]"));
    }
  }
  auto config = clientreg::gateway::LoadGatewayConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (!listen.empty()) config->set_listen_address(listen);
  if (!server.empty()) config->set_server_address(server);
  if (const absl::Status valid = clientreg::gateway::ValidateGatewayConfig(*config); !valid.ok()) {
    return Fail(valid.message());
  }

  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A peer that closes mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  auto app = clientreg::gateway::GatewayApp::Start(*config, kServerWait);
  if (!app.ok()) return Fail(app.status().message());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  clientreg::common::Log(clientreg::common::LogLevel::kInfo, "gateway_stopping",
                         {{"signal", std::to_string(signal_number)}});
  (*app)->Shutdown(kShutdownGrace);
  return 0;
}
