// Pins the ops port's HTTP behaviour: raw bytes over real sockets against an OpsServer on port 0.

#include "common/ops_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/support/raw_http.h"

namespace clientreg::common {
namespace {

using ::clientreg::testing::RawConnection;
using ::clientreg::testing::RawResponse;
using ::clientreg::testing::RoundTrip;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr std::string_view kGetHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr std::string_view kBody = "{\"status\":\"ok\"}";

// Sends `request` over a new connection to the loopback address of `family` and returns every byte received until
// the server closes; nullopt if it cannot connect or the server keeps the connection open for 5 s.
std::optional<std::string> SendAndReadToClose(int family, uint16_t port, std::string_view request) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  v6.sin6_addr = in6addr_loopback;
  const int connected = family == AF_INET6 ? ::connect(fd, reinterpret_cast<const sockaddr*>(&v6), sizeof(v6))
                                           : ::connect(fd, reinterpret_cast<const sockaddr*>(&v4), sizeof(v4));
  std::optional<std::string> received;
  if (connected == 0 && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
    std::string bytes;
    char chunk[4096];
    ssize_t n;
    while ((n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0) bytes.append(chunk, static_cast<std::size_t>(n));
    if (n == 0) received = std::move(bytes);
  }
  ::close(fd);
  return received;
}

class OpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::map<std::string, OpsServer::Handler> routes;
    routes["/healthz"] = [this] {
      ++healthz_calls_;
      return OpsResponse{200, "application/json", std::string(kBody)};
    };
    routes["/readyz"] = [] { return OpsResponse{503, "application/json", "{\"status\":\"not_ready\"}"}; };
    routes["/metrics"] = [] { return OpsResponse{200, "text/plain; version=0.0.4", "clientreg_up 1\n"}; };
    routes["/throws"] = []() -> OpsResponse { throw std::runtime_error("handler bug"); };
    ASSERT_OK_AND_ASSIGN(server_, OpsServer::Start("127.0.0.1:0", std::move(routes)));
    ASSERT_NE(server_->port(), 0);
  }

  std::optional<RawResponse> Get(std::string_view request) { return RoundTrip(server_->port(), request); }

  // Sends `bytes` on a new connection and expects one response with `status`, then the server's close.
  void ExpectAnsweredAndClosed(const std::string& bytes, int status) {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.Send(bytes));
    const std::optional<RawResponse> response = connection.Read();
    ASSERT_TRUE(response.has_value()) << bytes;
    EXPECT_EQ(response->status, status) << bytes;
    EXPECT_EQ(response->Header("connection"), "close") << bytes;
    EXPECT_EQ(response->Header("cache-control"), "no-store") << bytes;
    EXPECT_TRUE(connection.PeerClosed()) << bytes;
  }

  std::atomic<int> healthz_calls_{0};
  std::unique_ptr<OpsServer> server_;
};

TEST_F(OpsServerTest, GetAnswersTheHandlersBodyAndHeaders) {
  const std::optional<RawResponse> response = Get(kGetHealthz);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, kBody);
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("content-length"), std::to_string(kBody.size()));
  EXPECT_EQ(response->Header("cache-control"), "no-store");
  // RFC 9110 §6.6.1: a server with a clock dates its responses, as an IMF-fixdate.
  EXPECT_THAT(response->Header("date"), MatchesRegex("[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
                                                     "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"));
  EXPECT_EQ(healthz_calls_.load(), 1);

  const std::optional<RawResponse> metrics = Get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->Header("content-type"), "text/plain; version=0.0.4");
  EXPECT_EQ(metrics->body, "clientreg_up 1\n");
}

