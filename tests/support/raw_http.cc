#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace clientreg::testing {
namespace {

std::string Lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

RawConnection::RawConnection(uint16_t port, int timeout_seconds) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  timeval timeout{timeout_seconds, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() { CloseSocket(); }

void RawConnection::CloseSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ssize_t RawConnection::SendSome(const char* data, std::size_t size) { return ::send(fd_, data, size, MSG_NOSIGNAL); }

ssize_t RawConnection::ReceiveSome(char* data, std::size_t size) { return ::recv(fd_, data, size, 0); }

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = SendSome(bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::Fill() {
  char chunk[16384];
  const ssize_t n = ReceiveSome(chunk, sizeof(chunk));
  if (n <= 0) {
    if (n == 0) {
      last_read_end_ = ReadEnd::kClosed;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      last_read_end_ = ReadEnd::kTimeout;
    } else {
      last_read_end_ = errno == ECONNRESET ? ReadEnd::kReset : ReadEnd::kError;
    }
    return false;
  }
  bytes_received_ += static_cast<uint64_t>(n);
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

bool RawConnection::PeerClosed() {
  if (!buffer_.empty()) return false;
  char byte;
  const ssize_t n = ReceiveSome(&byte, 1);
  if (n > 0) {
    buffer_.push_back(byte);
    ++bytes_received_;
  }
  return n == 0;
}

std::optional<RawResponse> RawConnection::Read(bool response_to_head) {
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) return std::nullopt;
  }
  RawResponse response;
  const std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
  response.status = std::atoi(status_line.c_str() + 9);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    response.headers[Lowercase(line.substr(0, colon))] = Trim(std::string_view(line).substr(colon + 1));
  }
  // An interim response has no body, nor has the response to HEAD.
  if (response.status / 100 == 1 || response_to_head) return response;
  if (Lowercase(response.Header("transfer-encoding")) == "chunked") {
    while (true) {
      std::size_t size_end;
      while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
      }
      const std::size_t size = std::strtoul(buffer_.c_str(), nullptr, 16);
      while (buffer_.size() < size_end + 2 + size + 2) {
        if (!Fill()) return std::nullopt;
      }
      response.body.append(buffer_, size_end + 2, size);
      buffer_.erase(0, size_end + 2 + size + 2);
      if (size == 0) return response;
    }
  }
  if (response.HasHeader("content-length")) {
    const std::size_t length = std::strtoul(response.Header("content-length").c_str(), nullptr, 10);
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }
  if (response.status == 204 || response.status == 304) return response;
  while (Fill()) {
  }
  response.body = std::move(buffer_);
  buffer_.clear();
  return response;
}

std::optional<RawResponse> RoundTrip(uint16_t port, std::string_view request) {
  RawConnection connection(port);
  if (!connection.connected() || !connection.Send(request)) return std::nullopt;
  return connection.Read();
}

std::string PostRequest(std::string_view path, std::string_view body, std::string_view content_type,
                        std::string_view extra_headers) {
  std::string request = "POST ";
  request.append(path);
  request += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!content_type.empty()) {
    request += "Content-Type: ";
    request.append(content_type);
    request += "\r\n";
  }
  request.append(extra_headers);
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request.append(body);
  return request;
}

}  // namespace clientreg::testing
