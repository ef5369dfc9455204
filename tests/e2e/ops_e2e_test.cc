// End to end, the gateway's operability (issue 10): health and readiness on the public and ops ports, metrics on the
// ops port only, request ids from HTTP to the server's log, the access log, the drain order, --check-config.
#include <stdio.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/service_fixture.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRegisterPath[] = "/oauth/register";
constexpr char kValidBody[] = R"({"redirect_uris":["https://app.example.com/cb"],"client_name":"ops test"})";
// Passes the gateway's JSON mapping, fails the server's validation: a 400 the server logs at info.
constexpr char kServerRejectedBody[] = R"({"redirect_uris":["not a uri"]})";

std::string Get(std::string_view path, std::string_view extra_headers = "", std::string_view method = "GET") {
  std::string request(method);
  request += " ";
  request.append(path);
  request += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  request.append(extra_headers);
  request += "\r\n";
  return request;
}

RawResponse Fetch(uint16_t port, std::string_view request) {
  std::optional<RawResponse> response = RoundTrip(port, request);
  EXPECT_TRUE(response.has_value()) << "no response on port " << port << " to " << request;
  return response.value_or(RawResponse{});
}

// Polls GET `path` until it answers `status`, for at most `timeout`; returns the last status seen.
int WaitForStatus(uint16_t port, std::string_view path, int status, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int last = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::optional<RawResponse> response = RoundTrip(port, Get(path));
    last = response.has_value() ? response->status : 0;
    if (last == status) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

// The captured log lines with `"event":"<event>"`.
std::vector<std::string> LinesOf(const std::string& log, const std::string& event) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"event\":\"" + event + "\"") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

class OpsE2eTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    server_config_.set_ops_listen_address("127.0.0.1:0");
    gateway_config_.set_ops_listen_address("127.0.0.1:0");
    StartServer();
    StartGateway();
    ASSERT_NE(gateway_->ops_port(), 0);
    ASSERT_NE(server_->ops_port(), 0);
  }

  RawResponse Register(std::string_view body, std::string_view extra_headers = "") {
    return Fetch(http_port(), PostRequest(kRegisterPath, body, "application/json", extra_headers));
  }
};

TEST_F(OpsE2eTest, HealthAndReadinessOnThePublicAndOpsPorts) {
  for (const uint16_t port : {http_port(), gateway_->ops_port()}) {
    RawResponse response = Fetch(port, Get("/healthz"));
    EXPECT_EQ(response.status, 200) << port;
    EXPECT_EQ(response.body, R"({"status":"ok"})");
    EXPECT_EQ(response.Header("cache-control"), "no-store");

    response = Fetch(port, Get("/readyz"));
    EXPECT_EQ(response.status, 200) << port << " " << response.body;
    EXPECT_EQ(response.body, R"({"status":"ready","checks":{"server":{"status":"ok"},"draining":{"status":"ok"}}})");
    EXPECT_EQ(response.Header("cache-control"), "no-store");

    for (const char* path : {"/healthz", "/readyz"}) {
      RawConnection connection(port);
      ASSERT_TRUE(connection.Send(Get(path, "", "HEAD")));
      const std::optional<RawResponse> head = connection.Read(/*response_to_head=*/true);
      ASSERT_TRUE(head.has_value()) << path;
      EXPECT_EQ(head->status, 200) << path;
      EXPECT_NE(head->Header("content-length"), "0") << path;
      // Nothing follows the header: the next bytes are the answer to the next request.
      ASSERT_TRUE(connection.Send(Get("/healthz")));
      const std::optional<RawResponse> next = connection.Read();
      ASSERT_TRUE(next.has_value()) << path;
      EXPECT_EQ(next->status, 200);
      EXPECT_EQ(next->body, R"({"status":"ok"})");
    }
  }
  EXPECT_EQ(Fetch(server_->ops_port(), Get("/readyz")).status, 200);
}

TEST_F(OpsE2eTest, PublicHealthRoutesRefuseOtherMethods) {
  const RawResponse response = Fetch(http_port(), PostRequest("/readyz", "{}"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.Header("allow"), "GET, HEAD");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
}

TEST_F(OpsE2eTest, ReadinessFollowsTheServer) {
  // The server comes back on the port the gateway knows.
  server_config_.set_listen_address("127.0.0.1:" + std::to_string(server_->port()));
  StopServer();
  EXPECT_EQ(WaitForStatus(http_port(), "/readyz", 503, std::chrono::seconds(5)), 503);
  RawResponse response = Fetch(gateway_->ops_port(), Get("/readyz"));
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, HasSubstr(R"("server":{"status":"fail","detail":)"));
  EXPECT_THAT(response.body, HasSubstr(R"("draining":{"status":"ok"})"));
  // Liveness does not depend on the server.
  EXPECT_EQ(Fetch(http_port(), Get("/healthz")).status, 200);

  StartServer();
  EXPECT_EQ(WaitForStatus(http_port(), "/readyz", 200, std::chrono::seconds(15)), 200);
  EXPECT_EQ(Fetch(gateway_->ops_port(), Get("/readyz")).status, 200);
  EXPECT_EQ(Register(kValidBody).status, 201);
}

