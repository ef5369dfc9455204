// Crash safety through the whole stack (issue 10): a registration load over HTTP through the shipped gateway while
// the shipped server is killed with SIGKILL and restarted on the same data dir, several rounds. Every client that
// got a 201 is readable afterwards with its registration access token and authenticates with its secret.
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/e2e/shipped_binaries.h"
#include "tests/support/child_process.h"

namespace clientreg::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kRounds = 3;
constexpr int kClientThreads = 6;
// Acknowledged registrations in a round before its kill, so that every round has something to lose.
constexpr int64_t kCreatedBeforeKill = 30;
// How long the load runs against a gateway whose server is dead.
constexpr milliseconds kLoadWhileDown{700};

using CrashThroughGatewayTest = ShippedBinariesTest;

TEST_F(CrashThroughGatewayTest, KillNineOfTheServerLosesNoAcknowledgedRegistration) {
  const uint16_t server_port = FreeLoopbackPort();
  const uint16_t gateway_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(StartServer(server_port));
  ASSERT_NO_FATAL_FAILURE(StartGateway(gateway_port, server_port));

  RegistrationLoad load(gateway_port, kClientThreads);
  for (int round = 1; round <= kRounds; ++round) {
    load.set_round(round);
    ASSERT_TRUE(load.WaitForCreated(kCreatedBeforeKill, seconds(20))) << "round " << round;
    // A different moment of the write stream in each round.
    std::this_thread::sleep_for(milliseconds(100 * round));
    ASSERT_TRUE(server_->Kill().has_value());
    std::this_thread::sleep_for(kLoadWhileDown);
    // Same data dir and port: the gateway reconnects by itself.
    ASSERT_NO_FATAL_FAILURE(StartServer(server_port));
    ASSERT_EQ(WaitForHttpStatus(gateway_port, "/readyz", 200, kStartTimeout), 200) << "round " << round;
  }
  load.Stop();

  const LoadCounts counts = load.counts();
  const std::vector<Registration> registrations = load.registrations();
  std::printf("%lld requests sent over %d rounds: %s\n", static_cast<long long>(counts.Sent()), kRounds,
              FormatStatuses(counts.statuses).c_str());
  for (int round = 1; round <= kRounds; ++round) {
    int64_t created = 0;
    for (const Registration& registration : registrations) created += registration.round == round ? 1 : 0;
    std::printf("round %d: %lld registrations got 201\n", round, static_cast<long long>(created));
    EXPECT_GT(created, 0) << "round " << round;
  }
  // The gateway stayed up: every request it took got a whole HTTP response, and a lost server is a 503 or 504.
  EXPECT_EQ(counts.broken, 0);
  EXPECT_EQ(counts.timed_out, 0);
  EXPECT_EQ(counts.bad_201, 0);
  EXPECT_EQ(counts.closed_before_response, 0);
  EXPECT_EQ(counts.not_sent, 0);
  for (const std::string& anomaly : load.anomalies()) ADD_FAILURE() << anomaly;
  ExpectOnlyCreatedOrUnavailable(counts);
  ExpectDurable(gateway_port, registrations);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_port), grpc::InsecureChannelCredentials());
  auto authentication = clientreg::v1::ClientAuthentication::NewStub(channel);
  int64_t authenticated = 0;
  std::set<std::string> failed;
  for (const Registration& registration : registrations) {
    if (registration.client_secret.empty()) continue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(5));
    clientreg::v1::AuthenticateClientRequest request;
    request.set_client_id(registration.client_id);
    request.set_client_secret(registration.client_secret);
    clientreg::v1::AuthenticateClientResponse response;
    const grpc::Status status = authentication->AuthenticateClient(&context, request, &response);
    if (status.ok() && response.client().client_id() == registration.client_id) {
      ++authenticated;
    } else {
      failed.insert(registration.client_id + ": " + status.error_message());
    }
  }
  std::printf("%lld confidential clients authenticated after the crashes\n", static_cast<long long>(authenticated));
  EXPECT_GT(authenticated, 0);
  EXPECT_TRUE(failed.empty()) << failed.size() << " clients failed to authenticate, first: " << *failed.begin();

  EXPECT_EQ(gateway_->Terminate(seconds(15)), "exited with status 0");
  EXPECT_EQ(server_->Terminate(seconds(15)), "exited with status 0");
}

}  // namespace
}  // namespace clientreg::testing
