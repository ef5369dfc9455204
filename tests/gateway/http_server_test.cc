// Pins the HTTP/1.1 layer of the gateway: raw bytes over real sockets against an HttpServer on 127.0.0.1:0, with a
// test handler in place of the router. One test per row of the framing table in docs/style.md.

#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/json_string.h"
#include "gateway/cancellation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::gateway {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Every socket read and write in these tests gives up after this, so a broken server fails a test, never hangs it.
constexpr std::chrono::seconds kSocketTimeout{5};

constexpr std::string_view kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  bool Has(const std::string& name) const { return headers.count(name) > 0; }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// A blocking HTTP client on a raw socket.
class TestClient {
 public:
  TestClient() = default;
  ~TestClient() { Close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  [[nodiscard]] bool Connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval timeout{};
    timeout.tv_sec = kSocketTimeout.count();
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }

  // MSG_NOSIGNAL: a server that closed first gives EPIPE here rather than killing the test with SIGPIPE.
  [[nodiscard]] bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt on close, timeout or garbage. `head`: the request was HEAD, so no body follows.
  std::optional<TestResponse> ReadResponse(bool head = false) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    const std::string head_block = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    TestResponse response;
    if (head_block.size() < 12 || head_block.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    response.status = std::stoi(head_block.substr(9, 3));
    std::size_t line_start = head_block.find("\r\n");
    while (line_start != std::string::npos) {
      line_start += 2;
      const std::size_t line_end = head_block.find("\r\n", line_start);
      const std::string line = head_block.substr(line_start, line_end - line_start);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        response.headers[Lower(line.substr(0, colon))] = value;
      }
      line_start = line_end;
    }
    const bool no_body = head || response.status / 100 == 1 || response.status == 204 || response.status == 304;
    if (no_body) return response;
    if (!response.Has("content-length")) {
      while (Fill()) {
      }
      response.body = std::move(buffer_);
      buffer_.clear();
      return response;
    }
    const std::size_t length = std::stoul(response.Header("content-length"));
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // True if the server closes the connection (end of stream or reset) with no further bytes.
  [[nodiscard]] bool ReadsEof() {
    if (!buffer_.empty()) return false;
    char byte;
    const ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // True if anything (bytes, end of stream, reset) arrives within `wait`.
  [[nodiscard]] bool HearsWithin(std::chrono::milliseconds wait) {
    if (!buffer_.empty()) return true;
    pollfd entry{fd_, POLLIN, 0};
    return ::poll(&entry, 1, static_cast<int>(wait.count())) > 0;
  }

  void ShutdownSend() { ::shutdown(fd_, SHUT_WR); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool Fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

std::string Get(std::string_view target, std::string_view extra_fields = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra_fields) + "\r\n";
}

std::string Post(std::string_view target, std::string_view body, std::string_view extra_fields = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra_fields) + "\r\n" + std::string(body);
}

void ExpectJsonError(const TestResponse& response, int status) {
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.Header("content-type"), "application/json");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_THAT(response.body, HasSubstr("\"error\":\"invalid_request\""));
  EXPECT_THAT(response.body, HasSubstr("\"error_description\":"));
  EXPECT_EQ(Lower(response.Header("connection")), "close");
}

// Keeps the status of every exchange.
class StatusObserver final : public HttpObserver {
 public:
  void ConnectionOpened() override {}
  void ConnectionClosed() override {}
  void Refused(HttpRefusal) override {}
  void Exchange(const HttpExchange& exchange) override {
    std::lock_guard<std::mutex> lock(mutex_);
    statuses_.push_back(exchange.status);
  }
  std::vector<unsigned> statuses() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return statuses_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<unsigned> statuses_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  static HttpServerOptions TestOptions() {
    HttpServerOptions options;
    options.read_timeout = std::chrono::seconds(5);
    options.idle_timeout = std::chrono::seconds(5);
    options.write_timeout = std::chrono::seconds(5);
    return options;
  }

