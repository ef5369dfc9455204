// The gateway's framing policy on arbitrary request bytes, parsed by Beast as the connection parses them: never a
// crash, and every header the policy lets through leaves exactly one way to find where the body ends (RFC 9112
// §6.3) within the body limit, so no request can be smuggled past it.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "boost/asio/buffer.hpp"
#include "boost/beast/http/field.hpp"
#include "gateway/http_framing.h"
#include "gateway/http_server.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  using clientreg::gateway::internal::CheckHeader;
  using clientreg::gateway::internal::RejectionForParseError;
  static const clientreg::gateway::HttpServerOptions options;

  clientreg::gateway::internal::RequestParser parser;
  parser.header_limit(options.max_header_bytes);
  parser.body_limit(options.max_body_bytes);
  std::size_t offset = 0;
  while (offset < size && !parser.is_header_done()) {
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
    offset += used;
    if (ec == http::error::need_more) return 0;  // the connection would read more bytes
    if (ec) {
      // Every parse error the connection can meet is answered, or the peer is gone: never a crash here.
      const auto rejection = RejectionForParseError(ec, options);
      if (rejection.has_value()) FUZZ_CHECK(rejection->status >= 400 && rejection->status < 600);
      return 0;
    }
    if (used == 0) return 0;
  }
  if (!parser.is_header_done()) return 0;
  const clientreg::gateway::internal::Request& request = parser.get();
  const std::optional<clientreg::gateway::internal::Rejection> rejection = CheckHeader(request, parser, options);
  if (rejection.has_value()) {
    FUZZ_CHECK(rejection->status >= 400 && rejection->status < 600);
    FUZZ_CHECK(!rejection->description.empty());
    return 0;
  }
  // Let through: one framing, within the limit.
  FUZZ_CHECK(!(parser.chunked() && parser.content_length().has_value()));
  FUZZ_CHECK(request.count(http::field::transfer_encoding) == 0 || parser.chunked());
  FUZZ_CHECK(request.count(http::field::content_length) <= 1);
  FUZZ_CHECK(!parser.content_length().has_value() || *parser.content_length() <= options.max_body_bytes);
  FUZZ_CHECK(request.count(http::field::host) <= 1);
  FUZZ_CHECK(request.version() == 10 || request.count(http::field::host) == 1);
  return 0;
}
