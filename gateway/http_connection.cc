#include "gateway/http_connection.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "boost/asio/dispatch.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/ssl/stream_base.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/bind_handler.hpp"
#include "boost/beast/core/error.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/stream_traits.hpp"
#include "boost/beast/core/string.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/field.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "boost/beast/ssl/ssl_stream.hpp"
#include "common/http_date.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "gateway/client_address.h"
#include "gateway/http_errors.h"
#include "gateway/http_framing.h"
#include "gateway/request_id.h"
#include "gateway/tls_context.h"

namespace clientreg::gateway::internal {

// ---------------------------------------------------------------------------------------------------------------
// Connection

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// RFC 9110 §10.1.1, §15.2.1: the interim answer to `Expect: 100-continue`, sent once the header has passed.
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Bytes asked of the socket per read while reading a header or draining.
constexpr std::size_t kReadChunk = 16384;
// Upper bound of a lingering close (RFC 9112 §9.6).
constexpr std::chrono::milliseconds kMaxLinger{2000};
// The access log's status of a request whose client went away before its answer (nginx's convention).
constexpr unsigned kClientClosedRequest = 499;

// RFC 9110 §5.5: CR, LF and NUL are never valid in a field value; one from the handler would split the response.
bool IsSafeFieldValue(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos; }

// The fields whose framing meaning belongs to the connection, never to the handler.
bool IsConnectionOwnedField(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
         EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Date") ||
         EqualsIgnoreCase(name, "Keep-Alive") || EqualsIgnoreCase(name, "X-Request-Id");
}

std::string FormatPeer(const tcp::endpoint& endpoint) {
  net::ip::address address = endpoint.address();
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; per-IP logic wants the IPv4 form.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  const std::string port = std::to_string(endpoint.port());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + port;
  return address.to_string() + ":" + port;
}

template <typename Stream>
class Connection;

// The response slot of one request, shared by every copy of its `done` callback: the first Deliver wins, and if the
// last copy goes away without a call, the client gets a 500 instead of a connection that hangs.
template <typename Stream>
class PendingResponse {
 public:
  PendingResponse(std::weak_ptr<Connection<Stream>> connection, std::shared_ptr<ConnectionContext> context,
                  uint64_t sequence)
      : connection_(std::move(connection)), context_(std::move(context)), sequence_(sequence) {}
  ~PendingResponse() { Deliver(ErrorResponse(500, common::kServerError, "the request was not answered")); }

  PendingResponse(const PendingResponse&) = delete;
  PendingResponse& operator=(const PendingResponse&) = delete;

  void Deliver(HttpResponse response);
  bool delivered() const { return delivered_.load(); }

