#include "gateway/http_connection.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
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
#include "common/logging.h"
#include "common/registration_error.h"
#include "gateway/client_address.h"
#include "gateway/http_errors.h"
#include "gateway/request_id.h"
#include "gateway/tls_context.h"

namespace clientreg::gateway::internal {

// ---------------------------------------------------------------------------------------------------------------
// ConnectionTracker

ConnectionTracker::ConnectionTracker(std::size_t max_connections)
    : max_connections_(std::max<std::size_t>(max_connections, 1)) {}

uint64_t ConnectionTracker::Add(std::shared_ptr<TrackedConnection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_id_++;
  connections_[id].connection = std::move(connection);
  return id;
}

void ConnectionTracker::Remove(uint64_t id) {
  // Both are released after the lock: the callback posts to the acceptor, and the last reference to a connection
  // runs its destructor.
  std::shared_ptr<TrackedConnection> released;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if (it->second.idle) idle_.erase(it->second.idle_position);
    released = std::move(it->second.connection);
    connections_.erase(it);
    if (connections_.size() < max_connections_) {
      // Room came from a close; nobody else has to give way for the connection that waited.
      evict_next_idle_ = false;
      on_room = std::move(on_room_);
      on_room_ = nullptr;
    }
    if (connections_.empty()) empty_.notify_all();
  }
  if (on_room) on_room();
}

bool ConnectionTracker::EnterIdle(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end()) return false;
  Entry& entry = it->second;
  if (entry.doomed || shutting_down_) {
    entry.doomed = true;
    return false;
  }
  if (evict_next_idle_ && connections_.size() >= max_connections_) {
    evict_next_idle_ = false;
    entry.doomed = true;
    return false;
  }
  if (!entry.idle) {
    entry.idle = true;
    entry.idle_position = idle_.insert(idle_.end(), id);
  }
  return true;
}

bool ConnectionTracker::LeaveIdle(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second.doomed) return false;
  if (it->second.idle) {
    idle_.erase(it->second.idle_position);
    it->second.idle = false;
  }
  return true;
}

bool ConnectionTracker::HasRoom() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connections_.size() < max_connections_;
}

std::shared_ptr<TrackedConnection> ConnectionTracker::MakeRoom() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connections_.size() < max_connections_) return nullptr;
  if (idle_.empty()) {
    evict_next_idle_ = true;
    return nullptr;
  }
  Entry& entry = connections_[idle_.front()];
  idle_.pop_front();
  entry.idle = false;
  entry.doomed = true;
  return entry.connection;
}

void ConnectionTracker::NotifyWhenRoom(std::function<void()> on_room) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connections_.size() >= max_connections_) {
      on_room_ = std::move(on_room);
      return;
    }
  }
  on_room();
}

std::vector<std::shared_ptr<TrackedConnection>> ConnectionTracker::BeginShutdown() {
  std::vector<std::shared_ptr<TrackedConnection>> idle;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutting_down_ = true;
    on_room = std::move(on_room_);
    on_room_ = nullptr;
    for (uint64_t id : idle_) {
      Entry& entry = connections_[id];
      entry.idle = false;
      entry.doomed = true;
      idle.push_back(entry.connection);
    }
    idle_.clear();
  }
  return idle;
}

bool ConnectionTracker::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shutting_down_;
}

std::vector<std::shared_ptr<TrackedConnection>> ConnectionTracker::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<TrackedConnection>> all;
  all.reserve(connections_.size());
  for (const auto& [id, entry] : connections_) all.push_back(entry.connection);
  return all;
}

bool ConnectionTracker::WaitUntilEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

void ConnectionTracker::ReleaseAll() {
  std::unordered_map<uint64_t, Entry> released;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released.swap(connections_);
    idle_.clear();
    on_room = std::move(on_room_);
    on_room_ = nullptr;
    empty_.notify_all();
  }
}

void ConnectionTracker::ClosePostGate() {
  std::lock_guard<std::mutex> lock(gate_mutex_);
  gate_open_ = false;
}

// ---------------------------------------------------------------------------------------------------------------
// Connection

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Request = http::request<http::string_body>;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// RFC 9110 §10.1.1, §15.2.1: the interim answer to `Expect: 100-continue`, sent once the header has passed.
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Bytes asked of the socket per read while reading a header or draining.
constexpr std::size_t kReadChunk = 16384;
// Upper bound of a lingering close (RFC 9112 §9.6).
constexpr std::chrono::milliseconds kMaxLinger{2000};

struct Rejection {
  unsigned status;
  std::string description;
};

// Beast 1.74 speaks boost::string_view.
std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

// ASCII case-insensitive: field names (RFC 9110 §5.1), transfer codings (§10.1.4), expectations (§10.1.1).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return IsTokenChar(static_cast<unsigned char>(c)); });
}

// RFC 9110 §5.5: CR, LF and NUL are never valid in a field value; one from the handler would split the response.
bool IsSafeFieldValue(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos; }

// The fields whose framing meaning belongs to the connection, never to the handler.
bool IsConnectionOwnedField(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
         EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Date") ||
         EqualsIgnoreCase(name, "Keep-Alive") || EqualsIgnoreCase(name, "X-Request-Id");
}

