#ifndef CLIENTREG_TESTS_TOOLS_CLI_SUPPORT_H_
#define CLIENTREG_TESTS_TOOLS_CLI_SUPPORT_H_

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "tools/admin_commands.h"

namespace clientreg::testing {

// What one run of clientreg-admin (RunAdminCli, in-process) left: its exit code and what it wrote.
struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs clientreg-admin with `args` (no CLIENTREG_SERVER).
inline CliResult RunCli(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  CliResult result;
  result.code = tools::RunAdminCli(args, nullptr, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

// Runs clientreg-admin against 127.0.0.1:`port`: --server first, then `args`.
inline CliResult RunCliOn(int port, std::vector<std::string> args) {
  args.insert(args.begin(), absl::StrCat("--server=127.0.0.1:", port));
  return RunCli(args);
}

// One service served in plain text on a fresh loopback port, for the CLI to call; stopped when destroyed.
class LoopbackGrpcServer {
 public:
  // `service` must outlive the server. port() is 0 if it could not listen.
  explicit LoopbackGrpcServer(grpc::Service* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) port_ = 0;
  }

  ~LoopbackGrpcServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }

  LoopbackGrpcServer(const LoopbackGrpcServer&) = delete;
  LoopbackGrpcServer& operator=(const LoopbackGrpcServer&) = delete;

  int port() const { return port_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_TOOLS_CLI_SUPPORT_H_
