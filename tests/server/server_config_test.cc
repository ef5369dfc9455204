#include "server/server_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/support/test_pki.h"

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

TEST_F(ServerConfigTest, LifecycleIsOffByDefaultAndCheckedWhenSet) {
  ASSERT_OK_AND_ASSIGN(const auto defaults, LoadServerConfig(""));
  EXPECT_EQ(defaults.lifecycle().reap_never_used_after_seconds(), 0);
  EXPECT_EQ(defaults.lifecycle().reap_idle_after_seconds(), 0);
  EXPECT_EQ(defaults.lifecycle().reap_interval_seconds(), 60u);
  EXPECT_EQ(defaults.lifecycle().reap_batch_size(), 100u);

  ASSERT_OK_AND_ASSIGN(const auto mcp, LoadServerConfig(Write("mcp.textproto", R"(
    lifecycle { reap_never_used_after_seconds: 86400 reap_idle_after_seconds: 7776000 })")));
  EXPECT_EQ(mcp.lifecycle().reap_never_used_after_seconds(), 86400);
  EXPECT_EQ(mcp.lifecycle().reap_batch_size(), 100u);  // untouched default

  for (const char* bad : {"lifecycle { reap_never_used_after_seconds: -1 }",
                          "lifecycle { reap_idle_after_seconds: -5 }", "lifecycle { reap_interval_seconds: 0 }",
                          "lifecycle { reap_batch_size: 0 }", "lifecycle { reap_batch_size: 1001 }"}) {
    const auto config = LoadServerConfig(Write("bad.textproto", bad));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_NE(std::string(config.status().message()).find("lifecycle.reap_"), std::string::npos) << config.status();
  }
}

TEST_F(ServerConfigTest, CimdIsOffByDefaultAndCheckedWhenSet) {
  ASSERT_OK_AND_ASSIGN(const auto defaults, LoadServerConfig(""));
  const clientreg::config::v1::CimdConfig& cimd = defaults.cimd();
  EXPECT_FALSE(cimd.enabled());
  EXPECT_EQ(cimd.max_document_bytes(), 5120u);
  EXPECT_FALSE(cimd.allow_query());
  EXPECT_EQ(cimd.cache_min_lifetime_seconds(), 300u);
  EXPECT_EQ(cimd.cache_max_lifetime_seconds(), 86400u);
  EXPECT_EQ(cimd.failure_backoff_seconds(), 30u);
  EXPECT_FALSE(cimd.insecure_allow_loopback_http());
  EXPECT_EQ(cimd.fetch_rate().burst(), 60u);

  ASSERT_OK_AND_ASSIGN(const auto on, LoadServerConfig(Write("cimd.textproto", R"(
    cimd { enabled: true allowed_hosts: "claude.ai" allowed_hosts: "*.example.com" denied_hosts: "bad.example.com" })")));
  EXPECT_TRUE(on.cimd().enabled());
  EXPECT_EQ(on.cimd().max_document_bytes(), 5120u);  // untouched default

  for (const char* bad :
       {"cimd { max_document_bytes: 0 }", "cimd { max_document_bytes: 65537 }",
        "cimd { cache_min_lifetime_seconds: 600 cache_max_lifetime_seconds: 60 }", "cimd { fetch_timeout_ms: 0 }",
        "cimd { connect_timeout_ms: 0 }", "cimd { cache_max_entries: 0 }", "cimd { max_concurrent_fetches: 0 }",
        "cimd { max_fetches_per_host: 0 }", "cimd { allowed_hosts: \"*\" }", "cimd { denied_hosts: \"\" }",
        "cimd { ca_file: \"/nonexistent/ca.pem\" }"}) {
    const auto config = LoadServerConfig(Write("bad.textproto", bad));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_NE(std::string(config.status().message()).find("cimd."), std::string::npos) << config.status();
  }
}

// The gRPC listener's TLS and its callers: each rule names its field, and files are read (a wrong path fails
// --check-config, not the first handshake).
class ServerSecurityConfigTest : public ServerConfigTest {
 protected:
  void SetUp() override {
    ServerConfigTest::SetUp();
    absl::StatusOr<testing::TestPki> pki = testing::TestPki::Create(dir_);
    ASSERT_OK(pki.status());
    ca_file_ = pki->ca().certificate_file;
    testing::LeafOptions leaf;
    leaf.common_name = "server";  // TestPki needs one
    leaf.dns_names = {"server.test"};
    leaf.file_stem = "server";
    absl::StatusOr<testing::TestCertificate> server = pki->Issue(leaf);
    ASSERT_OK(server.status());
    for (const std::string& file :
         {server->certificate_file, server->chain_file, server->private_key_file, ca_file_, dir_ + "/ca.key"}) {
      files_.push_back(file);
    }
    chain_file_ = server->chain_file;
    key_file_ = server->private_key_file;
  }

  // TLS with a client CA and one caller allowed ClientAdmin by certificate and by token: valid.
  clientreg::config::v1::ServerConfig Secured() {
    clientreg::config::v1::ServerConfig config = DefaultServerConfig();
    config.set_listen_address("0.0.0.0:50051");
    config.mutable_tls()->set_certificate_chain_file(chain_file_);
    config.mutable_tls()->set_private_key_file(key_file_);
    config.mutable_tls()->set_client_ca_file(ca_file_);
    clientreg::config::v1::CallerConfig& ops = *config.add_callers();
    ops.set_name("ops");
    ops.add_certificate_identities("ops.example.org");
    ops.add_bearer_token_sha256(std::string(64, 'a'));
    ops.add_services("clientreg.v1.ClientAdmin");
    return config;
  }

  // Expects `config` to be refused with a message containing `field`.
  static void ExpectRefused(const clientreg::config::v1::ServerConfig& config, const std::string& field) {
    const absl::Status status = ValidateServerConfig(config);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_NE(std::string(status.message()).find(field), std::string::npos) << status;
  }

  std::string ca_file_, chain_file_, key_file_;
};

TEST_F(ServerSecurityConfigTest, ASecuredConfigIsValid) {
  EXPECT_OK(ValidateServerConfig(Secured()));
  clientreg::config::v1::ServerConfig required = Secured();
  required.mutable_tls()->set_require_client_certificate(true);
  EXPECT_OK(ValidateServerConfig(required));
  // Loopback without TLS may list callers with bearer credentials.
  clientreg::config::v1::ServerConfig loopback = Secured();
  loopback.set_listen_address("127.0.0.1:50051");
  loopback.clear_tls();
  loopback.mutable_callers(0)->clear_certificate_identities();
  EXPECT_OK(ValidateServerConfig(loopback));
}

TEST_F(ServerSecurityConfigTest, ANonLocalListenerNeedsTls) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.set_listen_address("0.0.0.0:50051");
  ExpectRefused(config, "listen_address");
  config.set_listen_address("10.1.2.3:50051");
  ExpectRefused(config, "set tls");
  config.set_listen_address("[::1]:50051");
  EXPECT_OK(ValidateServerConfig(config));
}

TEST_F(ServerSecurityConfigTest, TlsFilesMustBeReadablePemOfTheirKind) {
  clientreg::config::v1::ServerConfig config = Secured();
  config.mutable_tls()->clear_private_key_file();
  ExpectRefused(config, "private_key_file");
  config = Secured();
  config.mutable_tls()->set_certificate_chain_file(dir_ + "/missing.pem");
  ExpectRefused(config, "tls.certificate_chain_file: cannot read");
  config = Secured();
  config.mutable_tls()->set_private_key_file(chain_file_);
  ExpectRefused(config, "tls.private_key_file");
  config = Secured();
  config.mutable_tls()->set_client_ca_file(key_file_);
  ExpectRefused(config, "tls.client_ca_file");
  config = Secured();
  config.mutable_tls()->clear_client_ca_file();
  config.mutable_tls()->set_require_client_certificate(true);
  ExpectRefused(config, "require_client_certificate needs tls.client_ca_file");
}

TEST_F(ServerSecurityConfigTest, CallersAreCheckedOneByOne) {
  clientreg::config::v1::ServerConfig config = Secured();
  config.clear_callers();
  ExpectRefused(config, "callers is empty");

  config = Secured();
  config.mutable_callers(0)->clear_name();
  ExpectRefused(config, "callers[0].name");
  config = Secured();
  *config.add_callers() = config.callers(0);
  ExpectRefused(config, "callers[1].name \"ops\" is used twice");
  config = Secured();
  config.mutable_callers(0)->clear_certificate_identities();
  config.mutable_callers(0)->clear_bearer_token_sha256();
  ExpectRefused(config, "needs certificate_identities or bearer_token_sha256");
  for (const std::string& digest :
       {std::string(64, 'A'), std::string(63, 'a'), std::string(64, 'g'), std::string(63, 'a') + " "}) {
    config = Secured();
    config.mutable_callers(0)->set_bearer_token_sha256(0, digest);
    ExpectRefused(config, "callers[0].bearer_token_sha256 must hold 64 lowercase hex digits");
  }
  config = Secured();
  config.mutable_callers(0)->add_services("clientreg.v1.ClientAdmin.ListClients");
  ExpectRefused(config, "callers[0].services: unknown service");
  config = Secured();
  config.mutable_callers(0)->add_services("grpc.health.v1.Health");
  ExpectRefused(config, "unknown service");
  config = Secured();
  config.mutable_tls()->clear_client_ca_file();
  ExpectRefused(config, "callers[0].certificate_identities needs tls.client_ca_file");
  // One certificate or token must name one caller.
  config = Secured();
  *config.add_callers() = config.callers(0);
  config.mutable_callers(1)->set_name("ops2");
  config.mutable_callers(1)->clear_bearer_token_sha256();
  ExpectRefused(config, "callers[1].certificate_identities: \"ops.example.org\" is listed twice");
  config = Secured();
  *config.add_callers() = config.callers(0);
  config.mutable_callers(1)->set_name("ops2");
  config.mutable_callers(1)->clear_certificate_identities();
  ExpectRefused(config, "callers[1].bearer_token_sha256 lists a digest twice");
}

TEST_F(ServerSecurityConfigTest, FilesReadTheTlsAndCallersBlocks) {
  const std::string path = Write("secured.textproto", absl::StrCat(R"(
    listen_address: "0.0.0.0:50051"
    tls {
      certificate_chain_file: ")",
                                                                   chain_file_, R"("
      private_key_file: ")",
                                                                   key_file_, R"("
      client_ca_file: ")",
                                                                   ca_file_, R"("
      require_client_certificate: true
    }
    callers {
      name: "gateway"
      certificate_identities: "spiffe://example.org/gateway"
      services: "clientreg.v1.ClientRegistration"
    })"));
  ASSERT_OK_AND_ASSIGN(const auto config, LoadServerConfig(path));
  EXPECT_TRUE(config.tls().require_client_certificate());
  ASSERT_EQ(config.callers_size(), 1);
  EXPECT_EQ(config.callers(0).services(0), "clientreg.v1.ClientRegistration");
}

}  // namespace
}  // namespace clientreg::server
