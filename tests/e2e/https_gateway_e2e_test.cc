// The shipped gateway speaking HTTPS (issue 10): started from a config with tls, it registers a client over TLS,
// answers /healthz on its public port, and on SIGHUP serves a replaced certificate to new connections while a
// connection opened before keeps working. A SIGHUP to the server leaves it running.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/shipped_binaries.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_client.h"

namespace clientreg::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kReloadTimeout{10000};

std::string Get(const std::string& path, const std::string& extra_fields = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_fields + "\r\n";
}

class HttpsGatewayTest : public ShippedBinariesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ShippedBinariesTest::SetUp());
    const std::string pki_dir = dir_ + "/pki";
    std::filesystem::create_directory(pki_dir);
    absl::StatusOr<TestPki> pki = TestPki::Create(pki_dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(std::move(*pki));
    // Where an operator's files would be: replaced in place, then SIGHUP.
    chain_file_ = dir_ + "/gateway.chain.pem";
    key_file_ = dir_ + "/gateway.key";
    ASSERT_NO_FATAL_FAILURE(Install("gateway-1"));
    config_file_ = dir_ + "/gateway.textproto";
    ASSERT_TRUE(WriteTestFile(config_file_, "tls {\n  certificate_chain_file: \"" + chain_file_ +
                                                "\"\n  private_key_file: \"" + key_file_ + "\"\n}\n"));
  }

  void Install(const std::string& common_name) {
    LeafOptions options;
    options.common_name = common_name;
    options.dns_names = {"localhost"};
    options.file_stem = common_name;
    absl::StatusOr<TestCertificate> leaf = pki_->Issue(options);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    ASSERT_TRUE(WriteTestFile(chain_file_, ReadTestFile(leaf->chain_file)));
    ASSERT_TRUE(WriteTestFile(key_file_, leaf->private_key_pem));
  }

  TlsClientOptions Client() const {
    TlsClientOptions options;
    options.ca_file = pki_->ca().certificate_file;
    return options;
  }

  // Starts the gateway with the tls config and waits until /readyz says 200 over HTTPS.
  void StartHttpsGateway(uint16_t port, uint16_t server_port) {
    gateway_ = StartGatewayBinary(port, server_port, 0, dir_ + "/gateway.log", {"--config=" + config_file_});
    const auto deadline = Clock::now() + kStartTimeout;
    int status = 0;
    while (Clock::now() < deadline) {
      const std::optional<RawResponse> response = TlsRoundTrip(port, Client(), Get("/readyz"));
      status = response.has_value() ? response->status : 0;
      if (status == 200) return;
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "clientreg-gateway is not ready over HTTPS: last status " << status;
  }

  // Polls new connections until one is served `common_name`'s certificate.
  bool NewConnectionsSee(uint16_t port, const std::string& common_name) {
    const auto deadline = Clock::now() + kReloadTimeout;
    while (Clock::now() < deadline) {
      TlsConnection connection(port, Client());
      if (connection.connected() && connection.peer_common_name() == common_name) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  // Waits until the gateway's log holds `event` (lines reach the file within about 50 ms).
  bool GatewayLogged(const std::string& event) {
    const auto deadline = Clock::now() + kReloadTimeout;
    while (Clock::now() < deadline) {
      if (ReadTestFile(dir_ + "/gateway.log").find("\"event\":\"" + event + "\"") != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<TestPki> pki_;
  std::string chain_file_;
  std::string key_file_;
  std::string config_file_;
};

TEST_F(HttpsGatewayTest, RegistersOverHttpsAndReloadsTheCertificateOnSighup) {
  const uint16_t server_port = FreeLoopbackPort();
  const uint16_t gateway_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(StartServer(server_port));
  ASSERT_NO_FATAL_FAILURE(StartHttpsGateway(gateway_port, server_port));

  // /healthz on the public port, over HTTPS.
  TlsConnection before(gateway_port, Client());
  ASSERT_TRUE(before.connected()) << before.handshake_error();
  EXPECT_EQ(before.peer_common_name(), "gateway-1");
  ASSERT_TRUE(before.Send(Get("/healthz")));
  std::optional<RawResponse> health = before.Read();
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);

  // A registration, then its configuration read back with the registration access token.
  std::optional<RawResponse> created = TlsRoundTrip(
      gateway_port, Client(), PostRequest("/oauth/register", R"({"redirect_uris":["https://c.example/cb"]})"));
  ASSERT_TRUE(created.has_value());
  ASSERT_EQ(created->status, 201) << created->body;
  const JsonView client(created->body);
  const std::string client_id = client.String("client_id").value_or("");
  const std::string token = client.String("registration_access_token").value_or("");
  ASSERT_FALSE(client_id.empty());
  ASSERT_FALSE(token.empty());
  std::optional<RawResponse> read = TlsRoundTrip(
      gateway_port, Client(), Get("/oauth/register/" + client_id, "Authorization: Bearer " + token + "\r\n"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status, 200) << read->body;

  // A new pair in the same files, then SIGHUP.
  ASSERT_NO_FATAL_FAILURE(Install("gateway-2"));
  ASSERT_TRUE(gateway_->Signal(SIGHUP));
  EXPECT_TRUE(NewConnectionsSee(gateway_port, "gateway-2"));
  EXPECT_TRUE(GatewayLogged("tls_certificate_reloaded"));
  // The connection opened before the reload still works, on its own certificate.
  ASSERT_TRUE(before.Send(Get("/healthz")));
  health = before.Read();
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(before.peer_common_name(), "gateway-1");

  // A broken key: the reload fails, is logged, and the pair that serves stays.
  ASSERT_TRUE(WriteTestFile(key_file_, "not a key\n"));
  ASSERT_TRUE(gateway_->Signal(SIGHUP));
  EXPECT_TRUE(GatewayLogged("tls_reload_failed"));
  EXPECT_TRUE(NewConnectionsSee(gateway_port, "gateway-2"));

  // The server has nothing to reload: SIGHUP leaves it serving.
  ASSERT_TRUE(server_->Signal(SIGHUP));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(server_->WaitForExit(milliseconds(0)).has_value());
  created = TlsRoundTrip(gateway_port, Client(),
                         PostRequest("/oauth/register", R"({"redirect_uris":["https://c.example/cb"]})"));
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->status, 201) << created->body;

  EXPECT_EQ(gateway_->Terminate(kStartTimeout), "exited with status 0");
  EXPECT_EQ(server_->Terminate(kStartTimeout), "exited with status 0");
}

TEST_F(HttpsGatewayTest, CheckConfigLoadsTheCertificateAndKey) {
  const std::string log = dir_ + "/check.log";
  ChildProcess valid(CLIENTREG_GATEWAY_BINARY, {"--config=" + config_file_, "--check-config"}, log);
  std::optional<int> status = valid.WaitForExit(kStartTimeout);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with status 0") << ReadTestFile(log);

  ASSERT_TRUE(WriteTestFile(key_file_, "not a key\n"));
  ChildProcess broken(CLIENTREG_GATEWAY_BINARY, {"--config=" + config_file_, "--check-config"}, log);
  status = broken.WaitForExit(kStartTimeout);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with status 2");
  EXPECT_THAT(ReadTestFile(log), HasSubstr("tls: private_key_file " + key_file_));

  // No tls on a non-loopback address: refused, naming both ways out.
  ChildProcess plain(CLIENTREG_GATEWAY_BINARY, {"--listen=0.0.0.0:8080", "--check-config"}, log);
  status = plain.WaitForExit(kStartTimeout);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with status 2");
  EXPECT_THAT(ReadTestFile(log), HasSubstr("allow_plain_http"));
}

}  // namespace
}  // namespace clientreg::testing
