#ifndef CLIENTREG_GATEWAY_ROUTER_H_
#define CLIENTREG_GATEWAY_ROUTER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/registration.pb.h"
#include "common/ops_endpoints.h"
#include "gateway/http_types.h"
#include "gateway/registration_client.h"
#include "gateway/route.h"

namespace clientreg::gateway {

// Maps one HTTP request of the public JSON API to a gRPC call and its answer back to HTTP. Plain code, no sockets
// (style.md point 13), so it is testable and fuzzable alone. Thread-safe.
//
// Routes, all under the path P of the server's issuer ("/t1" for "https://as.example/t1", empty for none):
//  - P/oauth/register: POST registers (RFC 7591); OPTIONS is a CORS preflight; anything else 405.
//  - P/oauth/register/{client_id}: GET, PUT, DELETE manage one client (RFC 7592) with the Bearer registration
//    access token; OPTIONS is a CORS preflight; anything else 405. Never 404: a malformed client_id gets the same
//    401 as an unknown one.
//  - /.well-known/oauth-authorization-server P (RFC 8414 §3), P/.well-known/openid-configuration (OIDC Discovery
//    §4) and, when P is not empty, /.well-known/openid-configuration P (what MCP clients try): GET only.
//  - /openapi.json: the OpenAPI 3.1 description of all of the above, GET only.
//  - /healthz (liveness: 200 {"status":"ok"} whenever the router answers) and /readyz (200 or 503 from
//    Options::readiness, as common::ReadinessResponse writes it): exactly these paths, never under P, for load
//    balancers probing the public port; GET and HEAD, anything else 405 with `Allow: GET, HEAD`; `Cache-Control:
//    no-store`. /metrics is not a route: it is a 404 here like any unknown path (it lives on the ops port).
// Every call to the server carries the request's `request_id`. A response names its client in `client_id` when the
// route knows it: the configuration endpoint's path id (when it can be one), or the client a 200 or 201 describes.
class Router {
 public:
  struct Options {
    clientreg::config::v1::HttpLimits limits;
    // Origins allowed by CORS; "*" allows any.
    std::vector<std::string> cors_allowed_origins = {"*"};
    // What the server publishes, fetched once at start-up: configuration does not change at run time. Its
    // `issuer` places every route.
    clientreg::v1::ServerMetadata server_metadata;
    // The checks /readyz reports, called once per request to it; must be quick and thread-safe. Unset: ready.
    std::function<std::vector<common::HealthCheckResult>()> readiness;
  };

  // `registration` must outlive the router.
  Router(Options options, RegistrationClient* registration);
  // The routes point into the router's own documents.
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Answers `request` through `done`, exactly once, possibly on another thread.
  void Handle(HttpRequest request, std::function<void(HttpResponse)> done) const;

  // The route a request-target belongs to, as Handle dispatches it (whatever the method).
  Route Classify(std::string_view target) const;

 private:
  using Done = std::function<void(HttpResponse)>;

  void Register(HttpRequest request, Done done) const;
  void Manage(HttpRequest request, std::string_view client_id, Done done) const;
  void Update(HttpRequest request, std::string client_id, std::string token, Done done) const;
  // A GET-only public document (discovery, OpenAPI), cacheable by anyone for an hour.
  void ServeDocument(const HttpRequest& request, std::string_view body, Done done) const;
  // /healthz or /readyz.
  void ServeHealth(const HttpRequest& request, Route route, Done done) const;
  // Wraps `done` so the response gets the CORS fields for `origin`, on a 405 an `Allow` of `allow`, and the
  // `client_id` the route knows unless the response names one.
  Done Replier(std::string origin, std::string allow, Done done, std::string client_id = {}) const;
  // Adds the CORS response fields for the request's Origin, if it is allowed. For a public, cacheable document
  // the fields must not depend on whether the request that filled a shared cache carried an Origin.
  void AddCors(std::string_view origin, HttpResponse& response, bool public_document = false) const;

  const uint64_t id_;
  Options options_;
  RegistrationClient* registration_;
  std::string registration_path_;     // P/oauth/register
  std::string configuration_prefix_;  // P/oauth/register/
  std::string oauth_metadata_body_;
  std::string openid_configuration_body_;
  // Discovery paths, each with the body it serves.
  std::vector<std::pair<std::string, const std::string*>> discovery_routes_;
};

// Whether a Content-Type field value is application/json, matched case-insensitively, with parameters allowed
// (RFC 9110 §8.3.1) but a charset other than UTF-8 refused (RFC 8259 §8.1).
bool IsJsonMediaType(std::string_view content_type);

// The path of a request-target: origin-form up to "?" , or the path of an absolute-form target (RFC 9112 §3.2).
std::string_view TargetPath(std::string_view target);

// The path of an issuer URL without its trailing "/" (RFC 8414 §3): "/t1" for "https://as.example/t1/", empty for
// "https://as.example".
std::string IssuerPath(std::string_view issuer);

// The token of an `Authorization` field value `Bearer <b64token>` (RFC 6750 §2.1: the scheme case-insensitive, one
// or more spaces, b64token = 1*(ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/") *"="), or nullopt for any other
// scheme or a malformed token.
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_ROUTER_H_
