// The shipped binaries with the gRPC port secured as README's "Securing the gRPC port" shows: clientreg-server with
// TLS, client certificates and a callers list; clientreg-gateway reaching it over mTLS; clientreg-admin with a CA
// and a bearer credential. Certificates come from a CA the test makes.
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/secrets.h"
#include "gtest/gtest.h"
#include "tests/e2e/json_view.h"
#include "tests/e2e/shipped_binaries.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_pki.h"

namespace clientreg::testing {
namespace {

constexpr char kServerName[] = "server.clientreg.test";
constexpr char kOpsToken[] = "e2e-ops-credential-5f0c9a1b7d3e";

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class GrpcTlsE2eTest : public ShippedBinariesTest {
 protected:
  void SetUp() override {
    ShippedBinariesTest::SetUp();
    absl::StatusOr<TestPki> pki = TestPki::Create(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    ca_file_ = pki->ca().certificate_file;
    LeafOptions leaf;
    leaf.common_name = "server";
    leaf.dns_names = {kServerName};
    leaf.file_stem = "server";
    absl::StatusOr<TestCertificate> server = pki->Issue(leaf);
    ASSERT_TRUE(server.ok()) << server.status();
    server_cert_ = *server;
    leaf = LeafOptions();
    leaf.common_name = "gateway";
    leaf.uris = {"spiffe://clientreg.test/gateway"};
    leaf.file_stem = "gateway";
    absl::StatusOr<TestCertificate> gateway = pki->Issue(leaf);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_cert_ = *gateway;
    const absl::StatusOr<std::string> digest = common::Sha256(kOpsToken);
    ASSERT_TRUE(digest.ok());
    ops_digest_ = absl::BytesToHexString(*digest);
    token_file_ = WriteFile(dir_ + "/ops.token", std::string(kOpsToken) + "\n");
  }

  // Runs clientreg-admin with `args`; returns its exit code, with its output in `output`.
  int Admin(const std::vector<std::string>& args, std::string* output) {
    const std::string log = dir_ + "/admin-" + std::to_string(++admin_runs_) + ".log";
    ChildProcess admin(CLIENTREG_ADMIN_BINARY, args, log);
    const std::optional<int> status = admin.WaitForExit(std::chrono::seconds(30));
    *output = ReadFile(log);
    if (!status.has_value() || !WIFEXITED(*status)) return -1;
    return WEXITSTATUS(*status);
  }

  std::string ca_file_;
  TestCertificate server_cert_;
  TestCertificate gateway_cert_;
  std::string ops_digest_;
  std::string token_file_;
  int admin_runs_ = 0;
};

TEST_F(GrpcTlsE2eTest, GatewayOverMtlsAndAdminWithTokenOnASecuredServer) {
  const uint16_t server_port = FreeLoopbackPort();
  const std::string server_config =
      WriteFile(dir_ + "/server.textproto", absl::StrCat(R"(
listen_address: "127.0.0.1:)",
                                                         server_port, R"("
data_dir: ")",
                                                         data_dir_, R"("
tls {
  certificate_chain_file: ")",
                                                         server_cert_.chain_file, R"("
  private_key_file: ")",
                                                         server_cert_.private_key_file, R"("
  client_ca_file: ")",
                                                         ca_file_, R"("
}
callers {
  name: "gateway"
  certificate_identities: "spiffe://clientreg.test/gateway"
  services: "clientreg.v1.ClientRegistration"
}
callers {
  name: "ops"
  bearer_token_sha256: ")",
                                                         ops_digest_, R"("
  services: "clientreg.v1.ClientAdmin"
}
)"));
  server_ = std::make_unique<ChildProcess>(CLIENTREG_SERVER_BINARY,
                                           std::vector<std::string>{"--config=" + server_config}, dir_ + "/server.log");
  ASSERT_TRUE(WaitForPort(server_port, kStartTimeout)) << ReadFile(dir_ + "/server.log");

  const uint16_t gateway_port = FreeLoopbackPort();
  const std::string gateway_config =
      WriteFile(dir_ + "/gateway.textproto", absl::StrCat(R"(
listen_address: "127.0.0.1:)",
                                                          gateway_port, R"("
server_address: "127.0.0.1:)",
                                                          server_port, R"("
server_tls {
  ca_file: ")",
                                                          ca_file_, R"("
  certificate_chain_file: ")",
                                                          gateway_cert_.chain_file, R"("
  private_key_file: ")",
                                                          gateway_cert_.private_key_file, R"("
  server_name: ")",
                                                          kServerName, R"("
}
)"));
  gateway_ = std::make_unique<ChildProcess>(
      CLIENTREG_GATEWAY_BINARY, std::vector<std::string>{"--config=" + gateway_config}, dir_ + "/gateway.log");
  ASSERT_EQ(WaitForHttpStatus(gateway_port, "/readyz", 200, kStartTimeout), 200) << ReadFile(dir_ + "/gateway.log");

  const std::optional<RawResponse> registered =
      RoundTrip(gateway_port, PostRequest("/oauth/register", R"({"redirect_uris":["https://app.example/cb"]})"));
  ASSERT_TRUE(registered.has_value());
  ASSERT_EQ(registered->status, 201) << registered->body;
  const std::string client_id = JsonView(registered->body).String("client_id").value_or("");
  ASSERT_FALSE(client_id.empty());

  const std::vector<std::string> tls = {absl::StrCat("--server=127.0.0.1:", server_port), "--tls_ca=" + ca_file_,
                                        absl::StrCat("--tls_server_name=", kServerName)};
  std::string output;
  std::vector<std::string> with_token = tls;
  with_token.insert(with_token.end(), {"--token_file=" + token_file_, "list"});
  EXPECT_EQ(Admin(with_token, &output), 0) << output;
  EXPECT_NE(output.find(client_id), std::string::npos) << output;

  std::vector<std::string> anonymous = tls;
  anonymous.push_back("list");
  EXPECT_EQ(Admin(anonymous, &output), 4) << output;
  EXPECT_NE(output.find("(UNAUTHENTICATED)"), std::string::npos) << output;
  EXPECT_EQ(output.find(client_id), std::string::npos) << output;

  // The gateway's certificate reaches registration only.
  std::vector<std::string> as_gateway = tls;
  as_gateway.insert(as_gateway.end(),
                    {"--tls_cert=" + gateway_cert_.chain_file, "--tls_key=" + gateway_cert_.private_key_file, "list"});
  EXPECT_EQ(Admin(as_gateway, &output), 4) << output;
  EXPECT_NE(output.find("(PERMISSION_DENIED)"), std::string::npos) << output;

  // Plain text to a TLS port never becomes a call.
  std::vector<std::string> plain = {absl::StrCat("--server=127.0.0.1:", server_port), "--timeout=5",
                                    "--token_file=" + token_file_, "list"};
  EXPECT_EQ(Admin(plain, &output), 3) << output;

  // Read last: the server writes its log lines about every 50 ms.
  const std::string server_log = ReadFile(dir_ + "/server.log");
  EXPECT_NE(server_log.find(R"("tls":"on","client_certificates":"verified","callers":"2")"), std::string::npos)
      << server_log;
  EXPECT_NE(server_log.find(R"("event":"caller_denied")"), std::string::npos) << server_log;
  EXPECT_EQ(server_log.find(kOpsToken), std::string::npos) << "a bearer credential reached the log";
  EXPECT_EQ(server_log.find(ops_digest_), std::string::npos) << "a whole bearer digest reached the log";
}

}  // namespace
}  // namespace clientreg::testing
