#include "tests/support/test_https_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace clientreg::testing {
namespace {

constexpr std::size_t kMaxRequestHead = 64 * 1024;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool SameName(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()), absl::string_view(b.data(), b.size()));
}

std::optional<TestHttpRequest> ParseRequestHead(std::string_view head) {
  TestHttpRequest request;
  std::size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t second_space = request_line.find(' ', first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos) return std::nullopt;
  request.method = std::string(request_line.substr(0, first_space));
  request.target = std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
  while (line_end != std::string_view::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }
  return request;
}

// One accepted connection's byte stream: the socket itself, or TLS over it.
class Stream {
 public:
  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Stream() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    ERR_clear_error();
  }

  bool Handshake() { return ssl_ == nullptr || SSL_accept(ssl_) == 1; }

  bool WriteAll(std::string_view bytes) {
    while (!bytes.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      const ssize_t written =
          ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), chunk) : send(fd_, bytes.data(), chunk, MSG_NOSIGNAL);
      if (written <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
  }

  ssize_t ReadSome(char* data, std::size_t size) {
    if (ssl_ != nullptr) return SSL_read(ssl_, data, static_cast<int>(size));
    return recv(fd_, data, size, 0);
  }

 private:
  int fd_;
  SSL* ssl_;
};

}  // namespace

std::string TestHttpRequest::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (SameName(field, name)) return value;
  }
  return "";
}

struct TestHttpsServer::State {
  int listen_fd = -1;
  SSL_CTX* tls = nullptr;
  absl::Notification stopping;
  std::thread acceptor;

  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  std::atomic<std::size_t> body_bytes_sent{0};

  mutable absl::Mutex mu;
  Handler handler ABSL_GUARDED_BY(mu);
  std::optional<TestHttpRequest> last_request ABSL_GUARDED_BY(mu);
  std::vector<std::thread> workers ABSL_GUARDED_BY(mu);
  // Sockets of connections being served; a worker removes its own before closing it, so the destructor's shutdown
  // never reaches a reused descriptor.
  std::set<int> open_fds ABSL_GUARDED_BY(mu);

  void Accept();
  void Serve(int fd);
  void Answer(Stream& stream, const TestHttpResponse& response);
  // Sleeps for `duration`; false if the server began stopping meanwhile.
  bool Pause(absl::Duration duration) { return !stopping.WaitForNotificationWithTimeout(duration); }
};

