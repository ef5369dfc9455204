// clientreg-admin resolve and check-redirect: parsing, and the commands against the real ClientDirectory service
// (RocksDB store in a temp dir, in-process gRPC server on a loopback port).
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clientreg/v1/directory.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/caller_authorizer.h"
#include "server/cimd_resolver.h"
#include "server/client_directory.h"
#include "server/client_directory_service.h"
#include "server/last_use_recorder.h"
#include "server/metadata_validator.h"
#include "server/server_config.h"
#include "tests/server/caller_support.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"
#include "tests/tools/cli_support.h"
#include "tools/admin_commands.h"

namespace clientreg::tools {
namespace {

using ::clientreg::testing::CliResult;
using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::StoredClient;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(DirectoryParseTest, ResolveTakesOneClientId) {
  ASSERT_OK_AND_ASSIGN(const Invocation invocation, ParseInvocation({"resolve", "client-1", "--json"}, nullptr));
  EXPECT_EQ(invocation.command, Command::kResolve);
  EXPECT_EQ(invocation.client_id, "client-1");
  EXPECT_TRUE(invocation.json);
  EXPECT_EQ(ParseInvocation({"resolve"}, nullptr).status().message(), "'resolve' needs exactly one CLIENT_ID");
  EXPECT_FALSE(ParseInvocation({"resolve", "a", "b"}, nullptr).ok());
  EXPECT_FALSE(ParseInvocation({"resolve", ""}, nullptr).ok());
  EXPECT_EQ(ParseInvocation({"resolve", "a", "--all"}, nullptr).status().message(), "unknown flag --all for 'resolve'");
}

TEST(DirectoryParseTest, CheckRedirectTakesAClientIdAndAUri) {
  ASSERT_OK_AND_ASSIGN(
      const Invocation invocation,
      ParseInvocation({"--json", "check-redirect", "client-1", "http://127.0.0.1:5000/cb?a=1"}, nullptr));
  EXPECT_EQ(invocation.command, Command::kCheckRedirect);
  EXPECT_EQ(invocation.client_id, "client-1");
  EXPECT_EQ(invocation.redirect_uri, "http://127.0.0.1:5000/cb?a=1");
  EXPECT_TRUE(invocation.json);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"check-redirect"},
                                                                                    {"check-redirect", "c"},
                                                                                    {"check-redirect", "c", "u", "v"},
                                                                                    {"check-redirect", "", "u"},
                                                                                    {"check-redirect", "c", ""}}) {
    EXPECT_EQ(ParseInvocation(args, nullptr).status().message(),
              "'check-redirect' needs exactly one CLIENT_ID and one URI");
  }
  ASSERT_OK_AND_ASSIGN(const Invocation dashed, ParseInvocation({"check-redirect", "--", "-id", "-uri"}, nullptr));
  EXPECT_EQ(dashed.client_id, "-id");
  EXPECT_EQ(dashed.redirect_uri, "-uri");
}

TEST(DirectoryParseTest, HelpNamesBothCommands) {
  EXPECT_THAT(std::string(UsageText()), HasSubstr("\n  resolve CLIENT_ID\n"));
  EXPECT_THAT(std::string(UsageText()), HasSubstr("\n  check-redirect CLIENT_ID URI\n"));
}

class DirectoryCliTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK_AND_ASSIGN(last_use_, server::LastUseRecorder::Create(store_.get(), std::chrono::hours(1)));
    directory_ = std::make_unique<server::ClientDirectory>(store_.get(), &clock_, last_use_.get(),
                                                           server::ClientDirectory::Options());
    ASSERT_NO_FATAL_FAILURE(StartServer(&open_callers_));

    StoredClient client = MakeClient("native-app");
    client.mutable_metadata()->set_application_type("native");
    client.mutable_metadata()->mutable_redirect_uris()->add_values("http://127.0.0.1/callback");
    client.mutable_metadata()->mutable_redirect_uris()->add_values("http://localhost:8080/callback");
    Store(client);
  }

  void TearDown() override {
    StopServer();
    directory_.reset();
    last_use_.reset();
    ClientStoreFixture::TearDown();
  }

  // Serves ClientDirectory on a fresh loopback port to the callers `callers` allows.
  void StartServer(const server::CallerAuthorizer* callers) {
    service_ = std::make_unique<server::ClientDirectoryService>(directory_.get(), callers);
    server_ = std::make_unique<testing::LoopbackGrpcServer>(service_.get());
    ASSERT_NE(server_->port(), 0);
  }

  void StopServer() { server_.reset(); }

  CliResult Run(std::vector<std::string> args) { return testing::RunCliOn(server_->port(), std::move(args)); }

  const server::CallerAuthorizer open_callers_{server::DefaultServerConfig()};
  std::unique_ptr<server::LastUseRecorder> last_use_;
  std::unique_ptr<server::ClientDirectory> directory_;
  std::unique_ptr<server::ClientDirectoryService> service_;
  std::unique_ptr<testing::LoopbackGrpcServer> server_;
};

