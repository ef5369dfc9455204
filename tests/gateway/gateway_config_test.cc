#include "gateway/gateway_config.h"

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
  config.set_ops_listen_address("127.0.0.1");
  EXPECT_THAT(std::string(ValidateGatewayConfig(config).message()), HasSubstr("ops_listen_address"));
  config.set_ops_listen_address("127.0.0.1:9090");
  EXPECT_OK(ValidateGatewayConfig(config));
}

}  // namespace
}  // namespace clientreg::gateway
