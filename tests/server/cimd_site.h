#ifndef CLIENTREG_TESTS_SERVER_CIMD_SITE_H_
#define CLIENTREG_TESTS_SERVER_CIMD_SITE_H_

// A site serving Client ID Metadata Documents to the CIMD resolver tests: a CA made for the test, a TestHttpsServer
// on 127.0.0.1 presenting a leaf for client.example and other.example, a resolver mapping those names to
// 127.0.0.1, and fetcher options that trust the CA and may connect to 127.0.0.1 alone.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clientreg/config/v1/config.pb.h"
#include "common/ip_network.h"
#include "fetch/https_fetcher.h"
#include "gtest/gtest.h"
#include "server/cimd_resolver.h"
#include "tests/status_matchers.h"
#include "tests/support/test_files.h"
#include "tests/support/test_https_server.h"
#include "tests/support/test_pki.h"

namespace clientreg::testing {

inline constexpr char kCimdHost[] = "client.example";
inline constexpr char kOtherCimdHost[] = "other.example";
// The members of a valid document, each followed by a comma: a native client with one loopback redirect URI.
inline constexpr char kValidCimdMembers[] =
    R"("client_name":"Example Agent","redirect_uris":["http://127.0.0.1:3000/cb"],)";

// A document whose client_id is `url`, after `members` (JSON members, each followed by a comma).
inline std::string CimdDocument(const std::string& url, const std::string& members = kValidCimdMembers) {
  return absl::StrCat("{", members, R"("client_id":")", url, R"("})");
}

// A 200 with `body` as application/json, then `headers`.
inline TestHttpResponse JsonResponse(std::string body, const HttpFields& headers = {}) {
  TestHttpResponse response;
  response.headers = {{"Content-Type", "application/json"}};
  response.headers.insert(response.headers.end(), headers.begin(), headers.end());
  response.body = std::move(body);
  return response;
}

// Resolves client.example and other.example to 127.0.0.1, any other name to nothing; counts the questions.
class LoopbackNames final : public fetch::Resolver {
 public:
  absl::StatusOr<std::vector<common::IpAddress>> Resolve(std::string_view host) override {
    ++calls_;
    if (host != kCimdHost && host != kOtherCimdHost) return absl::NotFoundError("no such name in the test");
    absl::StatusOr<common::IpAddress> loopback = common::ParseIpAddress("127.0.0.1");
    if (!loopback.ok()) return loopback.status();
    return std::vector<common::IpAddress>{*loopback};
  }
  int calls() const { return calls_; }

 private:
  std::atomic<int> calls_{0};
};

// Stands in for the public internet, which tests cannot reach: 127.0.0.1 is allowed, every other address refused.
inline std::optional<std::string> OnlyTestLoopback(const common::IpAddress& address) {
  const absl::StatusOr<common::IpAddress> loopback = common::ParseIpAddress("127.0.0.1");
  if (loopback.ok() && address == *loopback) return std::nullopt;
  return "not the test server";
}

class CimdSite {
 public:
  // Makes the CA and the leaf and starts the server, answering 404 until told otherwise. Call it under
  // ASSERT_NO_FATAL_FAILURE.
  void Start(const std::string& dir_prefix) {
    const std::string dir = MakeTestDir(dir_prefix);
    ASSERT_FALSE(dir.empty());
    ASSERT_OK_AND_ASSIGN(TestPki pki, TestPki::Create(dir));
    pki_.emplace(std::move(pki));
    LeafOptions leaf_options;
    leaf_options.common_name = kCimdHost;
    leaf_options.dns_names = {kCimdHost, kOtherCimdHost};
    leaf_options.file_stem = "site";
    ASSERT_OK_AND_ASSIGN(const TestCertificate leaf, pki_->Issue(leaf_options));
    ASSERT_OK_AND_ASSIGN(server_, TestHttpsServer::Start({leaf.chain_file, leaf.private_key_file}));
    TestHttpResponse not_found = JsonResponse("{}");
    not_found.status = 404;
    server_->SetResponse(not_found);
  }

  TestHttpsServer& server() { return *server_; }
  const LoopbackNames& names() const { return *names_; }

  // https://<host>:<the server's port><path>
  std::string Url(const std::string& path, const std::string& host = kCimdHost) const {
    return absl::StrCat("https://", host, ":", server_->port(), path);
  }

  // Answers every request, after `delay`, with a valid document for the URL it asked for (https://, its Host field
  // and its target), followed by `headers`.
  void ServeValidDocuments(const HttpFields& headers = {}, absl::Duration delay = absl::ZeroDuration()) {
    server_->SetHandler([headers, delay](const TestHttpRequest& request) {
      TestHttpResponse response =
          JsonResponse(CimdDocument(absl::StrCat("https://", request.Header("Host"), request.target)), headers);
      response.delay_before_head = delay;
      return response;
    });
  }

  // CimdFetcherOptions(config), trusting the test CA, resolving through names() and connecting to 127.0.0.1 only.
  fetch::FetcherOptions FetcherOptions(const clientreg::config::v1::CimdConfig& config) const {
    fetch::FetcherOptions options = clientreg::server::CimdFetcherOptions(config);
    options.ca_file = pki_->ca().certificate_file;
    options.resolver = names_;
    options.address_policy = OnlyTestLoopback;
    return options;
  }

 private:
  std::optional<TestPki> pki_;
  std::unique_ptr<TestHttpsServer> server_;
  std::shared_ptr<LoopbackNames> names_ = std::make_shared<LoopbackNames>();
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SERVER_CIMD_SITE_H_
