#include "gateway/http_framing.h"

#include <algorithm>
#include <vector>

#include "boost/beast/http/error.hpp"
#include "boost/beast/http/field.hpp"

namespace clientreg::gateway::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

namespace {

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

bool IsToken(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return IsTokenChar(static_cast<unsigned char>(c)); });
}

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

namespace {

bool IsParserError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::need_more).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

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

std::optional<Rejection> CheckHeader(const Request& request, const RequestParser& parser,
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

}  // namespace clientreg::gateway::internal