TEST_F(OpsServerTest, HeadSendsTheHeadersOfGetWithoutTheBody) {
  const std::optional<std::string> bytes =
      SendAndReadToClose(AF_INET, server_->port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(bytes.has_value());
  EXPECT_THAT(*bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(*bytes, HasSubstr("Content-Length: " + std::to_string(kBody.size()) + "\r\n"));
  EXPECT_THAT(*bytes, HasSubstr("Cache-Control: no-store\r\n"));
  // Nothing follows the header block.
  EXPECT_EQ(bytes->find("\r\n\r\n"), bytes->size() - 4) << *bytes;
  EXPECT_EQ(healthz_calls_.load(), 1);
}

TEST_F(OpsServerTest, HandlerStatusPassesThrough) {
  const std::optional<RawResponse> response = Get("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "{\"status\":\"not_ready\"}");
  EXPECT_EQ(response->Header("cache-control"), "no-store");
}

TEST_F(OpsServerTest, HandlerThatThrowsGets500AndServerKeepsServing) {
  const std::optional<RawResponse> response = Get("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  const std::optional<RawResponse> next = Get(kGetHealthz);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
}

TEST_F(OpsServerTest, UnknownPathIs404) {
  for (const std::string_view path : {"/", "/healthz/", "/HEALTHZ", "/healthzz", "healthz", "*"}) {
    const std::optional<RawResponse> response = Get("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.has_value()) << path;
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_EQ(response->body, "{\"error\":\"not_found\"}") << path;
    EXPECT_EQ(response->Header("content-type"), "application/json") << path;
    EXPECT_EQ(response->Header("cache-control"), "no-store") << path;
  }
  EXPECT_EQ(healthz_calls_.load(), 0);
}

TEST_F(OpsServerTest, OtherMethodsOnAKnownPathAre405WithAllow) {
  for (const std::string_view method : {"DELETE", "OPTIONS", "PUT", "POST", "PATCH", "BREW"}) {
    const std::optional<RawResponse> response =
        Get(std::string(method) + " /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(response.has_value()) << method;
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->Header("allow"), "GET, HEAD") << method;
    EXPECT_EQ(response->Header("cache-control"), "no-store") << method;
  }
}

TEST_F(OpsServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(connection.Send(kGetHealthz));
    const std::optional<RawResponse> response = connection.Read();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kBody);
    EXPECT_NE(response->Header("connection"), "close");
  }
  // Pipelined: both requests in one write, answered in order.
  ASSERT_TRUE(connection.Send(std::string(kGetHealthz) + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::optional<RawResponse> first = connection.Read();
  const std::optional<RawResponse> second = connection.Read();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(healthz_calls_.load(), 3);
}

TEST_F(OpsServerTest, ConnectionCloseIsHonoured) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::optional<RawResponse> response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(connection.PeerClosed());
}

TEST_F(OpsServerTest, Http10KeepsTheConnectionOnlyWhenAsked) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  std::optional<RawResponse> response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "keep-alive");
  ASSERT_TRUE(connection.Send("GET /healthz HTTP/1.0\r\n\r\n"));
  response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(connection.PeerClosed());
}

TEST_F(OpsServerTest, QueryStringIsIgnored) {
  for (const std::string_view target : {"/healthz?", "/healthz?verbose=1", "/healthz?a=%2F&b"}) {
    const std::optional<RawResponse> response = Get("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(response->status, 200) << target;
    EXPECT_EQ(response->body, kBody) << target;
  }
  const std::optional<RawResponse> unknown = Get("GET /nothing?/healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(OpsServerTest, RequestWithABodyIsRefusedAndClosed) {
  const std::vector<std::string> requests = {
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      // Beast 1.74 would read this body as empty and the rest as a second request.
      "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      // Over Beast's default body limit, refused before any byte of it comes.
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
  };
  for (const std::string& request : requests) ExpectAnsweredAndClosed(request, 413);
  EXPECT_EQ(healthz_calls_.load(), 0);
}

TEST_F(OpsServerTest, GarbageGets400AndTheServerKeepsServing) {
  const std::vector<std::string> inputs = {
      std::string("\x00\x01\x02\xff garbage\r\n\r\n", 16),
      "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET\r\n\r\n",
  };
  for (const std::string& input : inputs) ExpectAnsweredAndClosed(input, 400);
  const std::optional<RawResponse> response = Get(kGetHealthz);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(OpsServerTest, OversizedHeaderGets431) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(9000, 'a') + "\r\n\r\n"));
  const std::optional<RawResponse> response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(connection.PeerClosed());

  // Just under the limit is served.
  const std::optional<RawResponse> fits =
      Get("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(7000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->status, 200);
}

TEST_F(OpsServerTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 64; ++i) {
    open.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(open.back()->connected());
  }
  // A round trip on the last one proves the server has accepted all 64 (it accepts in order).
  ASSERT_TRUE(open.back()->Send(kGetHealthz));
  ASSERT_TRUE(open.back()->Read().has_value());

  RawConnection extra(server_->port(), /*timeout_seconds=*/5);
  ASSERT_TRUE(extra.connected());  // the kernel completes the handshake; the server then closes it
  EXPECT_TRUE(extra.PeerClosed());

  // A freed slot is usable again once the server has seen the close.
  open.pop_back();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<RawResponse> response;
  while (!response.has_value() && std::chrono::steady_clock::now() < deadline) response = Get(kGetHealthz);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(OpsServerTest, StopClosesIdleConnectionsPromptly) {
  RawConnection silent(server_->port());  // never sends a byte
  ASSERT_TRUE(silent.connected());
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.Send(kGetHealthz));
  // Now idle, waiting 30 s for a next request; and since the server accepts in order, `silent` is accepted too
  // (one still in the listen backlog would be reset, not closed).
  ASSERT_TRUE(connection.Read().has_value());

  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(connection.PeerClosed());
  EXPECT_TRUE(silent.PeerClosed());
  server_->Stop();  // idempotent
  EXPECT_FALSE(RawConnection(server_->port(), 1).connected());
}

TEST(OpsServerStartTest, MalformedAddressIsInvalidArgument) {
  for (const std::string address :
       {"", "127.0.0.1", "127.0.0.1:", ":0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1: 1",
        "127.0.0.1:0x10", "localhost:0", "::1:0", "[::1]", "[127.0.0.1]:0", "[::1:0", "256.0.0.1:0", "127.0.0.1:0 "}) {
    const absl::StatusOr<std::unique_ptr<OpsServer>> server = OpsServer::Start(address, {});
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << address << "\"";
  }
}

TEST(OpsServerStartTest, TakenPortIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<OpsServer> first, OpsServer::Start("127.0.0.1:0", {}));
  const std::string address = "127.0.0.1:" + std::to_string(first->port());
  const absl::StatusOr<std::unique_ptr<OpsServer>> second = OpsServer::Start(address, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();

  // Once the first has stopped, the port can be bound again.
  first->Stop();
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<OpsServer> third, OpsServer::Start(address, {}));
  EXPECT_EQ(third->port(), first->port());
}

TEST(OpsServerStartTest, ServesIpv6Loopback) {
  std::map<std::string, OpsServer::Handler> routes;
  routes["/healthz"] = [] { return OpsResponse{200, "application/json", "{}"}; };
  absl::StatusOr<std::unique_ptr<OpsServer>> server = OpsServer::Start("[::1]:0", std::move(routes));
  if (server.status().code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  }
  ASSERT_OK(server);
  const std::optional<std::string> bytes = SendAndReadToClose(
      AF_INET6, (*server)->port(), "GET /healthz HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(bytes.has_value());
  EXPECT_THAT(*bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(*bytes, HasSubstr("\r\n\r\n{}"));
}

}  // namespace
}  // namespace clientreg::common
