#include "tests/support/test_postgres.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"

namespace clientreg::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin/";
constexpr char kDatabase[] = "clientreg";
// initdb's superuser; trust authentication lets any local connection in as it.
constexpr char kSuperuser[] = "postgres";
// A slow CI machine still initdbs and starts well within this.
constexpr std::chrono::seconds kToolTimeout{120};

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The uid and gid of the `postgres` user when this process runs as root (which the server refuses), else nullopt.
std::optional<std::pair<uid_t, gid_t>> ServerOwner() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) return std::nullopt;
  return std::make_pair(user->pw_uid, user->pw_gid);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start() {
  // Under /tmp, not the test temp dir: a unix socket path may not exceed 107 bytes.
  std::string dir = "/tmp/clientreg-pg-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return absl::UnavailableError("cannot make a temp dir for PostgreSQL");
  const uint16_t port = FreeLoopbackPort();
  std::unique_ptr<TestPostgres> server(new TestPostgres(dir, port));
  if (port == 0) return absl::UnavailableError("no free loopback port for PostgreSQL");
  if (::geteuid() == 0) {
    const std::optional<std::pair<uid_t, gid_t>> owner = ServerOwner();
    if (!owner.has_value()) return absl::UnavailableError("running as root, and there is no `postgres` user");
    if (::chown(dir.c_str(), owner->first, owner->second) != 0) {
      return absl::UnavailableError(absl::StrCat("cannot chown ", dir, " to postgres"));
    }
  }
  if (absl::Status init = server->Init(); !init.ok()) return init;
  return server;
}

TestPostgres::~TestPostgres() {
  if (running_) {
    const absl::Status stopped = Stop();
    if (!stopped.ok()) std::fprintf(stderr, "TestPostgres: %s\n", std::string(stopped.message()).c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestPostgres::dsn() const {
  return absl::StrCat("host=", dir_, "/sock port=", port_, " dbname=", kDatabase, " user=", kSuperuser);
}

std::string TestPostgres::tcp_dsn() const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=", kDatabase, " user=", kSuperuser);
}

absl::Status TestPostgres::Init() {
  const std::string data = dir_ + "/data";
  // --no-sync: a crash during initdb only fails this test; the server itself runs with fsync on.
  if (absl::Status made = RunTool(
          "initdb",
          {"-D", data, "--no-sync", "-A", "trust", "-U", kSuperuser, "-E", "UTF8", "--locale=C", "--no-instructions"},
          "initdb.log");
      !made.ok()) {
    return made;
  }
  const std::string socket_dir = dir_ + "/sock";
  if (::mkdir(socket_dir.c_str(), 0700) != 0) return absl::UnavailableError("cannot make the socket dir");
  if (const std::optional<std::pair<uid_t, gid_t>> owner = ServerOwner();
      owner.has_value() && ::chown(socket_dir.c_str(), owner->first, owner->second) != 0) {
    return absl::UnavailableError("cannot chown the socket dir to postgres");
  }
  std::ofstream conf(data + "/postgresql.conf", std::ios::app);
  // fsync and synchronous_commit stay on: the tests check that an acknowledged write survives a restart.
  conf << "\nlisten_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = '" << socket_dir << "'\n"
       << "fsync = on\nsynchronous_commit = on\n"
       << "shared_buffers = 16MB\nmax_connections = 60\n"
       << "logging_collector = off\n";
  conf.close();
  if (!conf) return absl::UnavailableError("cannot write postgresql.conf");
  if (absl::Status started = StartServer(); !started.ok()) return started;
  return RunTool("createdb", {"-h", socket_dir, "-p", std::to_string(port_), "-U", kSuperuser, kDatabase},
                 "createdb.log");
}

absl::Status TestPostgres::StartServer() {
  if (absl::Status started = RunTool(
          "pg_ctl", {"-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-t", "60", "start"}, "pg_ctl.log");
      !started.ok()) {
    return absl::UnavailableError(absl::StrCat(started.message(), "\nserver.log:\n", ReadWhole(dir_ + "/server.log")));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status TestPostgres::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status stopped =
      RunTool("pg_ctl", {"-D", dir_ + "/data", "-m", "fast", "-w", "-t", "60", "stop"}, "pg_ctl.log");
  if (stopped.ok()) running_ = false;
  return stopped;
}

absl::Status TestPostgres::Restart() {
  if (running_) return absl::FailedPreconditionError("the server is running");
  return StartServer();
}

absl::Status TestPostgres::RunTool(const std::string& tool, const std::vector<std::string>& arguments,
                                   const std::string& log_name) const {
  const std::string binary = kBinDir + tool;
  std::string program = binary;
  std::vector<std::string> argv = arguments;
  if (ServerOwner().has_value()) {
    program = "/usr/sbin/runuser";
    argv.insert(argv.begin(), {"-u", "postgres", "--", binary});
  }
  const std::string log_path = dir_ + "/" + log_name;
  ChildProcess child(program, argv, log_path);
  if (!child.running()) return absl::UnavailableError(absl::StrCat("cannot fork for ", tool));
  const std::optional<int> status = child.WaitForExit(kToolTimeout);
  if (!status.has_value()) {
    return absl::UnavailableError(absl::StrCat(tool, " did not finish in time; log:\n", ReadWhole(log_path)));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::UnavailableError(
        absl::StrCat(tool, " ", DescribeWaitStatus(*status), "; log:\n", ReadWhole(log_path)));
  }
  return absl::OkStatus();
}

}  // namespace clientreg::testing