  void StartServer(HttpServerOptions options = TestOptions()) {
    server_ = std::make_unique<HttpServer>(
        options,
        [this](HttpRequest request, std::function<void(HttpResponse)> done) {
          Handle(std::move(request), std::move(done));
        },
        &observer_);
    ASSERT_OK(server_->Start());
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    // The server goes first, so workers still holding a `done` call it on a server that is gone: it must be ignored.
    server_.reset();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      workers.swap(workers_);
      held_ = nullptr;
    }
    for (std::thread& worker : workers) worker.join();
  }

  static HttpResponse Echo(const HttpRequest& request) {
    HttpResponse response;
    response.headers.emplace_back("Content-Type", "application/json");
    std::string& body = response.body;
    body = "{\"method\":";
    common::AppendJsonString(body, request.method);
    body += ",\"target\":";
    common::AppendJsonString(body, request.target);
    body += ",\"content_type\":";
    common::AppendJsonString(body, request.content_type);
    body += ",\"body_length\":" + std::to_string(request.body.size()) + "}";
    return response;
  }

  // Answers by target: most echo at once; a few answer late, from another thread, or not at all.
  void Handle(HttpRequest request, std::function<void(HttpResponse)> done) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    const std::string& target = request.target;
    if (target == "/async" || target == "/slow") {
      const auto delay = std::chrono::milliseconds(target == "/async" ? 20 : 300);
      workers_.emplace_back([delay, done = std::move(done), response = Echo(request)]() mutable {
        std::this_thread::sleep_for(delay);
        done(std::move(response));
      });
      return;
    }
    if (target == "/hold") {
      held_ = std::move(done);
      return;
    }
    if (target == "/drop") return;
    if (target == "/throw") throw std::runtime_error("handler failed");
    HttpResponse response = Echo(request);
    if (target == "/nocontent") {
      response = HttpResponse{};
      response.status = 204;
    } else if (target == "/close") {
      response.close = true;
    } else if (target == "/badfields") {
      response.headers.emplace_back("X-Split", "a\r\nInjected: 1");
      response.headers.emplace_back("Bad Name", "x");
      response.headers.emplace_back("Content-Length", "999");
      response.headers.emplace_back("X-Good", "kept");
    }
    done(std::move(response));
  }

  std::size_t Calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }

  HttpRequest Request(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.at(i);
  }

  // Polls `condition` for up to kSocketTimeout.
  static bool Eventually(const std::function<bool()>& condition) {
    const auto deadline = Clock::now() + kSocketTimeout;
    while (Clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
  }

  uint16_t port() const { return server_->port(); }

  StatusObserver observer_;  // outlives server_
  std::unique_ptr<HttpServer> server_;
  std::mutex mutex_;
  std::vector<HttpRequest> requests_;
  std::vector<std::thread> workers_;
  std::function<void(HttpResponse)> held_;
};

// ---------------------------------------------------------------------------------------------------------------
// The framing table: each request is refused with one JSON error and `Connection: close`, and the request pipelined
// behind it (a smuggling attempt when the framing is ambiguous) is never handled.

struct FramingCase {
  const char* name;
  std::string request;
  int status;
};

// Names the row in test output (ctest shows the parameter).
void PrintTo(const FramingCase& row, std::ostream* os) { *os << row.name; }

class FramingTest : public HttpServerTest, public ::testing::WithParamInterface<FramingCase> {};

