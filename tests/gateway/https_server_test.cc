// The gateway's HTTP server over TLS: real sockets, real OpenSSL on both sides, certificates from a test CA. The
// HTTP behaviour itself is pinned by http_server_test.cc; these tests check that it holds over TLS, and what TLS adds:
// protocol versions, ALPN, the handshake deadline, reload and drain.

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/cancellation.h"
#include "gateway/http_server.h"
#include "gateway/tls_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_client.h"

namespace clientreg::gateway {
namespace {

using ::clientreg::testing::LeafOptions;
using ::clientreg::testing::MakeTestDir;
using ::clientreg::testing::RawConnection;
using ::clientreg::testing::RawResponse;
using ::clientreg::testing::ReadTestFile;
using ::clientreg::testing::TestCertificate;
using ::clientreg::testing::TestPki;
using ::clientreg::testing::TlsClientOptions;
using ::clientreg::testing::TlsConnection;
using ::clientreg::testing::TlsVersion;
using ::clientreg::testing::WriteTestFile;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr int kSocketTimeoutSeconds = 5;

std::string Get(std::string_view target, std::string_view extra_fields = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_fields) + "\r\n";
}

// Counts refusals by reason.
class CountingObserver : public HttpObserver {
 public:
  void ConnectionOpened() override {}
  void ConnectionClosed() override {}
  void Refused(HttpRefusal reason) override { ++refusals_[static_cast<std::size_t>(reason)]; }
  void Exchange(const HttpExchange&) override {}

  int refusals(HttpRefusal reason) const { return refusals_[static_cast<std::size_t>(reason)].load(); }

