// SIGTERM under load (issue 10, "Config and lifecycle"): the shipped gateway, and the shipped server behind a
// gateway that stays up, each drain while client threads keep POSTing registrations over keep-alive connections.
// Every request sent gets a complete response or a close before any byte of one, never a truncated response or a
// hang; the process exits 0 within its grace period; every 201 is durable.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/shipped_binaries.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kClientThreads = 6;
constexpr int64_t kCreatedBeforeSignal = 300;
// Both binaries drain for 10 s by default; the margin covers a loaded 2-core machine.
constexpr milliseconds kExitTimeout{15000};

// Polls GET /readyz on an ops port until it stops answering or Stop, and remembers every status it saw. Best
// effort: a drain can end before a poll lands in it.
class ReadinessWatcher {
 public:
  explicit ReadinessWatcher(uint16_t port)
      : thread_([this, port] {
          const std::string request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
          while (!stop_.load()) {
            const std::optional<RawResponse> response = RoundTrip(port, request);
            if (response.has_value()) {
              seen_not_ready_.store(seen_not_ready_.load() || response->status == 503);
            } else if (signalled_.load()) {
              return;
            }
            std::this_thread::sleep_for(milliseconds(5));
          }
        }) {}
  ~ReadinessWatcher() {
    stop_.store(true);
    thread_.join();
  }

  // From now on, an ops port that does not answer means the process is gone.
  void Signalled() { signalled_.store(true); }
  bool seen_not_ready() const { return seen_not_ready_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> signalled_{false};
  std::atomic<bool> seen_not_ready_{false};
  std::thread thread_;
};

// Sends SIGTERM to `process` (named `name`) under load, and expects it to exit 0 within kExitTimeout; reports how
// long the drain took and whether its ops /readyz was seen at 503 meanwhile.
void DrainWithSigterm(ChildProcess& process, uint16_t ops_port, const char* name) {
  ReadinessWatcher readiness(ops_port);
  const auto signalled = std::chrono::steady_clock::now();
  readiness.Signalled();
  ASSERT_TRUE(process.Signal(SIGTERM));
  const std::optional<int> exit_status = process.WaitForExit(kExitTimeout);
  ASSERT_TRUE(exit_status.has_value()) << name << " still runs " << kExitTimeout.count() << " ms after SIGTERM";
  EXPECT_EQ(DescribeWaitStatus(*exit_status), "exited with status 0") << name;
  std::printf("%s exited %lld ms after SIGTERM; ops /readyz seen at 503: %s\n", name,
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - signalled).count()),
              readiness.seen_not_ready() ? "yes" : "no");
}

// What every drain must leave: no truncated response, no hang, no 201 without its client, and some 201s.
void ExpectCleanExchanges(const RegistrationLoad& load) {
  const LoadCounts counts = load.counts();
  std::printf(
      "%lld requests sent: %s; %lld answered with Connection: close, %lld closed before a response, %lld not "
      "sent (gateway gone)\n",
      static_cast<long long>(counts.Sent()), FormatStatuses(counts.statuses).c_str(),
      static_cast<long long>(counts.closing), static_cast<long long>(counts.closed_before_response),
      static_cast<long long>(counts.not_sent));
  EXPECT_EQ(counts.broken, 0);
  EXPECT_EQ(counts.timed_out, 0);
  EXPECT_EQ(counts.bad_201, 0);
  for (const std::string& anomaly : load.anomalies()) ADD_FAILURE() << anomaly;
  const auto created = counts.statuses.find(201);
  EXPECT_TRUE(created != counts.statuses.end() && created->second > 0);
}

using SigtermDrainTest = ShippedBinariesTest;

TEST_F(SigtermDrainTest, GatewayDrainsUnderLoad) {
  const uint16_t server_port = FreeLoopbackPort();
  const uint16_t gateway_port = FreeLoopbackPort();
  const uint16_t gateway_ops_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(StartServer(server_port));
  ASSERT_NO_FATAL_FAILURE(StartGateway(gateway_port, server_port, gateway_ops_port));

  RegistrationLoad load(gateway_port, kClientThreads);
  ASSERT_TRUE(load.WaitForCreated(kCreatedBeforeSignal, seconds(20)));
  ASSERT_NO_FATAL_FAILURE(DrainWithSigterm(*gateway_, gateway_ops_port, "clientreg-gateway"));
  // The clients now meet a closed port for a moment.
  std::this_thread::sleep_for(milliseconds(200));
  load.Stop();
  ExpectCleanExchanges(load);
  // The drain did meet requests in flight, and answered them before closing.
  EXPECT_GT(load.counts().closing, 0);

  ASSERT_NO_FATAL_FAILURE(StartGateway(gateway_port, server_port));
  ExpectDurable(gateway_port, load.registrations());
  EXPECT_EQ(gateway_->Terminate(kExitTimeout), "exited with status 0");
  EXPECT_EQ(server_->Terminate(kExitTimeout), "exited with status 0");
}

TEST_F(SigtermDrainTest, ServerDrainsUnderLoadBehindALiveGateway) {
  const uint16_t server_port = FreeLoopbackPort();
  const uint16_t server_ops_port = FreeLoopbackPort();
  const uint16_t gateway_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(StartServer(server_port, server_ops_port));
  ASSERT_NO_FATAL_FAILURE(StartGateway(gateway_port, server_port));

  RegistrationLoad load(gateway_port, kClientThreads);
  load.set_round(1);
  ASSERT_TRUE(load.WaitForCreated(kCreatedBeforeSignal, seconds(20)));
  ASSERT_NO_FATAL_FAILURE(DrainWithSigterm(*server_, server_ops_port, "clientreg-server"));
  // The gateway answers without a server for a moment, then the server comes back on its data dir and port.
  std::this_thread::sleep_for(milliseconds(300));
  load.set_round(2);
  ASSERT_NO_FATAL_FAILURE(StartServer(server_port));
  ASSERT_EQ(WaitForHttpStatus(gateway_port, "/readyz", 200, kStartTimeout), 200);
  EXPECT_TRUE(load.WaitForCreated(10, seconds(20))) << "no 201 after the restart";
  load.Stop();
  ExpectCleanExchanges(load);
  // The gateway stayed up, so it answered every request it took; a server that is gone is a 503 or 504.
  const LoadCounts counts = load.counts();
  EXPECT_EQ(counts.closed_before_response, 0);
  EXPECT_EQ(counts.not_sent, 0);
  ExpectOnlyCreatedOrUnavailable(counts);

  ExpectDurable(gateway_port, load.registrations());
  EXPECT_EQ(gateway_->Terminate(kExitTimeout), "exited with status 0");
  EXPECT_EQ(server_->Terminate(kExitTimeout), "exited with status 0");
}

}  // namespace
}  // namespace clientreg::testing
