#include "server/server_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

class ServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/clientreg-config-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override {
    for (const std::string& file : files_) ::unlink(file.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ServerConfigTest, EmptyPathGivesValidDefaults) {
  ASSERT_OK_AND_ASSIGN(const auto config, LoadServerConfig(""));
  EXPECT_EQ(config.listen_address(), "127.0.0.1:50051");
  EXPECT_EQ(config.issuer(), "http://127.0.0.1:8080");
  EXPECT_EQ(config.limits().max_redirect_uri_bytes(), 2048u);
  EXPECT_EQ(config.registration().default_token_endpoint_auth_method(), "client_secret_basic");
  ASSERT_EQ(config.registration().default_grant_types_size(), 1);
}

TEST_F(ServerConfigTest, FileOverridesOnlyWhatItSets) {
  const std::string path = Write("server.textproto", R"(
    issuer: "https://auth.example.com"
    limits { max_redirect_uris: 5 }
    registration {
      default_grant_types: ["authorization_code", "refresh_token"]
      default_token_endpoint_auth_method: "client_secret_post"
      default_scope: "openid"
    })");
  ASSERT_OK_AND_ASSIGN(const auto config, LoadServerConfig(path));
  EXPECT_EQ(config.issuer(), "https://auth.example.com");
  EXPECT_EQ(config.limits().max_redirect_uris(), 5u);
  EXPECT_EQ(config.limits().max_contacts(), 10u);                  // untouched default
  ASSERT_EQ(config.registration().default_grant_types_size(), 2);  // replaced, not appended
  EXPECT_EQ(config.registration().default_grant_types(1), "refresh_token");
  EXPECT_EQ(config.registration().default_token_endpoint_auth_method(), "client_secret_post");
  EXPECT_EQ(config.registration().default_scope(), "openid");
  EXPECT_EQ(config.listen_address(), "127.0.0.1:50051");
}

TEST_F(ServerConfigTest, JsonFilesAreReadToo) {
  const std::string path = Write("server.json", R"({"issuer": "https://auth.example.com/t1", "maxThreads": 8})");
  ASSERT_OK_AND_ASSIGN(const auto config, LoadServerConfig(path));
  EXPECT_EQ(config.issuer(), "https://auth.example.com/t1");
  EXPECT_EQ(config.max_threads(), 8u);
}

TEST_F(ServerConfigTest, UnknownFieldsAndBadValuesFailWithTheirName) {
  const auto unknown = LoadServerConfig(Write("typo.textproto", "isuer: \"https://a.example\"\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("isuer"), std::string::npos) << unknown.status();

  const auto unknown_json = LoadServerConfig(Write("typo.json", R"({"isuer": "https://a.example"})"));
  EXPECT_FALSE(unknown_json.ok());

  const auto bad_issuer = LoadServerConfig(Write("issuer.textproto", "issuer: \"https://a.example/\"\n"));
  ASSERT_FALSE(bad_issuer.ok());
  EXPECT_NE(std::string(bad_issuer.status().message()).find("issuer"), std::string::npos);

  const auto zero_limit = LoadServerConfig(Write("limit.textproto", "limits { max_contacts: 0 }\n"));
  ASSERT_FALSE(zero_limit.ok());
  EXPECT_NE(std::string(zero_limit.status().message()).find("max_contacts"), std::string::npos);

  // Issue 10: the server enforces metadata limits only; an HTTP limit in its config is an unknown field, not a
  // setting silently ignored.
  const auto http_limit = LoadServerConfig(Write("http.textproto", "limits { max_body_bytes: 1000 }\n"));
  ASSERT_FALSE(http_limit.ok());
  EXPECT_NE(std::string(http_limit.status().message()).find("max_body_bytes"), std::string::npos);

  // --check-config refuses what the ops port could not bind, naming the field.
  const auto ops = LoadServerConfig(Write("ops.textproto", "ops_listen_address: \"localhost:9091\"\n"));
  ASSERT_FALSE(ops.ok());
  EXPECT_NE(std::string(ops.status().message()).find("ops_listen_address"), std::string::npos);

  const auto widened = LoadServerConfig(
      Write("widen.textproto", "registration { allowed_grant_types: [\"authorization_code\", \"password\"] }\n"));
  EXPECT_FALSE(widened.ok()) << "config may narrow the accepted grant types, never widen them";

  EXPECT_FALSE(LoadServerConfig(dir_ + "/missing.textproto").ok());
}

}  // namespace
}  // namespace clientreg::server
