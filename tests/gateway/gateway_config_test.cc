#include "gateway/gateway_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

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

}  // namespace
}  // namespace clientreg::gateway
