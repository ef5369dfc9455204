#ifndef CLIENTREG_GATEWAY_HTTP_TYPES_H_
#define CLIENTREG_GATEWAY_HTTP_TYPES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway/cancellation.h"

namespace clientreg::gateway {

// One HTTP request as the router sees it: framing, limits and Beast types stay in http_connection.cc.
struct HttpRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // the request-target as sent, e.g. "/oauth/register?x=1"
  bool has_content_type = false;
  std::string content_type;  // the Content-Type field value
  bool has_authorization = false;
  std::string authorization;                  // the Authorization field value
  std::string origin;                         // the Origin field value, empty when absent
  std::string access_control_request_method;  // CORS preflight
  std::string peer;                           // "ip:port" of the client
  std::string request_id;                     // well-formed X-Request-Id of the request, or one made for it
  std::string body;
  // Cancelled by the connection when the client goes away before its answer; null outside a connection (tests).
  std::shared_ptr<Cancellation> cancellation;
};

struct HttpResponse {
  unsigned status = 200;
  // Fields in order; the connection adds Content-Length, Date and Connection.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Close the connection after this response.
  bool close = false;
  // Never sent; for the access log. The OAuth error code of an error response (ErrorResponse sets it), and the
  // client the request concerned when the router knows it.
  std::string error;
  std::string client_id;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_HTTP_TYPES_H_
