#include "common/ops_server.h"

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/error.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/empty_body.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/field.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/verb.hpp"
#include "boost/beast/http/write.hpp"
#include "common/host_port.h"
#include "common/http_date.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace clientreg::common {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A scraper or a probe needs one or two connections; the cap only bounds what a misbehaving client can hold open.
constexpr std::size_t kMaxConnections = 64;
constexpr std::uint32_t kMaxHeaderBytes = 8192;
// Prometheus scrapes every 15 to 60 s over one kept-alive connection; 30 s of silence ends it.
constexpr std::chrono::seconds kIdleTimeout{30};
constexpr std::chrono::seconds kReadTimeout{10};
constexpr std::chrono::seconds kWriteTimeout{10};
// RFC 9112 §9.6: after a final response, read and drop what the client still sends for this long before closing;
// closing with unread input makes the kernel send a reset, which can destroy the response before it is read.
constexpr std::chrono::seconds kLinger{1};
constexpr std::size_t kReadChunk = 4096;
// After an accept error such as EMFILE, which would otherwise repeat at once in a busy loop.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

using Request = http::request<http::empty_body>;
using Response = http::response<http::string_body>;

// How a response is framed for the request it answers; the defaults suit a request that could not be parsed.
struct Framing {
  bool head = false;
  bool keep_alive = false;
  bool http10 = false;
};

// "IPV4:PORT" or "[IPV6]:PORT", literals only: the ops port is bound before anything could resolve a name, and a
// name that resolves to several addresses would leave unclear which one is served.
absl::StatusOr<tcp::endpoint> ParseAddress(const std::string& address) {
  const absl::Status invalid =
      absl::InvalidArgumentError(absl::StrCat("ops address \"", address, "\" must be IPV4:PORT or [IPV6]:PORT"));
  const absl::StatusOr<HostPort> split = SplitHostPort(address);
  if (!split.ok()) return invalid;
  beast::error_code ec;
  const net::ip::address ip = net::ip::make_address(split->host, ec);
  // An IPv6 literal must be bracketed, and only an IPv6 literal may be.
  if (ec || ip.is_v6() != split->bracketed) return invalid;
  return tcp::endpoint(ip, split->port);
}

OpsResponse ErrorResponse(int status, const char* error) {
  return OpsResponse{status, "application/json", absl::StrCat("{\"error\":\"", error, "\"}")};
}

// Handlers are other people's code on the server's only thread: an exception must cost one response, not the process.
OpsResponse CallHandler(const OpsServer::Handler& handler) {
  OpsResponse response;
  try {
    response = handler();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "ops_handler_exception", {{"what", e.what()}});
    return ErrorResponse(500, "internal_error");
  } catch (...) {
    Log(LogLevel::kError, "ops_handler_exception");
    return ErrorResponse(500, "internal_error");
  }
  // Beast throws on a status above 999, and 1xx are interim answers, not responses.
  if (response.status < 200 || response.status > 599) return ErrorResponse(500, "internal_error");
  return response;
}

// True for errors of the request bytes themselves, as opposed to a closed, timed-out or failed socket.
bool IsMalformedRequest(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::need_more).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Connection;

// What the connections of one server share. Touched on the server's thread only, so it needs no lock.
struct ServerState {
  explicit ServerState(std::map<std::string, OpsServer::Handler> routes) : routes(std::move(routes)) {}

  const std::map<std::string, OpsServer::Handler> routes;
  std::unordered_set<Connection*> connections;  // open ones; each adds and removes itself
};