TEST_P(FramingTest, RefusedWithJsonErrorAndCloseAndNothingAfterIsHandled) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(GetParam().request + std::string(kSmuggled)));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  ExpectJsonError(*response, GetParam().status);
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(Calls(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, FramingTest,
    ::testing::Values(
        FramingCase{"TransferEncodingGzip", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        FramingCase{"TransferEncodingGzipThenChunked",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
        FramingCase{"TransferEncodingChunkedThenGzip",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        FramingCase{"TransferEncodingChunkedTwice",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\n\r\n",
                    400},
        FramingCase{"TransferEncodingGzipThenContentLength",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello", 400},
        FramingCase{"ContentLengthThenTransferEncodingGzip",
                    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello", 400},
        FramingCase{"TransferEncodingChunkedAndContentLength",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                    "0\r\n\r\n",
                    400},
        FramingCase{"Http10Chunked", "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                    400},
        FramingCase{"ObsoleteLineFolding", "GET /a HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400},
        FramingCase{"ObsoleteLineFoldingWithTab", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\t5\r\n\r\nhello",
                    400},
        FramingCase{"PostWithoutLength", "POST /a HTTP/1.1\r\nHost: x\r\n\r\n", 411},
        FramingCase{"PutWithoutLength", "PUT /a HTTP/1.1\r\nHost: x\r\n\r\n", 411},
        FramingCase{"ContentLengthOverLimit", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413},
        FramingCase{"ChunkedOverLimitInOneChunk",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n", 413},
        FramingCase{"ChunkedOverLimitAcrossChunks",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8000\r\n" +
                        std::string(0x8000, 'a') + "\r\n8001\r\n" + std::string(0x8001, 'b') + "\r\n0\r\n\r\n",
                    413},
        FramingCase{"HeaderOverLimit", "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n",
                    431},
        FramingCase{"DifferingContentLengths",
                    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
        FramingCase{"RepeatedContentLength",
                    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
        FramingCase{"NegativeContentLength", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
        FramingCase{"ContentLengthListInOneField", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
                    400},
        FramingCase{"ContentLengthWithPlusSign", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
        FramingCase{"SpaceBeforeColon", "GET /a HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400},
        FramingCase{"BareLineFeed", "GET /a HTTP/1.1\nHost: x\n\n", 400},
        FramingCase{"BadChunkSize", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        FramingCase{"ChunkExtensionTooLong",
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=" +
                        std::string(100000, 'e') + "\r\na\r\n0\r\n\r\n",
                    400},
        FramingCase{"MissingHost", "GET /a HTTP/1.1\r\n\r\n", 400},
        FramingCase{"TwoHosts", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
        FramingCase{"TwoContentTypes",
                    "GET /a HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Type: application/json\r\n\r\n", 400},
        FramingCase{"MalformedRequestLine", "GET\r\n\r\n", 400},
        FramingCase{"Http2RequestLine", "GET /a HTTP/2.0\r\nHost: x\r\n\r\n", 400}),
    [](const ::testing::TestParamInfo<FramingCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------------------------
// Limits (spec.md checklist 48).

TEST_F(HttpServerTest, ContentLengthOfOneGigabyteIsRefusedBeforeAnyBody) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  const auto start = Clock::now();
  ASSERT_TRUE(
      client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1000000000\r\n\r\n"));
  std::optional<TestResponse> response = client.ReadResponse();
  const auto elapsed = Clock::now() - start;
  ASSERT_TRUE(response.has_value());
  ExpectJsonError(*response, 413);
  // Answered from the header alone: well inside the 5 s read timeout that a wait for the body would hit.
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(Calls(), 0u);
}

TEST_F(HttpServerTest, FourMebibyteBodyGets413WithJsonBody) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  const std::string body(4 << 20, 'x');
  // The body is sent from another thread: the server answers from the header, and the sender must not block the
  // reader. The send may fail once the server closes; only the answer matters.
  std::thread sender([&client, request = Post("/register", body)] { (void)client.Send(request); });
  std::optional<TestResponse> response = client.ReadResponse();
  sender.join();
  ASSERT_TRUE(response.has_value());
  ExpectJsonError(*response, 413);
  EXPECT_EQ(Calls(), 0u);

  // The server stays up.
  TestClient next;
  ASSERT_TRUE(next.Connect(port()));
  ASSERT_TRUE(next.Send(Get("/after")));
  std::optional<TestResponse> after = next.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, BodyAtTheLimitIsHandled) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Post("/a", std::string(65536, 'x'))));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("\"body_length\":65536"));
}

// ---------------------------------------------------------------------------------------------------------------
// Persistence, pipelining, chunked bodies (spec.md checklist 52; RFC 9112 §7.1, §9.3).

TEST_F(HttpServerTest, ChunkedBodyIsHandledWhole) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(
      client.Send("POST /chunked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "5\r\n{\"a\":\r\n4;ext=1\r\n\"bc\"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n"));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("\"body_length\":10"));
  ASSERT_EQ(Calls(), 1u);
  EXPECT_EQ(Request(0).body, "{\"a\":\"bc\"}");
  // The connection persists after a chunked request.
  ASSERT_TRUE(client.Send(Get("/next")));
  std::optional<TestResponse> next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, TwentyRequestsOnOneKeepAliveConnection) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  for (int i = 0; i < 20; ++i) {
    const std::string target = "/r" + std::to_string(i);
    ASSERT_TRUE(client.Send(Post(target, "{}")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_THAT(response->body, HasSubstr("\"target\":\"" + target + "\""));
    EXPECT_FALSE(response->Has("connection")) << response->Header("connection");
    EXPECT_EQ(response->Header("content-type"), "application/json");
    EXPECT_TRUE(response->Has("date"));
  }
  EXPECT_EQ(Calls(), 20u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  // The first is answered late from another thread, so order cannot come from timing.
  ASSERT_TRUE(client.Send(Get("/slow") + Post("/second", "{\"x\":1}") + Get("/third")));
  for (const char* target : {"/slow", "/second", "/third"}) {
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(response->status, 200);
    EXPECT_THAT(response->body, HasSubstr(std::string("\"target\":\"") + target + "\""));
  }
  EXPECT_EQ(Calls(), 3u);
}

TEST_F(HttpServerTest, ExpectContinueGets100ThenTheResponse) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(
      client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
                  "Expect: 100-continue\r\n\r\n"));
  std::optional<TestResponse> interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("{\"a\":1}"));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("\"body_length\":7"));
}

TEST_F(HttpServerTest, ExpectContinueWithRefusedHeaderGetsOnlyTheFinalAnswer) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  ExpectJsonError(*response, 413);
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/a", "Connection: close\r\n") + Get("/never")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Lower(response->Header("connection")), "close");
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(Calls(), 1u);
}

TEST_F(HttpServerTest, HandlerCanAskToClose) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/close")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(Lower(response->Header("connection")), "close");
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  StartServer();
  {
    TestClient client;
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\n\r\n"));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.ReadsEof());
  }
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(Lower(response->Header("connection")), "keep-alive");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses.

TEST_F(HttpServerTest, NoContentHasNeitherBodyNorContentLength) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/nocontent") + Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 204);
  EXPECT_FALSE(response->Has("content-length"));
  // The next response starts right after the 204's header: no stray body bytes.
  std::optional<TestResponse> after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
  EXPECT_THAT(after->body, HasSubstr("/after"));
}

TEST_F(HttpServerTest, HeadGetsContentLengthButNoBody) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n" + Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse(/*head=*/true);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->Header("content-length"), "0");
  std::optional<TestResponse> after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(after->body, HasSubstr("/after"));
}

TEST_F(HttpServerTest, UnsafeOrFramingResponseFieldsAreDropped) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/badfields") + Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->Has("x-split"));
  EXPECT_FALSE(response->Has("injected"));
  EXPECT_EQ(response->Header("x-good"), "kept");
  EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));
  std::optional<TestResponse> after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(after->body, HasSubstr("/after"));
}

TEST_F(HttpServerTest, RequestFieldsReachTheHandler) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(
      client.Send("OPTIONS /oauth/register?x=1 HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                  "Access-Control-Request-Method: POST\r\nAuthorization: Bearer abc\r\n"
                  "Content-Type: Application/JSON; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}"));
  ASSERT_TRUE(client.ReadResponse().has_value());
  ASSERT_EQ(Calls(), 1u);
  const HttpRequest request = Request(0);
  EXPECT_EQ(request.method, "OPTIONS");
  EXPECT_EQ(request.target, "/oauth/register?x=1");
  EXPECT_TRUE(request.has_content_type);
  EXPECT_EQ(request.content_type, "Application/JSON; charset=utf-8");
  EXPECT_TRUE(request.has_authorization);
  EXPECT_EQ(request.authorization, "Bearer abc");
  EXPECT_EQ(request.origin, "https://app.example");
  EXPECT_EQ(request.access_control_request_method, "POST");
  EXPECT_EQ(request.body, "{}");
  EXPECT_THAT(request.peer, ::testing::StartsWith("127.0.0.1:"));

  ASSERT_TRUE(client.Send(Get("/plain")));
  ASSERT_TRUE(client.ReadResponse().has_value());
  const HttpRequest plain = Request(1);
  EXPECT_FALSE(plain.has_content_type);
  EXPECT_FALSE(plain.has_authorization);
  EXPECT_EQ(plain.origin, "");
}

// ---------------------------------------------------------------------------------------------------------------
// The handler's `done`.

TEST_F(HttpServerTest, DoneFromAnotherThreadIsWritten) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send(Get("/async")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_THAT(response->body, HasSubstr("/async"));
  }
}

TEST_F(HttpServerTest, DoneDroppedUncalledGets500) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/drop")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_THAT(response->body, HasSubstr("\"error\":\"server_error\""));
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndTheServerStaysUp) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/throw") + Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  std::optional<TestResponse> after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, SecondCallOfDoneIsIgnored) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/hold")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
  std::function<void(HttpResponse)> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done = held_;
  }
  HttpResponse first;
  first.body = "first";
  done(first);
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "first");
  // The connection now handles its next request; a stray second call must not answer it.
  ASSERT_TRUE(client.Send(Get("/slow")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 2; }));
  HttpResponse second;
  second.body = "second";
  done(second);
  std::optional<TestResponse> next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_THAT(next->body, HasSubstr("/slow"));
}