TEST_F(DirectoryCliTest, ResolvePrintsTheClientAndRecordsNoUse) {
  const CliResult result = Run({"resolve", "native-app"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "client_id:                  native-app\n"
            "client_name:                Client native-app\n"
            "state:                      active\n"
            "origin:                     dynamic\n"
            "token_endpoint_auth_method: client_secret_basic\n"
            "client_secret:              set, expires never\n"
            "created:                    2023-11-14T21:56:40Z\n"
            "last_used:                  never\n"
            "version:                    1\n"
            "application_type:           native\n"
            "redirect_uris:              http://127.0.0.1/callback\n"
            "                            http://localhost:8080/callback\n"
            "redirect_hosts:             127.0.0.1\n"
            "                            localhost\n"
            "loopback_redirects_only:    yes\n");
  EXPECT_EQ(last_use_->Pending("native-app"), 0) << "an operator's look is not a use";
}

TEST_F(DirectoryCliTest, ResolveJsonIsOneResolvedClient) {
  const CliResult result = Run({"resolve", "native-app", "--json"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.out.find('\n'), result.out.size() - 1) << "one line";
  EXPECT_THAT(result.out, HasSubstr(R"("loopback_redirects_only":true)"));
  EXPECT_THAT(result.out, HasSubstr(R"("last_used_at":"0")"));
  clientreg::v1::ResolvedClient resolved;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &resolved).ok()) << result.out;
  EXPECT_EQ(resolved.client_id(), "native-app");
  EXPECT_EQ(resolved.metadata().application_type(), "native");
  EXPECT_EQ(resolved.redirect_hosts_size(), 2);
}

TEST_F(DirectoryCliTest, ResolveUnknownIsNotFound) {
  const CliResult result = Run({"resolve", "gone"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "clientreg-admin: client 'gone' not found (NOT_FOUND)\n");
}

// A metadata document client_id that does not resolve: the server's reason reaches the operator (it was dropped as
// for a registered client, leaving "not found" and nothing to act on).
TEST_F(DirectoryCliTest, ResolveUnresolvableDocumentSaysWhy) {
  clientreg::config::v1::ServerConfig config = server::DefaultServerConfig();
  config.mutable_cimd()->set_enabled(true);
  config.mutable_cimd()->set_insecure_allow_loopback_http(true);
  const server::MetadataValidator validator(config.limits(), config.registration());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<server::CimdResolver> resolver,
                       server::CimdResolver::Create(config.cimd(), server::CimdFetcherOptions(config.cimd()),
                                                    &validator, &clock_, /*metrics=*/nullptr));
  StopServer();
  server::ClientDirectory::Options options;
  options.cimd = resolver.get();
  directory_ = std::make_unique<server::ClientDirectory>(store_.get(), &clock_, last_use_.get(), options);
  ASSERT_NO_FATAL_FAILURE(StartServer(&open_callers_));

  // A query is refused by the URL rules before any fetch.
  const std::string url = "http://127.0.0.1:1/client.json?v=1";
  const CliResult result = Run({"resolve", url});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, StartsWith("clientreg-admin: client '" + url + "' not found: "));
  EXPECT_THAT(result.err, HasSubstr("query"));
  EXPECT_THAT(result.err, HasSubstr(" (NOT_FOUND)\n"));
  EXPECT_EQ(Run({"resolve", "gone"}).err, "clientreg-admin: client 'gone' not found (NOT_FOUND)\n")
      << "a registered client_id as before";
  StopServer();
}

