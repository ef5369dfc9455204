#include "tests/e2e/service_fixture.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>

#include "gateway/gateway_config.h"
#include "server/server_config.h"

namespace clientreg::testing {

void ServiceFixture::SetUp() {
  char dir_template[] = "/tmp/clientreg-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  data_dir_ = dir_template;
  server_config_ = server::DefaultServerConfig();
  server_config_.set_listen_address("127.0.0.1:0");
  server_config_.set_data_dir(data_dir_);
  gateway_config_ = gateway::DefaultGatewayConfig();
  gateway_config_.set_listen_address("127.0.0.1:0");
}

void ServiceFixture::TearDown() {
  StopGateway();
  StopServer();
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

void ServiceFixture::StartServer(std::unique_ptr<storage::ClientStore> store) {
  server::ServerApp::Dependencies dependencies;
  dependencies.store = std::move(store);
  auto app = server::ServerApp::Start(server_config_, std::move(dependencies));
  ASSERT_TRUE(app.ok()) << app.status();
  server_ = std::move(app).value();
}

void ServiceFixture::StopServer() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::seconds(5));
  server_.reset();
}

void ServiceFixture::StartGateway() {
  ASSERT_NE(server_, nullptr);
  gateway_config_.set_server_address("127.0.0.1:" + std::to_string(server_->port()));
  auto app = gateway::GatewayApp::Start(gateway_config_, std::chrono::seconds(10));
  ASSERT_TRUE(app.ok()) << app.status();
  gateway_ = std::move(app).value();
}

void ServiceFixture::StopGateway() {
  if (gateway_ == nullptr) return;
  gateway_->Shutdown(std::chrono::seconds(5));
  gateway_.reset();
}

}  // namespace clientreg::testing
