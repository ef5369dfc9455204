#ifndef CLIENTREG_GATEWAY_ROUTER_H_
#define CLIENTREG_GATEWAY_ROUTER_H_

#include <functional>
#include <string>
#include <vector>

#include "clientreg/config/v1/config.pb.h"
#include "gateway/http_types.h"
#include "gateway/registration_client.h"

namespace clientreg::gateway {

// Maps one HTTP request of the public JSON API to a gRPC call and its answer back to HTTP. Plain code, no sockets
// (style.md point 13), so it is testable and fuzzable alone. Thread-safe.
class Router {
 public:
  struct Options {
    clientreg::config::v1::Limits limits;
    // Origins allowed by CORS; "*" allows any.
    std::vector<std::string> cors_allowed_origins = {"*"};
  };

  // `registration` must outlive the router.
  Router(Options options, RegistrationClient* registration);

  // Answers `request` through `done`, exactly once, possibly on another thread.
  void Handle(HttpRequest request, std::function<void(HttpResponse)> done) const;

 private:
  void Register(HttpRequest request, std::function<void(HttpResponse)> done) const;
  // Adds the CORS response fields for the request's Origin, if it is allowed.
  void AddCors(const HttpRequest& request, HttpResponse& response) const;

  Options options_;
  RegistrationClient* registration_;
};

// Whether a Content-Type field value is application/json, matched case-insensitively, with parameters allowed
// (RFC 9110 §8.3.1) but a charset other than UTF-8 refused (RFC 8259 §8.1).
bool IsJsonMediaType(std::string_view content_type);

// The path of a request-target: origin-form up to "?" , or the path of an absolute-form target (RFC 9112 §3.2).
std::string_view TargetPath(std::string_view target);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_ROUTER_H_