// ---------------------------------------------------------------------------------------------------------------
// Clients that go away, and timeouts.

TEST_F(HttpServerTest, ClientsDisconnectingMidRequestDoNotHurtOthers) {
  StartServer();
  {
    TestClient partial_header;
    ASSERT_TRUE(partial_header.Connect(port()));
    ASSERT_TRUE(partial_header.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Le"));
    TestClient partial_body;
    ASSERT_TRUE(partial_body.Connect(port()));
    ASSERT_TRUE(partial_body.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\""));
    TestClient pending_handler;
    ASSERT_TRUE(pending_handler.Connect(port()));
    ASSERT_TRUE(pending_handler.Send(Get("/slow")));
    ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
    // All three close here, the last while its handler still runs; its late `done` must be harmless.
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Calls(), 2u);
}

TEST_F(HttpServerTest, ClientHangingUpWhileItsRequestIsHandledCancelsIt) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/hold")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
  const std::shared_ptr<Cancellation> cancellation = Request(0).cancellation;
  ASSERT_NE(cancellation, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(cancellation->cancelled());  // the client waits: nothing to cancel
  client.Close();
  EXPECT_TRUE(Eventually([&] { return cancellation->cancelled(); }));
  EXPECT_TRUE(Eventually([&] { return observer_.statuses() == std::vector<unsigned>{499}; }));
  // The late answer goes nowhere, and the server serves on.
  std::function<void(HttpResponse)> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done = std::move(held_);
  }
  done(HttpResponse{});
  TestClient next;
  ASSERT_TRUE(next.Connect(port()));
  ASSERT_TRUE(next.Send(Get("/after")));
  std::optional<TestResponse> response = next.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, HalfCloseAfterTheRequestCountsAsHangingUp) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/hold")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
  client.ShutdownSend();
  EXPECT_TRUE(Eventually([&] { return Request(0).cancellation->cancelled(); }));
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, PipelinedRequestWhileHandlingIsNotAHangUp) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/hold")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
  ASSERT_TRUE(client.Send(Get("/after")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Request(0).cancellation->cancelled());
  std::function<void(HttpResponse)> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done = std::move(held_);
  }
  HttpResponse held;
  held.body = "held";
  done(std::move(held));
  std::optional<TestResponse> first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "held");
  std::optional<TestResponse> second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(second->body, HasSubstr("/after"));
  EXPECT_FALSE(Request(1).cancellation->cancelled());
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options = TestOptions();
  options.idle_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/a")));
  ASSERT_TRUE(client.ReadResponse().has_value());
  const auto start = Clock::now();
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(150));
}

