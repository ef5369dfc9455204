#ifndef CLIENTREG_TESTS_SUPPORT_TEST_POSTGRES_H_
#define CLIENTREG_TESTS_SUPPORT_TEST_POSTGRES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace clientreg::testing {

// A private PostgreSQL 15 server for one test, from Debian's `postgresql` package (/usr/lib/postgresql/15/bin): a
// cluster made by initdb in a new temp dir, listening on a unix socket in that dir and on 127.0.0.1 at a free port,
// with fsync on (durability is what the tests check), trust authentication and one database. As root (tests here run
// as root, and initdb and postgres refuse to), every server command runs as the `postgres` user through runuser, and
// the temp dir belongs to that user.
class TestPostgres {
 public:
  // Makes the cluster, starts the server and creates the database. Unavailable, with the command's log, if any step
  // fails; whatever was made is removed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TestPostgres>> Start();

  // Stops the server (pg_ctl stop -m fast) if it runs, and removes the temp dir.
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // A libpq connection string for the database, over the unix socket.
  std::string dsn() const;
  // The same database over TCP on 127.0.0.1.
  std::string tcp_dsn() const;
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // Stops the server (fast: open connections are closed, the cluster is checkpointed) and waits until it is down.
  [[nodiscard]] absl::Status Stop();
  // Starts the stopped server again on the same port and socket, with the same data, and waits until it accepts
  // connections.
  [[nodiscard]] absl::Status Restart();

 private:
  TestPostgres(std::string dir, uint16_t port) : dir_(std::move(dir)), port_(port) {}

  [[nodiscard]] absl::Status Init();
  [[nodiscard]] absl::Status StartServer();
  // Runs a server binary `tool` from the PostgreSQL bin dir with `arguments` as the cluster's owner, logging to
  // `log_name` in the temp dir; Unavailable with that log unless it exits with status 0.
  [[nodiscard]] absl::Status RunTool(const std::string& tool, const std::vector<std::string>& arguments,
                                     const std::string& log_name) const;

  const std::string dir_;
  const uint16_t port_;
  bool running_ = false;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_TEST_POSTGRES_H_