 private:
  std::array<std::atomic<int>, kHttpRefusalCount> refusals_{};
};

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("clientreg-https-");
    ASSERT_FALSE(dir_.empty());
    absl::StatusOr<TestPki> pki = TestPki::Create(dir_);
    ASSERT_OK(pki.status());
    pki_ = std::make_unique<TestPki>(std::move(*pki));
    ASSERT_NO_FATAL_FAILURE(first_ = Issue("first"));
    // The server reads these paths; a test replaces their content to reload.
    chain_file_ = dir_ + "/live.chain.pem";
    key_file_ = dir_ + "/live.key";
    ASSERT_NO_FATAL_FAILURE(Install(first_));
    absl::StatusOr<std::unique_ptr<TlsContextHolder>> holder = TlsContextHolder::Create(chain_file_, key_file_);
    ASSERT_OK(holder.status());
    tls_ = std::move(*holder);
  }

  void TearDown() override {
    server_.reset();
    held_done_ = nullptr;
  }

  TestCertificate Issue(const std::string& name) {
    LeafOptions options;
    options.common_name = name;
    options.dns_names = {"localhost"};
    options.ip_addresses = {"127.0.0.1"};
    options.file_stem = name;
    absl::StatusOr<TestCertificate> leaf = pki_->Issue(options);
    EXPECT_OK(leaf.status());
    return leaf.ok() ? *leaf : TestCertificate{};
  }

  void Install(const TestCertificate& leaf) {
    ASSERT_TRUE(WriteTestFile(chain_file_, ReadTestFile(leaf.chain_file)));
    ASSERT_TRUE(WriteTestFile(key_file_, leaf.private_key_pem));
  }

  HttpServerOptions Options() {
    HttpServerOptions options;
    options.read_timeout = std::chrono::seconds(kSocketTimeoutSeconds);
    options.idle_timeout = std::chrono::seconds(kSocketTimeoutSeconds);
    options.write_timeout = std::chrono::seconds(kSocketTimeoutSeconds);
    options.max_header_bytes = 2048;
    options.tls = tls_;
    return options;
  }

  // Echoes the target; "/slow" answers after 300 ms from another thread.
  void StartServer(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(
        std::move(options),
        [this](HttpRequest request, std::function<void(HttpResponse)> done) {
          ++calls_;
          HttpResponse response;
          response.headers.emplace_back("Content-Type", "text/plain");
          response.body = "target=" + request.target;
          if (request.target == "/hold") {
            std::lock_guard<std::mutex> lock(held_mutex_);
            held_cancellation_ = request.cancellation;
            held_done_ = std::move(done);
            return;
          }
          if (request.target == "/slow") {
            std::thread([done = std::move(done), response = std::move(response)]() mutable {
              std::this_thread::sleep_for(std::chrono::milliseconds(300));
              done(std::move(response));
            }).detach();
            return;
          }
          done(std::move(response));
        },
        &observer_);
    ASSERT_OK(server_->Start());
  }

  TlsClientOptions Client(TlsVersion min = TlsVersion::kTls12, TlsVersion max = TlsVersion::kTls13) const {
    TlsClientOptions options;
    options.ca_file = pki_->ca().certificate_file;
    options.min_version = min;
    options.max_version = max;
    options.timeout_seconds = kSocketTimeoutSeconds;
    return options;
  }

  static void ExpectEcho(RawConnection& connection, const std::string& target) {
    ASSERT_TRUE(connection.Send(Get(target)));
    std::optional<RawResponse> response = connection.Read();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "target=" + target);
  }

  // The count of `reason` once it reaches `count` (a timeout closes the socket before the refusal is counted), or
  // after kSocketTimeoutSeconds.
  int RefusalsReaching(HttpRefusal reason, int count) const {
    const auto deadline = Clock::now() + std::chrono::seconds(kSocketTimeoutSeconds);
    while (observer_.refusals(reason) < count && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return observer_.refusals(reason);
  }

  uint16_t port() const { return server_->port(); }

  std::string dir_;
  std::unique_ptr<TestPki> pki_;
  TestCertificate first_;
  std::string chain_file_;
  std::string key_file_;
  std::shared_ptr<TlsContextHolder> tls_;
  CountingObserver observer_;
  std::atomic<int> calls_{0};
  // Of the "/hold" request, which is never answered.
  std::mutex held_mutex_;
  std::shared_ptr<Cancellation> held_cancellation_;
  std::function<void(HttpResponse)> held_done_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpsServerTest, Tls12AndTls13RequestsSucceedAgainstTheTestCa) {
  StartServer(Options());
  for (const TlsVersion version : {TlsVersion::kTls12, TlsVersion::kTls13}) {
    TlsConnection connection(port(), Client(version, version));
    ASSERT_TRUE(connection.connected()) << connection.handshake_error();
    EXPECT_EQ(connection.version(), version == TlsVersion::kTls12 ? "TLSv1.2" : "TLSv1.3");
    EXPECT_EQ(connection.peer_common_name(), "first");
    ExpectEcho(connection, "/v");
  }
  EXPECT_EQ(observer_.refusals(HttpRefusal::kTlsHandshake), 0);
}

TEST_F(HttpsServerTest, Tls10AndTls11AreRefusedAndCounted) {
  StartServer(Options());
  int refused = 0;
  for (const TlsVersion version : {TlsVersion::kTls10, TlsVersion::kTls11}) {
    TlsConnection connection(port(), Client(version, version));
    EXPECT_FALSE(connection.connected()) << connection.version();
    EXPECT_THAT(connection.handshake_error(), HasSubstr("handshake"));
    ++refused;
    // The ClientHello reached the server, which refused it: the refusal is the server's, not the client's.
    EXPECT_EQ(RefusalsReaching(HttpRefusal::kTlsHandshake, refused), refused);
  }
  // A client that offers 1.0 through 1.3 gets 1.3.
  TlsConnection flexible(port(), Client(TlsVersion::kTls10, TlsVersion::kTls13));
  ASSERT_TRUE(flexible.connected()) << flexible.handshake_error();
  EXPECT_EQ(flexible.version(), "TLSv1.3");
  ExpectEcho(flexible, "/after");
}