TEST_F(HttpServerTest, SlowRequestIsClosedAfterReadTimeout) {
  HttpServerOptions options = TestOptions();
  options.read_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  const auto start = Clock::now();
  ASSERT_TRUE(client.Send("POST /a HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(Calls(), 0u);
}

TEST_F(HttpServerTest, GarbageNeverCrashesTheServer) {
  StartServer();
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245 + 12345;
    return static_cast<char>(seed >> 16);
  };
  for (int i = 0; i < 50; ++i) {
    TestClient client;
    ASSERT_TRUE(client.Connect(port()));
    // Half start like a request, so the bytes reach the field and body parsers too.
    std::string bytes = i % 2 == 0 ? "POST /a HTTP/1.1\r\nHost: x\r\n" : "";
    for (int j = 0; j < 2000; ++j) bytes += next();
    (void)client.Send(bytes);
  }
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/after")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, ConcurrentKeepAliveClientsAreAllServed) {
  StartServer();
  constexpr int kClients = 32;
  constexpr int kRequests = 10;
  std::vector<int> served(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c, &served] {
      TestClient client;
      if (!client.Connect(port())) return;
      for (int r = 0; r < kRequests; ++r) {
        const std::string target = "/c" + std::to_string(c) + "r" + std::to_string(r);
        if (!client.Send(Post(target, "{}"))) return;
        std::optional<TestResponse> response = client.ReadResponse();
        if (!response || response->status != 200 || response->body.find(target) == std::string::npos) return;
        ++served[c];
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(served[c], kRequests) << "client " << c;
}

// ---------------------------------------------------------------------------------------------------------------
// The connection cap (spec.md §10).

TEST_F(HttpServerTest, ConnectionCapClosesTheOldestIdleConnectionToMakeRoom) {
  HttpServerOptions options = TestOptions();
  options.max_connections = 2;
  StartServer(options);
  TestClient oldest;
  TestClient newer;
  for (TestClient* client : {&oldest, &newer}) {
    ASSERT_TRUE(client->Connect(port()));
    ASSERT_TRUE(client->Send(Get("/a")));
    ASSERT_TRUE(client->ReadResponse().has_value());
    // Lets the connection register as idle after its write, so the order of the two is known.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  TestClient third;
  ASSERT_TRUE(third.Connect(port()));  // completes in the listen backlog
  ASSERT_TRUE(third.Send(Get("/third")));
  std::optional<TestResponse> response = third.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(response->body, HasSubstr("/third"));
  EXPECT_TRUE(oldest.ReadsEof());
  // The newer idle connection was left alone.
  ASSERT_TRUE(newer.Send(Get("/again")));
  std::optional<TestResponse> again = newer.ReadResponse();
  ASSERT_TRUE(again.has_value());
  EXPECT_THAT(again->body, HasSubstr("/again"));
}

TEST_F(HttpServerTest, ConnectionCapLeavesNewConnectionsInTheBacklogWhenNoneIsIdle) {
  HttpServerOptions options = TestOptions();
  options.max_connections = 2;
  StartServer(options);
  TestClient first;
  TestClient second;
  for (TestClient* client : {&first, &second}) {
    ASSERT_TRUE(client->Connect(port()));
    ASSERT_TRUE(client->Send("GET /busy HTTP/1.1\r\n"));  // mid-request: not idle
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  TestClient third;
  ASSERT_TRUE(third.Connect(port()));
  ASSERT_TRUE(third.Send(Get("/third")));
  // Neither served nor reset while the server is full.
  EXPECT_FALSE(third.HearsWithin(std::chrono::milliseconds(300)));
  // The first finishes its request; once answered it is idle, so it gives way to the waiting connection.
  ASSERT_TRUE(first.Send("Host: x\r\n\r\n"));
  std::optional<TestResponse> first_response = first.ReadResponse();
  ASSERT_TRUE(first_response.has_value());
  EXPECT_EQ(first_response->status, 200);
  EXPECT_TRUE(first.ReadsEof());
  std::optional<TestResponse> response = third.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(response->body, HasSubstr("/third"));
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle.

TEST_F(HttpServerTest, StartFailsWhenThePortIsTaken) {
  StartServer();
  HttpServerOptions options = TestOptions();
  options.port = port();
  HttpServer second(options, [](HttpRequest, std::function<void(HttpResponse)> done) { done(HttpResponse{}); });
  const absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(HttpServerTest, StartRejectsAnAddressThatIsNotAnIp) {
  HttpServerOptions options = TestOptions();
  options.address = "localhost";
  HttpServer server(options, [](HttpRequest, std::function<void(HttpResponse)> done) { done(HttpResponse{}); });
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpServerTest, ShutdownLetsAnInFlightRequestFinish) {
  StartServer();
  TestClient idle;
  ASSERT_TRUE(idle.Connect(port()));
  ASSERT_TRUE(idle.Send(Get("/a")));
  ASSERT_TRUE(idle.ReadResponse().has_value());
  TestClient busy;
  ASSERT_TRUE(busy.Connect(port()));
  ASSERT_TRUE(busy.Send(Get("/slow")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 2; }));

  const auto start = Clock::now();
  std::thread stopper([&] { server_->Shutdown(std::chrono::seconds(3)); });
  std::optional<TestResponse> response = busy.ReadResponse();
  stopper.join();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Lower(response->Header("connection")), "close");
  EXPECT_TRUE(busy.ReadsEof());
  EXPECT_TRUE(idle.ReadsEof());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));

  TestClient late;
  EXPECT_FALSE(late.Connect(port()));
}

TEST_F(HttpServerTest, ShutdownDoesNotHangOnAnUnansweredRequest) {
  StartServer();
  TestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Send(Get("/hold")));
  ASSERT_TRUE(Eventually([&] { return Calls() == 1; }));
  const auto start = Clock::now();
  server_->Shutdown(std::chrono::milliseconds(200));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(client.ReadsEof());
  // A `done` after shutdown is ignored.
  std::function<void(HttpResponse)> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done = std::move(held_);
  }
  done(HttpResponse{});
  server_->Shutdown(std::chrono::milliseconds(0));  // idempotent
}

}  // namespace
}  // namespace clientreg::gateway
