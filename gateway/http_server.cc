#include "gateway/http_server.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core/error.hpp"
#include "common/logging.h"
#include "gateway/http_connection.h"

namespace clientreg::gateway {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Connections beyond the cap wait here rather than being reset (spec.md §10); the kernel caps it at somaxconn.
constexpr int kListenBacklog = 4096;
// Pause before accepting again after an error such as EMFILE, which would otherwise repeat at once in a busy loop.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// How long Shutdown waits for the acceptor to close, and for connections to go after a forced close.
constexpr std::chrono::milliseconds kStepWait{200};

}  // namespace

// One io_context run by `threads` threads (rather than one per thread with SO_REUSEPORT): a connection's work may
// land on any thread, so one slow handler cannot stall the connections that happen to share its thread. The acceptor
// runs on its own strand; each connection on another (http_connection.cc).
class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, RequestHandler handler, HttpObserver* observer)
      : context_(std::make_shared<internal::ConnectionContext>(options, std::move(handler), observer)),
        io_context_(static_cast<int>(std::max(1u, options.threads))),
        acceptor_strand_(net::make_strand(io_context_)),
        acceptor_(acceptor_strand_),
        retry_timer_(acceptor_strand_) {}

  ~Impl() { Shutdown(std::chrono::milliseconds(0)); }

  absl::Status Start() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (started_ || stopped_) return absl::FailedPreconditionError("the HTTP server was already started");
    const HttpServerOptions& options = context_->options;
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(options.address, ec);
    if (ec) return absl::InvalidArgumentError("not an IP address: \"" + options.address + "\"");
    const tcp::endpoint endpoint(address, options.port);
    const std::string where = options.address + ":" + std::to_string(options.port);
    auto fail = [&](const char* step) {
      const std::string message = std::string(step) + " " + where + ": " + ec.message();
      beast::error_code ignored;
      acceptor_.close(ignored);
      return absl::UnavailableError(message);
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("cannot open a socket for");
    // Lets a restarted gateway bind while old connections sit in TIME_WAIT; on Linux it does not let two listeners
    // share the port, so a taken address still fails below.
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return fail("cannot set SO_REUSEADDR on");
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("cannot bind");
    acceptor_.listen(kListenBacklog, ec);
    if (ec) return fail("cannot listen on");
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return fail("cannot read the bound port of");
    ipv6_ = bound.protocol() == tcp::v6();

    work_.emplace(net::make_work_guard(io_context_));
    accepting_ = true;
    net::post(acceptor_strand_, [this] { DoAccept(); });
    const unsigned threads = std::max(1u, options.threads);
    try {
      for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
    } catch (const std::system_error& e) {
      started_ = true;  // so that the shutdown below joins the threads that did start
      ShutdownLocked(std::chrono::milliseconds(0));
      return absl::ResourceExhaustedError(std::string("cannot start the HTTP server threads: ") + e.what());
    }
    port_ = bound.port();
    started_ = true;
    return absl::OkStatus();
  }

  uint16_t port() const { return port_.load(); }

  void Shutdown(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    ShutdownLocked(grace);
  }

 private:
  void ShutdownLocked(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
    const auto deadline = std::chrono::steady_clock::now() + std::max(grace, std::chrono::milliseconds(0));
    internal::ConnectionTracker& tracker = context_->tracker;

    // 1. No new connections. The acceptor belongs to its strand, so it is closed there.
    auto closed = std::make_shared<std::promise<void>>();
    std::future<void> acceptor_closed = closed->get_future();
    net::post(acceptor_strand_, [this, closed] {
      StopAccepting();
      closed->set_value();
    });
    acceptor_closed.wait_until(std::max(deadline, std::chrono::steady_clock::now() + kStepWait));

    // 2. Idle connections have nothing in flight: close them now. Busy ones answer with `Connection: close`.
    for (const auto& connection : tracker.BeginShutdown()) connection->Close();

    // 3. In-flight requests get until the deadline; then everything left is closed.
    if (!tracker.WaitUntilEmpty(deadline)) {
      for (const auto& connection : tracker.All()) connection->Close();
      tracker.WaitUntilEmpty(std::chrono::steady_clock::now() + kStepWait);
    }

    // 4. Stop the threads. A `done` arriving from now on is dropped at the post gate, before it could post to an
    // io_context that is about to go away.
    tracker.ClosePostGate();
    work_.reset();
    io_context_.stop();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    threads_.clear();
    StopAccepting();  // the threads are gone, so this is safe here if step 1 never ran
    // Connections still referenced only by the tracker are destroyed here, while the io_context is alive.
    tracker.ReleaseAll();
  }

  void Run() {
    // Handlers use error_code overloads; what can still escape (std::bad_alloc) must not end the thread.
    for (;;) {
      try {
        io_context_.run();
        return;
      } catch (const std::exception& e) {
        common::Log(common::LogLevel::kError, "http_server_thread_exception", {{"what", e.what()}});
      }
    }
  }

  // The acceptor strand only, from here on.

  void DoAccept() {
    if (!accepting_) return;
    if (!context_->tracker.HasRoom()) {
      // Full: learn whether a connection waits in the backlog without taking it, so that it is never reset.
      acceptor_.async_wait(tcp::acceptor::wait_read, [this](beast::error_code ec) { OnBacklogReady(ec); });
      return;
    }
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!accepting_) return;
    if (ec == net::error::connection_aborted) {
      // The client gave up while in the backlog.
      DoAccept();
      return;
    }
    if (ec) {
      RetryLater(ec);
      return;
    }
    // The connection adopts the socket on a strand of its own.
    const int native_socket = socket.release(ec);
    if (!ec) internal::ServeConnection(io_context_, native_socket, ipv6_, context_);
    DoAccept();
  }

  void OnBacklogReady(beast::error_code ec) {
    if (!accepting_) return;
    if (ec) {
      RetryLater(ec);
      return;
    }
    if (context_->observer != nullptr) context_->observer->Refused(HttpRefusal::kConnectionCap);
    if (std::shared_ptr<internal::TrackedConnection> victim = context_->tracker.MakeRoom()) victim->Close();
    context_->tracker.NotifyWhenRoom([this] { net::post(acceptor_strand_, [this] { DoAccept(); }); });
  }

  void RetryLater(const beast::error_code& ec) {
    if (ec == net::error::operation_aborted) return;
    common::Log(common::LogLevel::kWarning, "http_accept_failed", {{"error", ec.message()}});
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) DoAccept();
    });
  }

  void StopAccepting() {
    accepting_ = false;
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  }

  // Declared so that destruction runs threads (joined by then), then the acceptor, then the io_context (destroying
  // queued handlers and the connections they hold), and the context, which connections reference, last.
  const std::shared_ptr<internal::ConnectionContext> context_;
  net::io_context io_context_;
  net::strand<net::io_context::executor_type> acceptor_strand_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  std::mutex lifecycle_mutex_;  // Start and Shutdown
  bool started_ = false;
  bool stopped_ = false;
  bool accepting_ = false;  // acceptor strand, or Start/Shutdown while no handler can run
  bool ipv6_ = false;
  std::atomic<uint16_t> port_{0};
};

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler, HttpObserver* observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), observer)) {}

HttpServer::~HttpServer() = default;

absl::Status HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }

}  // namespace clientreg::gateway
