#ifndef CLIENTREG_TESTS_E2E_SHIPPED_BINARIES_H_
#define CLIENTREG_TESTS_E2E_SHIPPED_BINARIES_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace clientreg::testing {

// clientreg-server on 127.0.0.1:`port` with `data_dir`, plus an ops port unless `ops_port` is 0; its output is
// appended to `log_path`.
std::unique_ptr<ChildProcess> StartServerBinary(const std::string& data_dir, uint16_t port, uint16_t ops_port,
                                                const std::string& log_path);
// clientreg-gateway on 127.0.0.1:`port` in front of the server on `server_port`, plus an ops port unless `ops_port`
// is 0, and `extra_arguments` (e.g. "--config=FILE"); its output is appended to `log_path`.
std::unique_ptr<ChildProcess> StartGatewayBinary(uint16_t port, uint16_t server_port, uint16_t ops_port,
                                                 const std::string& log_path,
                                                 const std::vector<std::string>& extra_arguments = {});

// Polls GET `path` on 127.0.0.1:`port` until it answers `status`, for at most `timeout`; returns the last status
// seen (0: no response).
int WaitForHttpStatus(uint16_t port, std::string_view path, int status, std::chrono::milliseconds timeout);

// A client that got 201, with what proves it later.
struct Registration {
  std::string client_id;
  std::string client_secret;  // empty for a public client
  std::string registration_access_token;
  std::string configuration_path;  // the path of its registration_client_uri
  int round = 0;
};

// What the load saw, request by request. Every request that was sent ends in exactly one of: a complete response
// (counted by status), a close before any byte of a response, a response cut short or unparseable, or a timeout.
struct LoadCounts {
  std::map<int, int64_t> statuses;
  int64_t closed_before_response = 0;  // EOF or reset with no byte of a response: the client may retry
  int64_t broken = 0;                  // bytes came, but no whole HTTP response: truncated or malformed
  int64_t timed_out = 0;               // nothing within the socket timeout: a hang
  int64_t bad_201 = 0;                 // a 201 whose body lacks client_id, token or configuration URI
  int64_t not_sent = 0;                // connect or send failed, so the gateway never had the request
  int64_t closing = 0;                 // complete responses with `Connection: close` (a drain sends those)

  int64_t Sent() const;
};

// Client threads POSTing registrations to the gateway over keep-alive connections (a new connection after a close
// or a failure), until Stop. One request in three registers a public client ("token_endpoint_auth_method":"none").
class RegistrationLoad {
 public:
  // Every read and write on a connection times out after this; far above the gateway's RPC deadline (5 s).
  static constexpr int kSocketTimeoutSeconds = 12;

  RegistrationLoad(uint16_t gateway_port, int threads);
  ~RegistrationLoad();
  RegistrationLoad(const RegistrationLoad&) = delete;
  RegistrationLoad& operator=(const RegistrationLoad&) = delete;

  // Registrations acknowledged from now on are tagged with `round`.
  void set_round(int round) { round_.store(round); }
  // Blocks until `count` registrations of the current round got 201, or `timeout` passes; returns whether they did.
  bool WaitForCreated(int64_t count, std::chrono::milliseconds timeout) const;
  // Stops the threads after their current request, and joins them.
  void Stop();

  std::vector<Registration> registrations() const;
  LoadCounts counts() const;
  // Descriptions of the first few broken, timed-out or bad-201 exchanges.
  std::vector<std::string> anomalies() const;

 private:
  void Run(int thread_index);
  void Record(std::string anomaly);

  const uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> round_{0};
  mutable absl::Mutex mutex_;
  std::vector<Registration> registrations_ ABSL_GUARDED_BY(mutex_);
  std::map<int, int64_t> created_by_round_ ABSL_GUARDED_BY(mutex_);
  LoadCounts counts_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> anomalies_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

// GETs every registration's configuration path on the gateway with its token; returns one line per client that
// did not answer 200 with its own client_id (empty: all were durable and readable).
std::vector<std::string> UnreadableRegistrations(uint16_t gateway_port, const std::vector<Registration>& registrations);

// The status counts as "201:40 503:7", for logs.
std::string FormatStatuses(const std::map<int, int64_t>& statuses);

// A fresh private directory under the test temp dir.
std::string MakeTempDir(const std::string& prefix);

// Expects that the load saw only 201, 503 and 504: what a gateway that stays up answers while its server dies or
// drains.
void ExpectOnlyCreatedOrUnavailable(const LoadCounts& counts);
// Expects every registration to be readable through the gateway (UnreadableRegistrations is empty).
void ExpectDurable(uint16_t gateway_port, const std::vector<Registration>& registrations);

// A fixture for the shipped binaries: a fresh directory per test holds the data dir and both logs, and is kept
// (its path printed) when the test fails. The processes live in server_ and gateway_; a process still running at
// the end is killed.
class ShippedBinariesTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds kStartTimeout{30000};

  void SetUp() override;
  void TearDown() override;

  // Starts clientreg-server on the data dir and waits for its port. Use with ASSERT_NO_FATAL_FAILURE.
  void StartServer(uint16_t port, uint16_t ops_port = 0);
  // Starts clientreg-gateway and waits until its public /readyz says 200. Use with ASSERT_NO_FATAL_FAILURE.
  void StartGateway(uint16_t port, uint16_t server_port, uint16_t ops_port = 0);

  std::string dir_;
  std::string data_dir_;
  std::unique_ptr<ChildProcess> server_;
  std::unique_ptr<ChildProcess> gateway_;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_E2E_SHIPPED_BINARIES_H_