TEST_F(DirectoryCliTest, CheckRedirectSaysAllowedOrNotAndWhy) {
  const CliResult allowed = Run({"check-redirect", "native-app", "http://127.0.0.1:49152/callback"});
  ASSERT_EQ(allowed.code, kExitOk) << allowed.err;
  EXPECT_EQ(allowed.out,
            "allowed:     yes\n"
            "reason:      loopback_port_match\n"
            "matched:     http://127.0.0.1/callback\n"
            "explanation: the redirect URI differs from a registered loopback URI of this native client only in its "
            "port, which may vary (RFC 8252 Section 7.3)\n");

  const CliResult refused = Run({"check-redirect", "native-app", "http://localhost:49152/other"});
  EXPECT_EQ(refused.code, kExitOk) << "an answer, whatever it says";
  EXPECT_THAT(refused.out, StartsWith("allowed:     no\nreason:      not_registered\nexplanation: "));
  EXPECT_THAT(refused.out, Not(HasSubstr("matched")));
}

TEST_F(DirectoryCliTest, CheckRedirectJsonHasAllowed) {
  const CliResult allowed = Run({"--json", "check-redirect", "native-app", "http://localhost:8080/callback"});
  ASSERT_EQ(allowed.code, kExitOk) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr(R"("allowed":true)"));
  EXPECT_THAT(allowed.out, HasSubstr(R"("reason":"REASON_EXACT_MATCH")"));
  EXPECT_THAT(allowed.out, HasSubstr(R"("matched_redirect_uri":"http://localhost:8080/callback")"));

  const CliResult refused = Run({"--json", "check-redirect", "native-app", "https://evil.example/callback#x"});
  ASSERT_EQ(refused.code, kExitOk) << refused.err;
  EXPECT_THAT(refused.out, HasSubstr(R"("allowed":false)"));
  CheckRedirectUriResponse answer;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(refused.out, &answer).ok()) << refused.out;
  EXPECT_EQ(answer.reason(), CheckRedirectUriResponse::REASON_INVALID_URI);
  EXPECT_EQ(answer.matched_redirect_uri(), "");
  EXPECT_FALSE(answer.explanation().empty());
}

TEST_F(DirectoryCliTest, CheckRedirectErrorsAreRpcErrors) {
  const CliResult unknown = Run({"check-redirect", "gone", "http://127.0.0.1/callback"});
  EXPECT_EQ(unknown.code, kExitRpcError);
  EXPECT_EQ(unknown.err, "clientreg-admin: client 'gone' not found (NOT_FOUND)\n");
  const CliResult too_long = Run({"check-redirect", "native-app", "http://127.0.0.1/" + std::string(3000, 'x')});
  EXPECT_EQ(too_long.code, kExitRpcError);
  EXPECT_EQ(too_long.err,
            "clientreg-admin: check-redirect client 'native-app' failed: redirect_uri is longer than 2048 bytes "
            "(INVALID_ARGUMENT)\n");
}

// Callers configured: an admin-only credential is refused with exit 4 and told which service to add.
TEST_F(DirectoryCliTest, RefusedCallerIsToldToAddTheDirectory) {
  StopServer();
  clientreg::config::v1::ServerConfig config = server::DefaultServerConfig();
  for (const auto& [name, service] : {std::pair<std::string, std::string>{"ops", "clientreg.v1.ClientAdmin"},
                                      {"authorization-server", "clientreg.v1.ClientDirectory"}}) {
    clientreg::config::v1::CallerConfig& caller = *config.add_callers();
    caller.set_name(name);
    caller.add_bearer_token_sha256(testing::Sha256Hex(name + "-token"));
    caller.add_services(service);
  }
  const server::CallerAuthorizer callers(config);
  ASSERT_NO_FATAL_FAILURE(StartServer(&callers));
  const auto token_file = [this](const std::string& name) {
    const std::string path = dir_ + "/" + name + ".token";
    std::ofstream(path) << name << "-token\n";
    return "--token_file=" + path;
  };

  const CliResult ops = Run({token_file("ops"), "resolve", "native-app"});
  EXPECT_EQ(ops.code, kExitRefused);
  EXPECT_EQ(ops.err,
            "clientreg-admin: the server refused this caller: caller \"ops\" may not call clientreg.v1.ClientDirectory "
            "(PERMISSION_DENIED); the server's config must list clientreg.v1.ClientDirectory in this caller's "
            "services\n");
  const CliResult as =
      Run({token_file("authorization-server"), "check-redirect", "native-app", "http://127.0.0.1:1234/callback"});
  EXPECT_EQ(as.code, kExitOk) << as.err;
  EXPECT_THAT(as.out, StartsWith("allowed:     yes\n"));
  StopServer();
}

}  // namespace
}  // namespace clientreg::tools