 private:
  std::atomic<bool> delivered_{false};
  const std::weak_ptr<Connection<Stream>> connection_;
  const std::shared_ptr<ConnectionContext> context_;
  const uint64_t sequence_;
};

// One HTTP/1.1 connection: reads a request, hands it to the handler, writes the response, and repeats while the
// connection persists (RFC 9112 §9.3). Every member is touched on the connection's strand only, except
// PostResponse and Close. The tracker owns the connection until Finish removes it; pending operations and posted
// handlers hold it too.
//
// `Stream` is PlainStream or TlsStream: one code path serves both, and TLS adds only the handshake before the first
// request and close_notify before a lingering close. Timeouts, the socket and close act on the TCP layer beneath.
template <typename Stream>
class Connection : public TrackedConnection, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `tls` is the context of a TLS connection, kept for the connection's life (a reload swaps the holder's, not this
  // one); null for a plain one.
  Connection(tcp::socket socket, std::shared_ptr<ConnectionContext> context, std::shared_ptr<net::ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        // Large enough for the header limit plus one read; a chunk header or trailer that outgrows it is refused.
        buffer_(std::size_t{context->options.max_header_bytes} + 2 * kReadChunk),
        context_(std::move(context)) {
    if (context_->observer != nullptr) context_->observer->ConnectionOpened();
  }

  ~Connection() override {
    if (context_->observer != nullptr) context_->observer->ConnectionClosed();
  }

  void Start(uint64_t id) {
    id_ = id;
    beast::error_code ec;
    const tcp::endpoint remote = lowest().socket().remote_endpoint(ec);
    if (!ec) peer_ = FormatPeer(remote);
    client_ = peer_;
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void Close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Finish(); });
  }

  // Any thread; called under the tracker's post gate, so the io_context is alive.
  void PostResponse(uint64_t sequence, HttpResponse response) {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), sequence, response = std::move(response)]() mutable {
                self->OnResponse(sequence, std::move(response));
              });
  }

 private:
  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };

  const HttpServerOptions& options() const { return context_->options; }

  static Stream MakeStream(tcp::socket socket, net::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  // The TCP stream beneath: its deadline bounds every read and write of the layers above.
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      // Not idle: a client that connects and never completes the handshake is closed after read_timeout.
      lowest().expires_after(options().read_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              beast::bind_front_handler(&Connection::OnHandshake, this->shared_from_this()));
    } else {
      ReadRequest();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      // Scanners and old clients make these routine: counted, and logged only at debug level.
      Refused(HttpRefusal::kTlsHandshake);
      if (common::LogLevelEnabled(common::LogLevel::kDebug)) {
        common::Log(common::LogLevel::kDebug, "tls_handshake_failed", {{"peer", peer_}, {"error", ec.message()}});
      }
      Finish();
      return;
    }
    ReadRequest();
  }

  void ReadRequest() {
    state_ = State::kReading;
    // A fresh parser per message, with both limits set before the first byte: Beast 1.74 ignores a body_limit set
    // after the header for Content-Length bodies (docs/style.md).
    parser_.emplace();
    parser_->header_limit(options().max_header_bytes);
    parser_->body_limit(options().max_body_bytes);
    head_ = false;
    at_line_start_ = true;
    header_lines_ = 0;
    obs_fold_ = false;
    method_.clear();
    target_.clear();
    request_id_.clear();
    if (buffer_.size() == 0) {
      if (!context_->tracker.EnterIdle(id_)) {
        Finish();
        return;
      }
      idle_ = true;
      lowest().expires_after(options().idle_timeout);
    } else {
      // A pipelined request has begun to arrive already.
      lowest().expires_after(options().read_timeout);
      request_start_ = std::chrono::steady_clock::now();
    }
    ParseHeader();
  }

  // Reads the header by hand around Beast's parser rather than with async_read_header, so that the raw bytes it
  // consumes can be scanned for obs-fold before they leave the buffer: Beast 1.74 unfolds such lines silently.
  void ParseHeader() {
    while (buffer_.size() > 0) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      ScanHeaderBytes(static_cast<const char*>(buffer_.data().data()), used);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        RejectParseError(ec);
        return;
      }
      if (parser_->is_header_done()) {
        OnHeader();
        return;
      }
      if (used == 0) break;
    }
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {
      // The parser reports header_limit first; this guards the buffer if it ever does not.
      RejectParseError(http::error::header_limit);
      return;
    }
    stream_.async_read_some(buffer_.prepare(std::min(kReadChunk, room)),
                            beast::bind_front_handler(&Connection::OnHeaderRead, this->shared_from_this()));
  }

  void OnHeaderRead(beast::error_code ec, std::size_t bytes) {
    if (state_ == State::kClosed) return;
    if (idle_) {
      idle_ = false;
      if (ec || !context_->tracker.LeaveIdle(id_)) {
        Finish();
        return;
      }
      // From its first byte, the whole request must arrive within read_timeout (slow-header clients).
      lowest().expires_after(options().read_timeout);
      request_start_ = std::chrono::steady_clock::now();
    }
    if (ec) {
      // End of stream, timeout (which has closed the socket, so no 408 can be written) or a socket error.
      if (ec == beast::error::timeout) Refused(HttpRefusal::kTimeout);
      Finish();
      return;
    }
    buffer_.commit(bytes);
    ParseHeader();
  }

  // RFC 9112 §5.2: obs-fold is a line of the field section that starts with SP or HTAB. Beast's put consumes the
  // start line and the field section in whole lines, so the line state carries across calls.
  void ScanHeaderBytes(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      const char c = data[i];
      if (at_line_start_ && header_lines_ > 0 && (c == ' ' || c == '\t')) obs_fold_ = true;
      at_line_start_ = c == '\n';
      if (at_line_start_) ++header_lines_;
    }
  }

  void OnHeader() {
    const Request& request = parser_->get();
    head_ = request.method() == http::verb::head;
    method_.assign(request.method_string().data(), request.method_string().size());
    target_.assign(request.target().data(), request.target().size());
    // A repeated X-Request-Id is as unusable as a malformed one.
    const auto ids = request.equal_range("X-Request-Id");
    request_id_ = ids.first != ids.second && std::next(ids.first) == ids.second
                      ? RequestIdFor(ToStd(ids.first->value()))
                      : NewRequestId();
    if (obs_fold_) {
      // RFC 9112 §5.2 lets a server reject obs-fold with 400; unfolding it is how a proxy and Beast disagree.
      Reject({400, "obsolete line folding is not accepted"});
      return;
    }
    if (std::optional<Rejection> rejection = CheckHeader(request, *parser_, options())) {
      Reject(std::move(*rejection));
      return;
    }
    const auto expect = request.find(http::field::expect);
    // RFC 9110 §10.1.1: answer 100-continue only for HTTP/1.1, and only when a body is still to come.
    if (request.version() >= 11 && expect != request.end() &&
        EqualsIgnoreCase(ToStd(expect->value()), "100-continue") && !parser_->is_done()) {
      lowest().expires_after(options().write_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (self->state_ == State::kClosed) return;
                         if (ec) {
                           self->Finish();
                           return;
                         }
                         self->lowest().expires_after(self->options().read_timeout);
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnBodyRead, this->shared_from_this()));
  }

  void OnBodyRead(beast::error_code ec, std::size_t) {
    if (state_ == State::kClosed) return;
    if (ec) {
      if (ec == beast::error::timeout) Refused(HttpRefusal::kTimeout);
      if (std::optional<Rejection> rejection = RejectionForParseError(ec, options())) {
        Reject(std::move(*rejection));
      } else {
        Finish();
      }
      return;
    }
    OnRequest();
  }

  void OnRequest() {
    Request& message = parser_->get();
    HttpRequest request;
    request.method = method_;
    request.target = target_;
    request.request_id = request_id_;
    if (auto it = message.find(http::field::content_type); it != message.end()) {
      request.has_content_type = true;
      request.content_type = std::string(it->value());
    }
    if (auto it = message.find(http::field::authorization); it != message.end()) {
      request.has_authorization = true;
      request.authorization = std::string(it->value());
    }
    request.origin = std::string(message[http::field::origin]);
    request.access_control_request_method = std::string(message[http::field::access_control_request_method]);
    client_ = peer_;  // each request of a connection answers for itself
    if (!options().trusted_proxies.empty()) {
      std::vector<std::string_view> forwarded_for;
      const auto fields = message.equal_range("X-Forwarded-For");
      for (auto field = fields.first; field != fields.second; ++field) forwarded_for.push_back(ToStd(field->value()));
      client_ = ClientAddress(peer_, forwarded_for, options().trusted_proxies);
    }
    request.peer = client_;
    request.body = std::move(message.body());
    cancellation_ = std::make_shared<Cancellation>();
    request.cancellation = cancellation_;
    keep_alive_ = message.keep_alive();
    http10_ = message.version() == 10;

    state_ = State::kHandling;
    ++sequence_;
    // No read is pending while the handler runs; its own deadlines (the gRPC call's) bound it.
    lowest().expires_never();
    auto pending = std::make_shared<PendingResponse<Stream>>(this->weak_from_this(), context_, sequence_);
    try {
      context_->handler(std::move(request),
                        [pending](HttpResponse response) { pending->Deliver(std::move(response)); });
    } catch (const std::exception& e) {
      common::Log(common::LogLevel::kError, "http_handler_exception", {{"what", e.what()}, {"peer", peer_}});
      pending->Deliver(ErrorResponse(500, common::kServerError, "internal error"));
    } catch (...) {
      common::Log(common::LogLevel::kError, "http_handler_exception", {{"peer", peer_}});
      pending->Deliver(ErrorResponse(500, common::kServerError, "internal error"));
    }
    // An answer given already (a refusal, a cached document) leaves nothing to cancel.
    if (!pending->delivered()) WatchForHangUp();
  }

  // While the handler runs nothing else reads the socket, so a client that gives up and closes would go unnoticed
  // until the answer is written, its RPC running to the end for nobody. Waits for the socket to turn readable
  // instead: a hang-up then cancels the request's work and closes the connection (as nginx does, a client that
  // half-closes after its request counts as gone). Bytes of a pipelined request mean the client is still there:
  // they stay unread for the next request, and the watch ends.
  void WatchForHangUp() {
    if (state_ != State::kHandling || buffer_.size() > 0) return;
    watching_ = true;
    lowest().socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this(), sequence = sequence_](
                                                             beast::error_code ec) { self->OnReadable(sequence, ec); });
  }

  void OnReadable(uint64_t sequence, beast::error_code ec) {
    // Answered meanwhile (the wait was cancelled, or lost the race), or closed.
    if (state_ != State::kHandling || sequence != sequence_) return;
    watching_ = false;
    if (ec) return;
    // POLLRDHUP reports the peer's FIN even behind unread data, such as a TLS close_notify alert.
    pollfd fd{lowest().socket().native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&fd, 1, 0) < 0) return;
    if (fd.revents == 0) {  // a spurious wake-up
      WatchForHangUp();
      return;
    }
    if ((fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) return;  // data: the next request has begun
    cancellation_->Cancel();
    // 499, as nginx logs it: the client closed the connection before its answer; nothing is sent.
    ReportExchange(kClientClosedRequest, "client_closed_request", "");
    Finish();
  }

  void OnResponse(uint64_t sequence, HttpResponse response) {
    // A late answer (the connection closed meanwhile, or a second call of `done`) is dropped.
    if (state_ != State::kHandling || sequence != sequence_) return;
    if (watching_) {
      // Ends the hang-up watch, the only operation pending on the socket now; its handler finds kWriting.
      watching_ = false;
      beast::error_code ignored;
      lowest().socket().cancel(ignored);
    }
    const bool close = !keep_alive_ || response.close || context_->tracker.ShuttingDown();
    WriteResponse(std::move(response), close);
  }

  // Answers a request whose framing cannot be trusted, and closes: no further byte of it is parsed (style.md,
  // framing point 3), so whatever was pipelined behind it, a smuggled request included, is never handled.
  void Reject(Rejection rejection) {
    keep_alive_ = false;
    Refused(RefusalFor(rejection.status));
    WriteResponse(ErrorResponse(rejection.status, common::kInvalidRequest, rejection.description), /*close=*/true);
  }

  void RejectParseError(const beast::error_code& ec) {
    if (std::optional<Rejection> rejection = RejectionForParseError(ec, options())) {
      Reject(std::move(*rejection));
    } else {
      Finish();
    }
  }

  void WriteResponse(HttpResponse response, bool close) {
    state_ = State::kWriting;
    close_after_write_ = close;
    if (response.status < 200 || response.status > 999) {
      // RFC 9110 §15: a final response has a three-digit status of 200 or more (1xx are interim).
      common::Log(common::LogLevel::kError, "http_handler_bad_status", {{"peer", peer_}});
      response = ErrorResponse(500, common::kServerError, "internal error");
    }
    response_.emplace();
    http::response<http::string_body>& out = *response_;
    out.version(11);  // RFC 9110 §6.2: the highest version we conform to, also to HTTP/1.0 clients
    out.result(response.status);
    for (auto& [name, value] : response.headers) {
      if (!IsToken(name) || !IsSafeFieldValue(value) || IsConnectionOwnedField(name)) {
        common::Log(common::LogLevel::kWarning, "http_response_field_dropped", {{"name", name}});
        continue;
      }
      out.insert(name, value);
    }
    out.set(http::field::date, common::HttpDate(std::chrono::system_clock::now()));
    // A refusal that came before the header was read still gets an id, for the client to quote.
    if (request_id_.empty()) request_id_ = NewRequestId();
    out.set("X-Request-Id", request_id_);
    // RFC 9110 §6.4.1, §8.6: 204 and 304 have no content and a 204 carries no Content-Length.
    if (response.status != 204 && response.status != 304) {
      out.content_length(response.body.size());
      // RFC 9110 §9.3.2: a response to HEAD announces the length of the GET response but sends no content.
      if (!head_) out.body() = std::move(response.body);
    }
    out.keep_alive(!close);
    // RFC 9112 §9.3: an HTTP/1.0 client persists only if the response says keep-alive.
    if (!close && http10_) out.set(http::field::connection, "keep-alive");
    ReportExchange(response.status, response.error, response.client_id);
    lowest().expires_after(options().write_timeout);
    http::async_write(stream_, out, beast::bind_front_handler(&Connection::OnWritten, this->shared_from_this()));
  }

  void OnWritten(beast::error_code ec, std::size_t) {
    if (state_ == State::kClosed) return;
    response_.reset();
    if (ec) {
      Finish();
      return;
    }
    if (close_after_write_) {
      Linger();
      return;
    }
    ReadRequest();
  }

  // RFC 9112 §9.6: close in stages. Half-close, then read and discard what the client still sends (the rest of a
  // refused body, pipelined requests) until it closes too or kMaxLinger passes. Closing with unread input makes the
  // kernel send a reset, which can destroy the response before the client reads it. Over TLS, close_notify goes
  // first (RFC 8446 §6.1), so the client can tell the end of the response from a truncation.
  void Linger() {
    state_ = State::kLingering;
    // A lingering connection counts as idle, so it is the first to give way under the cap or at shutdown.
    if (!context_->tracker.EnterIdle(id_)) {
      Finish();
      return;
    }
    buffer_.clear();
    // One deadline for the whole linger, close_notify included.
    lowest().expires_after(std::min<std::chrono::milliseconds>(options().read_timeout, kMaxLinger));
    if constexpr (kTls) {
      // Sends close_notify, then waits for the client's. It ends early, with an error, when the client closes
      // instead or sends more data (a refused body, pipelined requests); what is left is drained below either way.
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code ec) {
        if (self->state_ == State::kClosed) return;
        if (ec == beast::error::timeout) {
          self->Finish();
          return;
        }
        self->HalfCloseAndDrain();
      });
    } else {
      HalfCloseAndDrain();
    }
  }

  void HalfCloseAndDrain() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      Finish();
      return;
    }
    Drain();
  }

  // Reads beneath TLS: what is discarded needs no decrypting.
  void Drain() {
    lowest().async_read_some(buffer_.prepare(kReadChunk),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               if (self->state_ == State::kClosed) return;
                               if (ec) {
                                 self->Finish();
                                 return;
                               }
                               self->Drain();
                             });
  }

  // Tells the observer how the current request ended.
  void ReportExchange(unsigned status, std::string_view error, std::string_view client_id) {
    if (context_->observer == nullptr) return;
    HttpExchange exchange;
    exchange.method = method_;
    exchange.target = target_;
    exchange.request_id = request_id_;
    exchange.peer = client_;
    exchange.status = status;
    exchange.error = error;
    exchange.client_id = client_id;
    exchange.latency = std::chrono::steady_clock::now() - request_start_;
    context_->observer->Exchange(exchange);
  }

  void Refused(HttpRefusal reason) {
    if (context_->observer != nullptr) context_->observer->Refused(reason);
  }

  // The one way a connection ends: closes the socket (cancelling any pending operation, whose handler then finds
  // kClosed) and leaves the tracker, which frees the slot.
  void Finish() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    idle_ = false;
    lowest().close();
    context_->tracker.Remove(id_);
  }

  const std::shared_ptr<net::ssl::context> tls_;  // declared before stream_, which uses it
  Stream stream_;
  beast::flat_buffer buffer_;
  const std::shared_ptr<ConnectionContext> context_;
  uint64_t id_ = 0;
  std::string peer_;
  // The client as the requests name it: peer_, or the X-Forwarded-For client behind a trusted proxy.
  std::string client_;
  State state_ = State::kReading;
  // Of the current request, once its header is read; their capacity is reused by the next request.
  std::string method_;
  std::string target_;
  std::string request_id_;
  std::chrono::steady_clock::time_point request_start_;  // its first byte
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  uint64_t sequence_ = 0;                       // of the request being handled; tells a late `done` from a current one
  std::shared_ptr<Cancellation> cancellation_;  // of the request being handled
  bool watching_ = false;                       // for a hang-up while the handler runs
  bool idle_ = false;  // registered idle with the tracker, waiting for the first byte of a request
  bool head_ = false;
  bool http10_ = false;
  bool keep_alive_ = false;
  bool close_after_write_ = false;
  // obs-fold scan of the current header.
  bool at_line_start_ = true;
  std::size_t header_lines_ = 0;
  bool obs_fold_ = false;
};