// RFC 9110 §5.6.7: IMF-fixdate, spelled out rather than through strftime, whose names follow the locale.
std::string HttpDate(std::chrono::system_clock::time_point now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
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

// The refusal a rejection's status stands for, as clientreg_http_rejected_total counts it.
HttpRefusal RefusalFor(unsigned status) {
  switch (status) {
    case 411:
      return HttpRefusal::kLengthRequired;
    case 413:
      return HttpRefusal::kBodyTooLarge;
    case 431:
      return HttpRefusal::kHeaderTooLarge;
    default:
      return HttpRefusal::kFraming;
  }
}

bool IsParserError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::need_more).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// The status for a Beast error met while parsing; nullopt if the peer is gone or the socket failed, when there is
// no one to answer.
std::optional<Rejection> RejectionForParseError(const beast::error_code& ec, const HttpServerOptions& options) {
  if (ec == http::error::header_limit) {
    // RFC 6585 §5.
    return Rejection{431,
                     "the request header block is larger than " + std::to_string(options.max_header_bytes) + " bytes"};
  }
  if (ec == http::error::body_limit) {
    // RFC 9110 §15.5.14; Beast raises it from the Content-Length before the body, and from chunk sizes as they come.
    return Rejection{413, "the request body is larger than " + std::to_string(options.max_body_bytes) + " bytes"};
  }
  if (ec == http::error::buffer_overflow) {
    // Only a chunk header or trailer section longer than the read buffer gets here.
    return Rejection{400, "a chunk header or trailer is too long"};
  }
  if (IsParserError(ec)) return Rejection{400, "malformed HTTP/1.1 request: " + ec.message()};
  return std::nullopt;
}

// The framing policy of docs/style.md ("HTTP framing on Beast 1.74") on a parsed header, for what Beast 1.74 lets
// through: it must leave exactly one way to find where the body ends (RFC 9112 §6.3), or the request is refused.
std::optional<Rejection> CheckHeader(const Request& request, const http::request_parser<http::string_body>& parser,
                                     const HttpServerOptions& options) {
  // Beast 1.74 parses only HTTP/1.0 and HTTP/1.1 (anything else is bad_version, a 400).
  const bool http10 = request.version() == 10;

  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request with more than one.
  const std::size_t hosts = request.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && !http10)) return Rejection{400, "the request needs exactly one Host field"};

  const std::size_t transfer_encodings = request.count(http::field::transfer_encoding);
  const std::size_t content_lengths = request.count(http::field::content_length);
  if (transfer_encodings > 0) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
    if (http10) return Rejection{400, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
    // RFC 9112 §6.1 lets a server reject both; that is how requests are smuggled past a proxy that reads the other.
    if (content_lengths > 0) return Rejection{400, "Transfer-Encoding and Content-Length must not both be sent"};
    std::vector<std::string_view> codings;
    const auto fields = request.equal_range(http::field::transfer_encoding);
    for (auto field = fields.first; field != fields.second; ++field) {
      std::string_view list = ToStd(field->value());
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view coding = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        const std::size_t first = coding.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;  // RFC 9110 §5.6.1: empty list elements do not count
        coding = coding.substr(first, coding.find_last_not_of(" \t") - first + 1);
        codings.push_back(coding);
      }
    }
    const auto is_chunked = [](std::string_view coding) { return EqualsIgnoreCase(coding, "chunked"); };
    const auto chunked_count = std::count_if(codings.begin(), codings.end(), is_chunked);
    if (codings.size() == 1 && chunked_count == 1 && parser.chunked()) return std::nullopt;
    if (!codings.empty() && is_chunked(codings.back()) && chunked_count == 1) {
      // RFC 9112 §6.1: a transfer coding the server does not implement gets 501.
      return Rejection{501, "the only supported transfer coding is chunked"};
    }
    // RFC 9112 §6.3: chunked not last (or twice) leaves the body length unknown; 400 and close.
    return Rejection{400, "Transfer-Encoding must be exactly chunked"};
  }
  // RFC 9112 §6.3: differing Content-Length values are unrecoverable; repeated ones are refused as well.
  if (content_lengths > 1 || (content_lengths == 1 && !parser.content_length())) {
    return Rejection{400, "the request needs at most one valid Content-Length"};
  }
  // RFC 9110 §8.6: Content-Length = 1*DIGIT. Beast 1.74 takes "52, 52" in one field as 52, while two fields of 52
  // are refused above: one rule for both, as a list in one field is the same as repeated fields (§5.3).
  if (content_lengths == 1) {
    const std::string_view value = ToStd(request[http::field::content_length]);
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Rejection{400, "the request needs at most one valid Content-Length"};
    }
  }
  if (content_lengths == 0 && (request.method_string() == "POST" || request.method_string() == "PUT")) {
    // RFC 9110 §15.5.12.
    return Rejection{411, "a POST or PUT request needs Content-Length or Transfer-Encoding: chunked"};
  }
  if (parser.content_length() && *parser.content_length() > options.max_body_bytes) {
    return Rejection{413, "the request body is larger than " + std::to_string(options.max_body_bytes) + " bytes"};
  }
  // RFC 9110 §5.3: these are not list fields, so a second line would leave two meanings; the router reads one.
  if (request.count(http::field::content_type) > 1) return Rejection{400, "more than one Content-Type field"};
  if (request.count(http::field::authorization) > 1) return Rejection{400, "more than one Authorization field"};
  return std::nullopt;
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
  }

  void OnResponse(uint64_t sequence, HttpResponse response) {
    // A late answer (the connection closed meanwhile, or a second call of `done`) is dropped.
    if (state_ != State::kHandling || sequence != sequence_) return;
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
    out.set(http::field::date, HttpDate(std::chrono::system_clock::now()));
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
    if (context_->observer != nullptr) {
      HttpExchange exchange;
      exchange.method = method_;
      exchange.target = target_;
      exchange.request_id = request_id_;
      exchange.peer = client_;
      exchange.status = response.status;
      exchange.error = response.error;
      exchange.client_id = response.client_id;
      exchange.latency = std::chrono::steady_clock::now() - request_start_;
      context_->observer->Exchange(exchange);
    }
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
  uint64_t sequence_ = 0;  // of the request being handled; tells a late `done` from a current one
  bool idle_ = false;      // registered idle with the tracker, waiting for the first byte of a request
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
