#ifndef CLIENTREG_TESTS_E2E_SERVICE_FIXTURE_H_
#define CLIENTREG_TESTS_E2E_SERVICE_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "clientreg/config/v1/config.pb.h"
#include "gateway/gateway_app.h"
#include "gtest/gtest.h"
#include "server/server_app.h"
#include "storage/client_store.h"

namespace clientreg::testing {

// The real server (RocksDB in a fresh temp dir) and the real gateway, both in-process on 127.0.0.1 port 0.
class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the server on the fixture's data dir, optionally with an injected store.
  void StartServer(std::unique_ptr<storage::ClientStore> store = nullptr);
  void StopServer();
  // Starts a gateway in front of the running server.
  void StartGateway();
  void StopGateway();

  uint16_t http_port() const { return gateway_->port(); }
  const std::string& data_dir() const { return data_dir_; }
  std::string store_path() const { return data_dir_ + "/clients"; }

  clientreg::config::v1::ServerConfig server_config_;
  clientreg::config::v1::GatewayConfig gateway_config_;
  std::unique_ptr<server::ServerApp> server_;
  std::unique_ptr<gateway::GatewayApp> gateway_;

 private:
  std::string data_dir_;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_E2E_SERVICE_FIXTURE_H_
