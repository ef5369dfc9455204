#include "gateway/gateway_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"

namespace clientreg::gateway {
namespace {

using ::testing::HasSubstr;

TEST(GatewayConfigTest, DefaultsHaveNoOpsPortAndLogAtInfo) {
  const clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  EXPECT_TRUE(config.has_ops_listen_address());
  EXPECT_EQ(config.ops_listen_address(), "");
  EXPECT_EQ(config.log_level(), "info");
  EXPECT_OK(ValidateGatewayConfig(config));
}

TEST(GatewayConfigTest, RefusesAnUnknownLogLevelNamingTheField) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  config.set_log_level("loud");
  const absl::Status status = ValidateGatewayConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("log_level"));
  config.set_log_level("debug");
  EXPECT_OK(ValidateGatewayConfig(config));
}

TEST(GatewayConfigTest, RefusesAnOpsAddressWithoutPort) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  for (const char* address : {"127.0.0.1", "localhost:9090", "::1:9090", "127.0.0.1:70000"}) {
    config.set_ops_listen_address(address);
    EXPECT_THAT(std::string(ValidateGatewayConfig(config).message()), HasSubstr("ops_listen_address")) << address;
  }
  config.set_ops_listen_address("127.0.0.1:9090");
  EXPECT_OK(ValidateGatewayConfig(config));
}

// Issue 10: the gateway enforces the HTTP limits only; a metadata limit in its config is an unknown field.
TEST(GatewayConfigTest, LimitsAreTheHttpOnes) {
  const clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  EXPECT_EQ(config.limits().max_body_bytes(), 65536u);
  EXPECT_EQ(config.limits().max_header_bytes(), 8192u);
  EXPECT_EQ(config.limits().max_json_depth(), 64u);
  clientreg::config::v1::GatewayConfig zero = config;
  zero.mutable_limits()->set_max_header_bytes(0);
  EXPECT_THAT(std::string(ValidateGatewayConfig(zero).message()), HasSubstr("max_header_bytes"));

  char path[] = "/tmp/clientreg-gateway-config-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "limits { max_redirect_uris: 5 }\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  const absl::StatusOr<clientreg::config::v1::GatewayConfig> loaded = LoadGatewayConfig(path);
  ::unlink(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("max_redirect_uris"));
}

// How the gateway reaches the server (server_tls, server_token_file): files are read, fields named.
class ServerConnectionConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = ::testing::TempDir() + "clientreg-gateway-tls-XXXXXX";
    ASSERT_NE(mkdtemp(path.data()), nullptr);
    dir_ = path;
    absl::StatusOr<testing::TestPki> pki = testing::TestPki::Create(dir_);
    ASSERT_OK(pki.status());
    ca_file_ = pki->ca().certificate_file;
    testing::LeafOptions leaf;
    leaf.common_name = "gateway";
    leaf.file_stem = "gateway";
    absl::StatusOr<testing::TestCertificate> client = pki->Issue(leaf);
    ASSERT_OK(client.status());
    chain_file_ = client->chain_file;
    key_file_ = client->private_key_file;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static std::string Refusal(const clientreg::config::v1::GatewayConfig& config) {
    return std::string(ValidateGatewayConfig(config).message());
  }

  std::string dir_, ca_file_, chain_file_, key_file_;
};

TEST_F(ServerConnectionConfigTest, ANonLocalServerNeedsServerTls) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  config.set_server_address("clientreg-server.internal:50051");
  EXPECT_THAT(Refusal(config), HasSubstr("server_address"));
  config.mutable_server_tls()->set_ca_file(ca_file_);
  EXPECT_OK(ValidateGatewayConfig(config));
  // The system trust store, named by nothing, is fine too.
  config.mutable_server_tls()->clear_ca_file();
  EXPECT_OK(ValidateGatewayConfig(config));
}

TEST_F(ServerConnectionConfigTest, ClientCertificateAndKeyGoTogetherAndMustBeReadable) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  clientreg::config::v1::GrpcClientTlsConfig& tls = *config.mutable_server_tls();
  tls.set_ca_file(ca_file_);
  tls.set_certificate_chain_file(chain_file_);
  EXPECT_THAT(Refusal(config), HasSubstr("server_tls.certificate_chain_file and server_tls.private_key_file"));
  tls.set_private_key_file(key_file_);
  EXPECT_OK(ValidateGatewayConfig(config));
  tls.set_private_key_file(dir_ + "/missing.key");
  EXPECT_THAT(Refusal(config), HasSubstr("server_tls.private_key_file: cannot read"));
  tls.set_private_key_file(key_file_);
  tls.set_ca_file(key_file_);
  EXPECT_THAT(Refusal(config), HasSubstr("server_tls.ca_file"));
}

TEST_F(ServerConnectionConfigTest, TokenFileMustHoldOneCredential) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  config.set_server_token_file(WriteFile("token", "gateway-credential\n"));
  EXPECT_OK(ValidateGatewayConfig(config));
  for (const std::string& text :
       {std::string(""), std::string("\n"), std::string("two words\n"), std::string("a\nb\n")}) {
    config.set_server_token_file(WriteFile("bad-token", text));
    EXPECT_THAT(Refusal(config), HasSubstr("server_token_file")) << text;
  }
  config.set_server_token_file(dir_ + "/missing-token");
  EXPECT_THAT(Refusal(config), HasSubstr("server_token_file"));
}

