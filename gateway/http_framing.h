#ifndef CLIENTREG_GATEWAY_HTTP_FRAMING_H_
#define CLIENTREG_GATEWAY_HTTP_FRAMING_H_

// Internal to the gateway's HTTP server: the framing policy of docs/style.md ("HTTP framing on Beast 1.74") as pure
// functions over what Beast parsed, so that it is tested and fuzzed without a socket (tests/fuzz/http_framing_fuzz.cc).

#include <optional>
#include <string>
#include <string_view>

#include "boost/beast/core/error.hpp"
#include "boost/beast/core/string.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/string_body.hpp"
#include "gateway/http_observer.h"
#include "gateway/http_server.h"

namespace clientreg::gateway::internal {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A request refused for its framing or size: answered with `status` and closed.
struct Rejection {
  unsigned status;
  std::string description;
};

// Beast 1.74 speaks boost::string_view.
inline std::string_view ToStd(boost::beast::string_view s) { return std::string_view(s.data(), s.size()); }

// ASCII case-insensitive: field names (RFC 9110 §5.1), transfer codings (§10.1.4), expectations (§10.1.1).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// RFC 9110 §5.6.2: a token (1*tchar).
bool IsToken(std::string_view s);

// The refusal a rejection's status stands for, as clientreg_http_rejected_total counts it.
HttpRefusal RefusalFor(unsigned status);

// The status for a Beast error met while parsing; nullopt if the peer is gone or the socket failed, when there is
// no one to answer.
std::optional<Rejection> RejectionForParseError(const boost::beast::error_code& ec, const HttpServerOptions& options);

// The framing policy on a parsed header, for what Beast 1.74 lets through: it must leave exactly one way to find
// where the body ends (RFC 9112 §6.3), or the request is refused; nullopt when it may be read and handled.
std::optional<Rejection> CheckHeader(const Request& request, const RequestParser& parser,
                                     const HttpServerOptions& options);

}  // namespace clientreg::gateway::internal

#endif  // CLIENTREG_GATEWAY_HTTP_FRAMING_H_
