// clientreg-server: the gRPC backend. Flags override the config file:
//   clientreg-server [--config=FILE] [--listen=HOST:PORT] [--data_dir=DIR] [--issuer=URL]
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "server/server_app.h"
#include "server/server_config.h"

namespace {

int Fail(absl::string_view message) {
  std::fprintf(stderr, "%s: %.*s\n", "clientreg-server", static_cast<int>(message.size()), message.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, listen, data_dir, issuer;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    const auto value = [&](std::string_view name, std::string& out) {
      if (arg.substr(0, name.size()) != name) return false;
      out = std::string(arg.substr(name.size()));
      return true;
    };
    if (!(value("--config=", config_path) || value("--listen=", listen) || value("--data_dir=", data_dir) ||
          value("--issuer=", issuer))) {
      return Fail(absl::StrCat("unknown argument ", std::string(arg),
                               "; usage: clientreg-server [--config=FILE] "
                               "[--listen=HOST:PORT] [--data_dir=DIR] [--issuer=URL]"));
    }
  }
  auto config = clientreg::server::LoadServerConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (!listen.empty()) config->set_listen_address(listen);
  if (!data_dir.empty()) config->set_data_dir(data_dir);
  if (!issuer.empty()) config->set_issuer(issuer);
  if (const absl::Status valid = clientreg::server::ValidateServerConfig(*config); !valid.ok()) {
    return Fail(valid.message());
  }

  // Block the stop signals before any thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto app = clientreg::server::ServerApp::Start(*config);
  if (!app.ok()) return Fail(app.status().message());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  clientreg::common::Log(clientreg::common::LogLevel::kInfo, "server_stopping",
                         {{"signal", std::to_string(signal_number)}});
  (*app)->Shutdown(std::chrono::seconds(config->shutdown_grace_seconds()));
  return 0;
}