TEST_F(HttpsServerTest, AlpnSelectsHttp11WhenOfferedAndIsLeftOutOtherwise) {
  StartServer(Options());
  TlsClientOptions both = Client();
  both.alpn = {"h2", "http/1.1"};
  TlsConnection offered(port(), both);
  ASSERT_TRUE(offered.connected()) << offered.handshake_error();
  EXPECT_EQ(offered.alpn(), "http/1.1");
  ExpectEcho(offered, "/alpn");

  TlsClientOptions h2_only = Client();
  h2_only.alpn = {"h2"};
  TlsConnection not_offered(port(), h2_only);
  ASSERT_TRUE(not_offered.connected()) << not_offered.handshake_error();
  EXPECT_EQ(not_offered.alpn(), "");
  ExpectEcho(not_offered, "/no-alpn");
}

TEST_F(HttpsServerTest, PlainHttpSentToTheTlsPortIsClosedWithoutAnAnswer) {
  StartServer(Options());
  RawConnection plain(port(), kSocketTimeoutSeconds);
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.Send(Get("/plain")));
  // Whatever the server sends (a TLS alert at most) is not an HTTP response, and the connection ends.
  EXPECT_FALSE(plain.Read().has_value());
  EXPECT_NE(plain.last_read_end(), RawConnection::ReadEnd::kTimeout);
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(RefusalsReaching(HttpRefusal::kTlsHandshake, 1), 1);

  TlsConnection after(port(), Client());
  ASSERT_TRUE(after.connected()) << after.handshake_error();
  ExpectEcho(after, "/after");
}

TEST_F(HttpsServerTest, ClientThatNeverHandshakesIsClosedAfterTheReadTimeout) {
  HttpServerOptions options = Options();
  options.read_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  RawConnection silent(port(), kSocketTimeoutSeconds);
  ASSERT_TRUE(silent.connected());
  const auto start = Clock::now();
  EXPECT_TRUE(silent.PeerClosed());
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(3));
  EXPECT_EQ(RefusalsReaching(HttpRefusal::kTlsHandshake, 1), 1);
}

TEST_F(HttpsServerTest, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  StartServer(Options());
  TlsConnection connection(port(), Client());
  ASSERT_TRUE(connection.connected()) << connection.handshake_error();
  for (int i = 0; i < 20; ++i) ExpectEcho(connection, "/keepalive/" + std::to_string(i));

  ASSERT_TRUE(connection.Send(Get("/p1") + Get("/slow") + Get("/p3")));
  for (const char* target : {"/p1", "/slow", "/p3"}) {
    std::optional<RawResponse> response = connection.Read();
    ASSERT_TRUE(response.has_value()) << target;
    EXPECT_EQ(response->body, std::string("target=") + target);
  }
  EXPECT_EQ(calls_.load(), 23);
}