// SIGPIPE from a write to a peer that left would end the test binary; blocked in every server thread (the signal is
// raised on the writing thread), so such writes fail with EPIPE instead and nothing outside the server changes.
static void BlockSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<TestHttpsServer>> TestHttpsServer::Start(const TestHttpsServerOptions& options) {
  auto state = std::make_unique<State>();
  state->handler = [](const TestHttpRequest&) {
    TestHttpResponse response;
    response.headers = {{"Content-Type", "application/json"}};
    response.body = "{}";
    return response;
  };
  if (!options.certificate_chain_file.empty() || !options.private_key_file.empty()) {
    state->tls = SSL_CTX_new(TLS_server_method());
    if (state->tls == nullptr ||
        SSL_CTX_use_certificate_chain_file(state->tls, options.certificate_chain_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(state->tls, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(state->tls) != 1) {
      SSL_CTX_free(state->tls);
      ERR_clear_error();
      return absl::InternalError("cannot load the test server's certificate or key");
    }
  }
  state->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (state->listen_fd < 0 || bind(state->listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(state->listen_fd, 64) != 0 ||
      getsockname(state->listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    if (state->listen_fd >= 0) close(state->listen_fd);
    SSL_CTX_free(state->tls);
    return absl::InternalError(absl::StrCat("cannot listen on 127.0.0.1: errno ", error));
  }
  State* raw = state.get();
  state->acceptor = std::thread([raw] { raw->Accept(); });
  return std::unique_ptr<TestHttpsServer>(new TestHttpsServer(std::move(state), ntohs(address.sin_port)));
}

TestHttpsServer::TestHttpsServer(std::unique_ptr<State> state, uint16_t port) : state_(std::move(state)), port_(port) {}

TestHttpsServer::~TestHttpsServer() {
  state_->stopping.Notify();
  state_->acceptor.join();
  close(state_->listen_fd);
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&state_->mu);
    for (const int fd : state_->open_fds) shutdown(fd, SHUT_RDWR);
    workers.swap(state_->workers);
  }
  for (std::thread& worker : workers) worker.join();
  SSL_CTX_free(state_->tls);
}

void TestHttpsServer::State::Accept() {
  BlockSigpipe();
  while (!stopping.HasBeenNotified()) {
    pollfd ready{.fd = listen_fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 20) <= 0) continue;
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections;
    absl::MutexLock lock(&mu);
    open_fds.insert(fd);
    workers.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestHttpsServer::State::Serve(int fd) {
  BlockSigpipe();
  // No test should wait on a silent client for long.
  const timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  {
    SSL* ssl = nullptr;
    if (tls != nullptr) {
      ssl = SSL_new(tls);
      if (ssl != nullptr) SSL_set_fd(ssl, fd);
    }
    Stream stream(fd, ssl);
    std::string head;
    if ((tls == nullptr || ssl != nullptr) && stream.Handshake()) {
      char buffer[4096];
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestHead) {
        const ssize_t got = stream.ReadSome(buffer, sizeof(buffer));
        if (got <= 0) break;
        head.append(buffer, static_cast<std::size_t>(got));
      }
    }
    const std::size_t end = head.find("\r\n\r\n");
    std::optional<TestHttpRequest> request =
        end == std::string::npos ? std::nullopt : ParseRequestHead(std::string_view(head).substr(0, end + 2));
    if (request) {
      ++requests;
      Handler current;
      {
        absl::MutexLock lock(&mu);
        last_request = *request;
        current = handler;
      }
      Answer(stream, current(*request));
    }
  }
  absl::MutexLock lock(&mu);
  open_fds.erase(fd);
  close(fd);
}

void TestHttpsServer::State::Answer(Stream& stream, const TestHttpResponse& response) {
  if (response.close_without_answer || !Pause(response.delay_before_head)) return;
  std::string head = absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
  bool has_length = false;
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&head, name, ": ", value, "\r\n");
    has_length = has_length || SameName(name, "Content-Length");
  }
  if (response.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (!has_length) {
    absl::StrAppend(&head, "Content-Length: ", response.body.size(), "\r\n");
  }
  head += "Connection: close\r\n\r\n";
  if (!stream.WriteAll(head)) return;

  std::string_view rest = response.body;
  const std::size_t piece_size = response.trickle_bytes == 0 ? rest.size() : response.trickle_bytes;
  bool first = true;
  while (!rest.empty()) {
    if (!first && !Pause(response.trickle_interval)) return;
    first = false;
    const std::string_view piece = rest.substr(0, piece_size);
    rest.remove_prefix(piece.size());
    const std::string framed =
        response.chunked ? absl::StrCat(absl::Hex(piece.size()), "\r\n", std::string(piece), "\r\n") : std::string();
    if (!stream.WriteAll(response.chunked ? std::string_view(framed) : piece)) return;
    body_bytes_sent += piece.size();
  }
  if (response.chunked) stream.WriteAll("0\r\n\r\n");
}

void TestHttpsServer::SetHandler(Handler handler) {
  absl::MutexLock lock(&state_->mu);
  state_->handler = std::move(handler);
}

void TestHttpsServer::SetResponse(TestHttpResponse response) {
  SetHandler([response = std::move(response)](const TestHttpRequest&) { return response; });
}

int TestHttpsServer::connections() const { return state_->connections; }
int TestHttpsServer::requests() const { return state_->requests; }
std::size_t TestHttpsServer::body_bytes_sent() const { return state_->body_bytes_sent; }

std::optional<TestHttpRequest> TestHttpsServer::last_request() const {
  absl::MutexLock lock(&state_->mu);
  return state_->last_request;
}

bool TestHttpsServer::WaitUntilIdle(absl::Duration timeout) const {
  absl::MutexLock lock(&state_->mu);
  const State* state = state_.get();
  return state_->mu.AwaitWithTimeout(absl::Condition(
                                         +[](const State* s) { return s->open_fds.empty(); }, state),
                                     timeout);
}

}  // namespace clientreg::testing
