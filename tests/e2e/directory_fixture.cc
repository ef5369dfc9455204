#include "tests/e2e/directory_fixture.h"

#include <sys/wait.h>

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tests/support/child_process.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_files.h"

namespace clientreg::testing {

using ::clientreg::v1::CheckRedirectUriRequest;
using ::clientreg::v1::CheckRedirectUriResponse;
using ::clientreg::v1::ResolveClientRequest;
using ::clientreg::v1::ResolvedClient;

void DirectoryFixture::Start() {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
  directory_ = clientreg::v1::ClientDirectory::NewStub(channel);
  admin_ = clientreg::v1::ClientAdmin::NewStub(channel);
}

std::string DirectoryFixture::Register(const std::string& body) {
  const std::optional<RawResponse> response = RoundTrip(http_port(), PostRequest("/oauth/register", body));
  EXPECT_TRUE(response.has_value());
  const RawResponse answer = response.value_or(RawResponse{});
  EXPECT_EQ(answer.status, 201) << answer.body;
  return answer.body;
}

grpc::Status DirectoryFixture::Resolve(const std::string& client_id, ResolveClientRequest::Purpose purpose,
                                       ResolvedClient* resolved) {
  ResolveClientRequest request;
  request.set_client_id(client_id);
  request.set_purpose(purpose);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return directory_->ResolveClient(&context, request, resolved);
}

grpc::Status DirectoryFixture::Check(const std::string& client_id, const std::string& redirect_uri,
                                     CheckRedirectUriResponse* answer) {
  CheckRedirectUriRequest request;
  request.set_client_id(client_id);
  request.set_redirect_uri(redirect_uri);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return directory_->CheckRedirectUri(&context, request, answer);
}

int DirectoryFixture::Admin(const std::vector<std::string>& args, std::string* output) {
  const std::string log = absl::StrCat(data_dir(), "/admin-", ++admin_runs_, ".log");
  std::vector<std::string> all = {absl::StrCat("--server=127.0.0.1:", server_->port())};
  all.insert(all.end(), args.begin(), args.end());
  ChildProcess admin(CLIENTREG_ADMIN_BINARY, all, log);
  const std::optional<int> status = admin.WaitForExit(std::chrono::seconds(30));
  *output = ReadTestFile(log);
  if (!status.has_value() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

}  // namespace clientreg::testing