TEST_F(HttpsServerTest, ClientHangingUpWhileItsRequestIsHandledCancelsIt) {
  StartServer(Options());
  {
    TlsConnection connection(server_->port(), Client());
    ASSERT_TRUE(connection.connected()) << connection.handshake_error();
    ASSERT_TRUE(connection.Send(Get("/hold")));
    const auto deadline = Clock::now() + std::chrono::seconds(kSocketTimeoutSeconds);
    while (calls_.load() < 1 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(calls_.load(), 1);
  }
  std::shared_ptr<Cancellation> cancellation;
  {
    std::lock_guard<std::mutex> lock(held_mutex_);
    cancellation = held_cancellation_;
  }
  ASSERT_NE(cancellation, nullptr);
  const auto deadline = Clock::now() + std::chrono::seconds(kSocketTimeoutSeconds);
  while (!cancellation->cancelled() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(cancellation->cancelled());
}

TEST_F(HttpsServerTest, OversizedHeaderGets431AndCloseNotify) {
  StartServer(Options());
  TlsConnection connection(port(), Client());
  ASSERT_TRUE(connection.connected()) << connection.handshake_error();
  ASSERT_TRUE(connection.Send(Get("/big", "X-Filler: " + std::string(4096, 'a') + "\r\n") + Get("/behind")));
  std::optional<RawResponse> response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_THAT(response->body, HasSubstr("\"error\":\"invalid_request\""));
  EXPECT_TRUE(connection.PeerClosed());
  EXPECT_TRUE(connection.received_close_notify());
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(RefusalsReaching(HttpRefusal::kHeaderTooLarge, 1), 1);
}

// The lingering close over TLS: close_notify, then the unread rest of a refused body is drained, so the answer is
// not destroyed by a reset before the client reads it.
TEST_F(HttpsServerTest, RefusedBodyGets413ThenCloseNotify) {
  StartServer(Options());
  TlsConnection connection(port(), Client());
  ASSERT_TRUE(connection.connected()) << connection.handshake_error();
  // Small enough to sit in the socket buffers while the server does not read it (OpenSSL allows no concurrent
  // reader and writer on one connection), four times the limit.
  const std::string body(256 << 10, 'x');
  ASSERT_TRUE(connection.Send(clientreg::testing::PostRequest("/big", body)));
  std::optional<RawResponse> response = connection.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(connection.PeerClosed());
  EXPECT_TRUE(connection.received_close_notify());
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpsServerTest, ReloadKeepsOpenConnectionsAndGivesNewOnesTheNewCertificate) {
  StartServer(Options());
  TlsConnection before(port(), Client());
  ASSERT_TRUE(before.connected()) << before.handshake_error();
  const std::string first_serial = before.peer_serial();
  ExpectEcho(before, "/before");

  const TestCertificate second = Issue("second");
  ASSERT_NO_FATAL_FAILURE(Install(second));
  ASSERT_OK(tls_->Reload());

  TlsConnection after(port(), Client());
  ASSERT_TRUE(after.connected()) << after.handshake_error();
  EXPECT_EQ(after.peer_common_name(), "second");
  EXPECT_NE(after.peer_serial(), first_serial);
  ExpectEcho(after, "/after");
  // The connection from before the reload goes on with its own certificate.
  ExpectEcho(before, "/before-again");
  EXPECT_EQ(before.peer_serial(), first_serial);
}

TEST_F(HttpsServerTest, ReloadOfABrokenPairKeepsTheOldCertificate) {
  StartServer(Options());
  // A key that is not PEM at all, then a valid key that belongs to another certificate.
  ASSERT_TRUE(WriteTestFile(key_file_, "not a key\n"));
  const absl::Status garbage = tls_->Reload();
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(garbage.message()), HasSubstr(key_file_));
  ASSERT_TRUE(WriteTestFile(key_file_, Issue("other").private_key_pem));
  const absl::Status mismatch = tls_->Reload();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("does not match"));

  TlsConnection connection(port(), Client());
  ASSERT_TRUE(connection.connected()) << connection.handshake_error();
  EXPECT_EQ(connection.peer_common_name(), "first");
  ExpectEcho(connection, "/still-first");
}

TEST_F(HttpsServerTest, ShutdownDrainsTlsConnections) {
  StartServer(Options());
  TlsConnection idle(port(), Client());
  ASSERT_TRUE(idle.connected()) << idle.handshake_error();
  ExpectEcho(idle, "/idle");
  TlsConnection busy(port(), Client());
  ASSERT_TRUE(busy.connected()) << busy.handshake_error();
  ASSERT_TRUE(busy.Send(Get("/slow")));
  const auto deadline = Clock::now() + std::chrono::seconds(kSocketTimeoutSeconds);
  while (calls_.load() < 2 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(calls_.load(), 2);

  std::thread stopper([this] { server_->Shutdown(std::chrono::seconds(3)); });
  std::optional<RawResponse> response = busy.Read();
  stopper.join();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(busy.PeerClosed());
  EXPECT_TRUE(idle.PeerClosed());
  TlsConnection late(port(), Client());
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace clientreg::gateway