TEST_F(OpsE2eTest, MetricsOnTheOpsPortOnly) {
  ASSERT_EQ(Register(kValidBody).status, 201);
  ASSERT_EQ(Register(kServerRejectedBody).status, 400);
  ASSERT_EQ(Register(R"({"redirect_uris":"https://app.example.com/cb"})").status, 400);

  // The gateway releases a call's upstream slot just after handing its response to the socket: the client can read
  // the answer a moment before the gauge drops back to 0.
  RawResponse metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    metrics = Fetch(gateway_->ops_port(), Get("/metrics"));
  } while (metrics.body.find("\nclientreg_upstream_inflight 0\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type"), common::kPrometheusContentType);
  EXPECT_THAT(metrics.body,
              HasSubstr("clientreg_http_requests_total{route=\"register\",method=\"POST\",code=\"201\"} 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("clientreg_http_requests_total{route=\"register\",method=\"POST\",code=\"400\"} 2\n"));
  EXPECT_THAT(metrics.body, HasSubstr("clientreg_http_request_duration_seconds_count{route=\"register\"} 3\n"));
  EXPECT_THAT(metrics.body, HasSubstr("\nclientreg_http_connections "));
  EXPECT_THAT(metrics.body, HasSubstr("\nclientreg_http_rejected_total{reason=\"framing\"} 0\n"));
  EXPECT_THAT(metrics.body, HasSubstr("\nclientreg_upstream_inflight 0\n"));
  EXPECT_THAT(metrics.body, HasSubstr("\nclientreg_build_info{version="));

  const RawResponse public_metrics = Fetch(http_port(), Get("/metrics"));
  EXPECT_EQ(public_metrics.status, 404);
  EXPECT_THAT(public_metrics.body, Not(HasSubstr("clientreg_")));
}

TEST_F(OpsE2eTest, RefusalsAreCountedByReason) {
  // POST without a length: the connection refuses it before the router sees it.
  ASSERT_EQ(Fetch(http_port(), "POST /oauth/register HTTP/1.1\r\nHost: x\r\n\r\n").status, 411);
  ASSERT_EQ(Fetch(http_port(), "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").status / 100, 4);
  const std::string metrics = Fetch(gateway_->ops_port(), Get("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("clientreg_http_rejected_total{reason=\"length_required\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("clientreg_http_rejected_total{reason=\"framing\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("clientreg_http_requests_total{route=\"register\",method=\"POST\",code=\"411\"} 1\n"));
}

TEST_F(OpsE2eTest, RequestIdEchoedReplacedOrMade) {
  RawResponse response = Fetch(http_port(), Get("/healthz", "X-Request-Id: client-id.1:2_3-4\r\n"));
  EXPECT_EQ(response.Header("x-request-id"), "client-id.1:2_3-4");

  std::set<std::string> ids;
  for (const std::string& header :
       {"X-Request-Id: " + std::string(200, 'a') + "\r\n", std::string("X-Request-Id: has space\r\n"),
        std::string("X-Request-Id: \r\n"), std::string("X-Request-Id: a\r\nX-Request-Id: b\r\n"), std::string()}) {
    response = Fetch(http_port(), Get("/healthz", header));
    const std::string id = response.Header("x-request-id");
    EXPECT_EQ(id.size(), 32u) << header;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 5u);

  // Errors and refusals carry it too.
  response = Fetch(http_port(), Get("/nowhere", "X-Request-Id: err-1\r\n"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.Header("x-request-id"), "err-1");
  response = Fetch(http_port(), "POST /oauth/register HTTP/1.1\r\nHost: x\r\nX-Request-Id: refused-1\r\n\r\n");
  EXPECT_EQ(response.status, 411);
  EXPECT_EQ(response.Header("x-request-id"), "refused-1");
  response = Fetch(http_port(), "NOT HTTP\r\n\r\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.Header("x-request-id").size(), 32u);
}

TEST_F(OpsE2eTest, RequestIdReachesTheServerLog) {
  common::FlushLogs();  // only this test's lines in the capture
  ::testing::internal::CaptureStderr();
  const RawResponse response = Register(kServerRejectedBody, "X-Request-Id: e2e-trace-42\r\n");
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(response.Header("x-request-id"), "e2e-trace-42");

  const std::vector<std::string> rpc_lines = LinesOf(log, "rpc");
  ASSERT_FALSE(rpc_lines.empty()) << log;
  bool found = false;
  for (const std::string& line : rpc_lines) found |= line.find(R"("request_id":"e2e-trace-42")") != std::string::npos;
  EXPECT_TRUE(found) << log;
}

TEST_F(OpsE2eTest, AccessLogLinesHaveTheFieldsAndNoSecret) {
  common::FlushLogs();
  ::testing::internal::CaptureStderr();
  const RawResponse created = Register(kValidBody, "X-Request-Id: log-1\r\n");
  const JsonView client(created.body);
  const std::string client_id = client.String("client_id").value_or("");
  const std::string secret = client.String("client_secret").value_or("");
  const std::string token = client.String("registration_access_token").value_or("");
  const std::string configuration_path = std::string(kRegisterPath) + "/" + client_id;
  const RawResponse read =
      Fetch(http_port(), Get(configuration_path, "Authorization: Bearer " + token + "\r\nX-Request-Id: log-2\r\n"));
  const RawResponse refused =
      Fetch(http_port(), Get(configuration_path, "Authorization: Bearer wrong\r\nX-Request-Id: log-3\r\n"));
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_FALSE(client_id.empty());
  ASSERT_GE(secret.size(), 16u);
  ASSERT_GE(token.size(), 16u);
  ASSERT_EQ(read.status, 200) << read.body;
  ASSERT_EQ(refused.status, 401);

  const std::vector<std::string> lines = LinesOf(log, "http_request");
  ASSERT_EQ(lines.size(), 3u) << log;
  struct Expected {
    const char* request_id;
    const char* route;
    const char* method;
    const char* status;
    const char* error;
  };
  const Expected expected[] = {{"log-1", "register", "POST", "201", ""},
                               {"log-2", "client_configuration", "GET", "200", ""},
                               {"log-3", "client_configuration", "GET", "401", "invalid_token"}};
  for (std::size_t i = 0; i < 3; ++i) {
    const JsonView line(lines[i]);
    ASSERT_TRUE(line.valid()) << lines[i];
    EXPECT_EQ(line.String("level"), "info");
    EXPECT_EQ(line.String("request_id"), expected[i].request_id) << lines[i];
    EXPECT_EQ(line.String("route"), expected[i].route) << lines[i];
    EXPECT_EQ(line.String("method"), expected[i].method) << lines[i];
    EXPECT_EQ(line.String("status"), expected[i].status) << lines[i];
    EXPECT_EQ(line.String("error"), expected[i].error) << lines[i];
    EXPECT_EQ(line.String("client_ip"), "127.0.0.1") << lines[i];
    EXPECT_EQ(line.String("client_id"), client_id) << lines[i];
    EXPECT_GT(std::stod(line.String("latency_ms").value_or("-1")), 0.0) << lines[i];
  }
  // Paired with the lines above, which prove the log was captured.
  EXPECT_THAT(log, Not(HasSubstr(secret)));
  EXPECT_THAT(log, Not(HasSubstr(token)));
  EXPECT_THAT(log, Not(HasSubstr("Bearer")));
}

TEST_F(OpsE2eTest, DrainMakesReadinessFalseWhileARequestFinishes) {
  // A request whose header has begun: the drain must wait for it.
  RawConnection busy(http_port());
  ASSERT_TRUE(busy.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::thread drain([this] { gateway_->Shutdown(std::chrono::seconds(5)); });

  EXPECT_EQ(WaitForStatus(gateway_->ops_port(), "/readyz", 503, std::chrono::seconds(3)), 503);
  const RawResponse readiness = Fetch(gateway_->ops_port(), Get("/readyz"));
  EXPECT_THAT(readiness.body, HasSubstr(R"("draining":{"status":"fail")"));

  ASSERT_TRUE(busy.Send("\r\n"));
  const std::optional<RawResponse> finished = busy.Read();
  drain.join();
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->status, 200);
  EXPECT_EQ(finished->Header("connection"), "close");
}

// Runs the real binary; returns its exit status and appends its output (stdout and stderr) to `output`.
int RunGateway(const std::string& arguments, std::string* output) {
  const std::string command = std::string(CLIENTREG_GATEWAY_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof(chunk), pipe)) > 0;) output->append(chunk, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(OpsE2eTest, CheckConfigExitsZeroOrTwoNamingTheField) {
  std::string output;
  EXPECT_EQ(RunGateway("--check-config --listen=127.0.0.1:0", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("config is valid"));

  const std::string path = data_dir() + "/gateway.textproto";
  std::ofstream(path) << "log_level: \"loud\"\nops_listen_address: \"127.0.0.1:0\"\n";
  output.clear();
  EXPECT_EQ(RunGateway("--check-config --config=" + path, &output), 2) << output;
  EXPECT_THAT(output, HasSubstr("log_level"));

  std::ofstream(path) << "ops_listen_address: \"nowhere\"\n";
  output.clear();
  EXPECT_EQ(RunGateway("--config=" + path + " --check-config", &output), 2) << output;
  EXPECT_THAT(output, HasSubstr("ops_listen_address"));

  output.clear();
  EXPECT_EQ(RunGateway("--check-config=yes", &output), 2) << output;
}

}  // namespace
}  // namespace clientreg::testing