TEST(GatewayConfigTest, TrustedProxiesAreCidrRanges) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  config.add_trusted_proxies("10.0.0.0/8");
  config.add_trusted_proxies("2001:db8::/32");
  EXPECT_TRUE(ValidateGatewayConfig(config).ok());
  config.add_trusted_proxies("10.0.0.1/8");
  EXPECT_THAT(std::string(ValidateGatewayConfig(config).message()), HasSubstr("trusted_proxies[2]"));
}

// Plain HTTP outside loopback only when TLS is said to end in front of the gateway.
TEST(GatewayConfigTest, PlainHttpOnANonLoopbackAddressNeedsAllowPlainHttp) {
  clientreg::config::v1::GatewayConfig config = DefaultGatewayConfig();
  for (const char* loopback : {"127.0.0.1:8080", "127.1.2.3:8080", "[::1]:8080", "localhost:8080"}) {
    config.set_listen_address(loopback);
    EXPECT_OK(ValidateGatewayConfig(config)) << loopback;
  }
  for (const char* exposed : {"0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080"}) {
    config.set_listen_address(exposed);
    config.clear_allow_plain_http();
    const absl::Status status = ValidateGatewayConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << exposed;
    EXPECT_THAT(std::string(status.message()), HasSubstr("tls")) << exposed;
    EXPECT_THAT(std::string(status.message()), HasSubstr("allow_plain_http")) << exposed;
    config.set_allow_plain_http(true);
    EXPECT_OK(ValidateGatewayConfig(config)) << exposed;
  }
}

class GatewayTlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = clientreg::testing::MakeTestDir("clientreg-gateway-tls-");
    ASSERT_FALSE(dir_.empty());
    absl::StatusOr<clientreg::testing::TestPki> pki = clientreg::testing::TestPki::Create(dir_);
    ASSERT_OK(pki.status());
    clientreg::testing::LeafOptions options;
    options.common_name = "gateway";
    options.dns_names = {"localhost"};
    options.file_stem = "gateway";
    ASSERT_OK_AND_ASSIGN(leaf_, pki->Issue(options));
    options.file_stem = "other";
    ASSERT_OK_AND_ASSIGN(other_, pki->Issue(options));
    config_ = DefaultGatewayConfig();
    config_.set_listen_address("0.0.0.0:8443");
    config_.mutable_tls()->set_certificate_chain_file(leaf_.chain_file);
    config_.mutable_tls()->set_private_key_file(leaf_.private_key_file);
  }

  absl::Status Validate() const { return ValidateGatewayConfig(config_); }

  std::string dir_;
  clientreg::testing::TestCertificate leaf_;
  clientreg::testing::TestCertificate other_;
  clientreg::config::v1::GatewayConfig config_;
};

TEST_F(GatewayTlsConfigTest, TlsWithAMatchingPairServesAnyAddress) {
  EXPECT_OK(Validate());
  config_.set_listen_address("127.0.0.1:8443");
  EXPECT_OK(Validate());
}

TEST_F(GatewayTlsConfigTest, BothFilesMustBeSet) {
  config_.mutable_tls()->clear_private_key_file();
  EXPECT_THAT(std::string(Validate().message()), HasSubstr("tls.private_key_file"));
  config_.mutable_tls()->clear_certificate_chain_file();
  EXPECT_THAT(std::string(Validate().message()), HasSubstr("tls.certificate_chain_file"));
}

TEST_F(GatewayTlsConfigTest, FilesThatDoNotLoadAreNamed) {
  const std::string missing = dir_ + "/missing.pem";
  config_.mutable_tls()->set_certificate_chain_file(missing);
  absl::Status status = Validate();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tls: cannot read certificate_chain_file " + missing));

  // A key in the chain's place, and a chain in the key's place.
  config_.mutable_tls()->set_certificate_chain_file(leaf_.private_key_file);
  EXPECT_THAT(std::string(Validate().message()), HasSubstr("holds no PEM certificate"));
  config_.mutable_tls()->set_certificate_chain_file(leaf_.chain_file);
  config_.mutable_tls()->set_private_key_file(leaf_.certificate_file);
  EXPECT_THAT(std::string(Validate().message()), HasSubstr("private_key_file " + leaf_.certificate_file));

  // A valid key of another certificate.
  config_.mutable_tls()->set_private_key_file(other_.private_key_file);
  status = Validate();
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not match"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(other_.private_key_file));
}

TEST_F(GatewayTlsConfigTest, LoadedFromATextprotoFile) {
  const std::string path = dir_ + "/gateway.textproto";
  ASSERT_TRUE(clientreg::testing::WriteTestFile(
      path, "listen_address: \"0.0.0.0:8443\"\ntls {\n  certificate_chain_file: \"" + leaf_.chain_file +
                "\"\n  private_key_file: \"" + leaf_.private_key_file + "\"\n}\n"));
  ASSERT_OK_AND_ASSIGN(const clientreg::config::v1::GatewayConfig loaded, LoadGatewayConfig(path));
  EXPECT_EQ(loaded.tls().certificate_chain_file(), leaf_.chain_file);
  EXPECT_FALSE(loaded.allow_plain_http());
}

}  // namespace
}  // namespace clientreg::gateway