template <typename Stream>
void PendingResponse<Stream>::Deliver(HttpResponse response) {
  if (delivered_.exchange(true)) return;
  context_->tracker.IfRunning([&] {
    if (std::shared_ptr<Connection<Stream>> connection = connection_.lock()) {
      connection->PostResponse(sequence_, std::move(response));
    }
  });
}

template <typename Stream>
void StartConnection(std::shared_ptr<Connection<Stream>> connection, ConnectionContext& context) {
  const uint64_t id = context.tracker.Add(connection);
  connection->Start(id);
}

}  // namespace

void ServeConnection(net::io_context& io_context, int native_socket, bool ipv6,
                     std::shared_ptr<ConnectionContext> context) {
  tcp::socket socket(net::make_strand(io_context));
  beast::error_code ec;
  socket.assign(ipv6 ? tcp::v6() : tcp::v4(), native_socket, ec);
  if (ec) {
    ::close(native_socket);
    return;
  }
  // Responses go out in one write each; Nagle's algorithm would hold pipelined ones back for a delayed ACK.
  socket.set_option(tcp::no_delay(true), ec);
  if (context->options.tls != nullptr) {
    std::shared_ptr<net::ssl::context> tls = context->options.tls->Current();
    StartConnection(std::make_shared<Connection<TlsStream>>(std::move(socket), context, std::move(tls)), *context);
  } else {
    StartConnection(std::make_shared<Connection<PlainStream>>(std::move(socket), context, nullptr), *context);
  }
}

}  // namespace clientreg::gateway::internal