// One HTTP/1.1 connection, owned by its pending operation: when an operation fails, the handler returns without
// starting another, the last reference goes and the destructor closes the socket. Stop closes it the same way.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, ServerState& state)
      : stream_(std::move(socket)), buffer_(kMaxHeaderBytes + kReadChunk), state_(state) {
    state_.connections.insert(this);
  }
  ~Connection() { state_.connections.erase(this); }

  void Start() { WaitForRequest(); }
  void Close() { stream_.close(); }

 private:
  void WaitForRequest() {
    // A fresh parser per request (Beast's advanced server does the same): its limits and state start over.
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    if (buffer_.size() > 0) {
      ReadHeader();  // a pipelined request has begun already
      return;
    }
    // The idle timeout applies until the first byte; from then on the shorter read timeout bounds the request.
    stream_.expires_after(kIdleTimeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                              if (ec) return;
                              self->buffer_.commit(bytes);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    stream_.expires_after(kReadTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      Send(ErrorResponse(431, "header_too_large"), Framing{});
      return;
    }
    if (ec == http::error::body_limit) {
      Send(ErrorResponse(413, "body_not_allowed"), Framing{});
      return;
    }
    if (IsMalformedRequest(ec)) {
      Send(ErrorResponse(400, "bad_request"), Framing{});
      return;
    }
    if (ec) return;  // the peer left, the read timed out (the stream has closed the socket), or Stop closed it
    const Request& request = parser_->get();
    Framing framing{.head = request.method() == http::verb::head, .http10 = request.version() == 10};
    // The body is never read, so after a request that announces one the connection cannot find the next request:
    // answer and close. This also leaves nothing for Beast 1.74's framing gaps (docs/style.md) to misread, as every
    // Transfer-Encoding is refused whatever it names.
    if (request.count(http::field::transfer_encoding) > 0 || parser_->content_length().value_or(0) > 0) {
      Send(ErrorResponse(413, "body_not_allowed"), framing);
      return;
    }
    framing.keep_alive = request.keep_alive();
    Send(Route(request), framing);
  }

  OpsResponse Route(const Request& request) const {
    const std::string_view target(request.target().data(), request.target().size());
    const auto route = state_.routes.find(std::string(target.substr(0, target.find('?'))));
    if (route == state_.routes.end()) return ErrorResponse(404, "not_found");
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return ErrorResponse(405, "method_not_allowed");
    }
    return CallHandler(route->second);
  }

  void Send(OpsResponse response, Framing framing) {
    // RFC 9110 §6.2: answer in HTTP/1.1, the highest version we conform to, HTTP/1.0 clients included.
    Response& out = response_.emplace(static_cast<http::status>(response.status), 11);
    out.set(http::field::content_type, response.content_type);
    out.set(http::field::cache_control, "no-store");
    out.set(http::field::date, HttpDate(std::chrono::system_clock::now()));
    // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
    if (response.status == 405) out.set(http::field::allow, "GET, HEAD");
    // RFC 9110 §9.3.2: a response to HEAD announces the length of the GET response but sends no content.
    out.content_length(response.body.size());
    if (!framing.head) out.body() = std::move(response.body);
    out.keep_alive(framing.keep_alive);
    // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only if the response says keep-alive.
    if (framing.keep_alive && framing.http10) out.set(http::field::connection, "keep-alive");
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, out,
                      [self = shared_from_this(), keep_alive = framing.keep_alive](beast::error_code ec, std::size_t) {
                        self->response_.reset();
                        if (ec) return;
                        if (keep_alive) {
                          self->WaitForRequest();
                        } else {
                          self->Linger();
                        }
                      });
  }

  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    buffer_.clear();
    stream_.expires_after(kLinger);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ServerState& state_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<Response> response_;
};

}  // namespace

// One io_context run by one thread: every handler, connection and the acceptor share it, so nothing here needs a
// strand or a lock except the Stop flag, which other threads reach.
class OpsServer::Impl {
 public:
  explicit Impl(std::map<std::string, Handler> routes)
      : state_(std::move(routes)), acceptor_(io_context_), retry_timer_(io_context_) {}

  absl::Status Listen(const tcp::endpoint& endpoint, const std::string& address) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    // Lets a restarted process bind while its old connections sit in TIME_WAIT; on Linux two listeners still cannot
    // share the port, so a taken address fails at bind.
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", address, ": ", ec.message()));
    return absl::OkStatus();
  }

  absl::Status Run() {
    Accept();
    try {
      thread_ = std::thread([this] { io_context_.run(); });
    } catch (const std::system_error& e) {
      return absl::UnavailableError(absl::StrCat("cannot start the ops server thread: ", e.what()));
    }
    return absl::OkStatus();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    absl::MutexLock lock(&stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    net::post(io_context_, [this] {
      stopping_ = true;
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
      // Closing cancels each connection's pending operation; its handler then returns and the connection goes.
      for (Connection* connection : state_.connections) connection->Close();
    });
    // run() returns once the handlers cancelled above have run and nothing is left to do.
    work_.reset();
    thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (stopping_ || ec == net::error::operation_aborted) return;
    if (ec) {
      Log(LogLevel::kWarning, "ops_accept_failed", {{"error", ec.message()}});
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !stopping_) Accept();
      });
      return;
    }
    // Over the cap the socket is closed right here, as it goes out of scope.
    if (state_.connections.size() < kMaxConnections) {
      // A response goes out in one write; Nagle's algorithm would hold it for the client's delayed ACK.
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), state_)->Start();
    }
    Accept();
  }

  // Declared before the io_context, so that a connection still held by a queued handler when the io_context is
  // destroyed finds it.
  ServerState state_;
  net::io_context io_context_{1};
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_context_);
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::thread thread_;
  uint16_t port_ = 0;      // set before the thread starts, read-only after
  bool stopping_ = false;  // the server's thread only

  absl::Mutex stop_mutex_;
  bool stopped_ ABSL_GUARDED_BY(stop_mutex_) = false;
};

absl::Status ValidateOpsAddress(const std::string& address) { return ParseAddress(address).status(); }

absl::StatusOr<std::unique_ptr<OpsServer>> OpsServer::Start(const std::string& address,
                                                            std::map<std::string, Handler> routes) {
  ASSIGN_OR_RETURN(const tcp::endpoint endpoint, ParseAddress(address));
  auto impl = std::make_unique<Impl>(std::move(routes));
  RETURN_IF_ERROR(impl->Listen(endpoint, address));
  RETURN_IF_ERROR(impl->Run());
  return std::unique_ptr<OpsServer>(new OpsServer(std::move(impl)));
}

OpsServer::OpsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OpsServer::~OpsServer() { Stop(); }

uint16_t OpsServer::port() const { return impl_->port(); }

void OpsServer::Stop() { impl_->Stop(); }

}  // namespace clientreg::common
