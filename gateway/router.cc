#include "gateway/router.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json_mapping.h"
#include "common/registration_error.h"
#include "gateway/http_errors.h"
#include "gateway/json_writer.h"
#include "gateway/openapi_document.h"

namespace clientreg::gateway {
namespace {

using common::ExtraMember;
using common::JsonMapper;
using common::ParsedBody;

constexpr std::string_view kRegistrationPath = "/oauth/register";
constexpr std::string_view kOpenApiPath = "/openapi.json";
constexpr std::string_view kHealthzPath = "/healthz";
constexpr std::string_view kReadyzPath = "/readyz";
// RFC 9110 §9.1: HEAD wherever GET is; OPTIONS answers the CORS preflight, so Allow names it too.
constexpr std::string_view kManagementMethods = "GET, HEAD, PUT, DELETE, OPTIONS";

// RFC 7592 §2.2: members a PUT body is asked about beyond the metadata. The first two are compared by the server,
// the other four are refused there.
constexpr std::string_view kClientIdMember = "client_id";
constexpr std::string_view kClientSecretMember = "client_secret";
constexpr std::string_view kPutExtraMembers[] = {
    kClientIdMember,           kClientSecretMember,        "registration_access_token",
    "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"};

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Distinguishes routers for the thread-local parsers: an address could be reused by a later router with other
// limits, an id is never reused.
std::atomic<uint64_t> next_router_id{1};

// One simdjson parser per thread, sized once for the router's limits (style.md: "One parser per Asio thread").
JsonMapper& ThreadMapper(uint64_t router_id, const clientreg::config::v1::HttpLimits& limits) {
  thread_local uint64_t mapper_router_id = 0;
  thread_local std::unique_ptr<JsonMapper> mapper;
  if (mapper == nullptr || mapper_router_id != router_id) {
    mapper = std::make_unique<JsonMapper>(limits);
    mapper_router_id = router_id;
  }
  return *mapper;
}

// A CORS preflight answer (spec.md §1.1). Credentials travel in headers, never cookies, so no Allow-Credentials.
HttpResponse Preflight(std::string_view methods) {
  HttpResponse response;
  response.status = 204;
  response.headers.emplace_back("Access-Control-Allow-Methods", std::string(methods));
  response.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type, Authorization");
  response.headers.emplace_back("Access-Control-Max-Age", "86400");
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// The client information response of a successful Register (201), GetRegistration or UpdateRegistration (200).
HttpResponse ClientInformationResponse(unsigned status, const clientreg::v1::ClientInformation& info) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  // RFC 7591 §3.2.1, RFC 7592 §3: the response carries a secret or token, so it must not be cached.
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Pragma", "no-cache");
  response.client_id = info.client_id();
  // RFC 9110 §15.3.2: a 201 names the created resource, here the client's configuration endpoint.
  if (status == 201 && info.has_registration_client_uri()) {
    response.headers.emplace_back("Location", info.registration_client_uri());
  }
  response.body = WriteClientInformation(info);
  return response;
}

// The client_id path segment: non-empty and made only of URL-safe characters (RFC 3986 §2.3 unreserved), which is
// all the server issues (CIMD §6.9). Anything else cannot name a client.
bool IsValidClientIdSegment(std::string_view segment) {
  if (segment.empty()) return false;
  for (const char c : segment) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' && c != '~') {
      return false;
    }
  }
  return true;
}

// The methods of `allow` other than `method`, for the Allow field of a 405 the server chose (UNIMPLEMENTED).
std::string AllowedExcept(std::string_view allow, std::string_view method) {
  std::string out;
  for (const absl::string_view candidate : absl::StrSplit(ToAbsl(allow), ", ", absl::SkipEmpty())) {
    if (candidate == ToAbsl(method)) continue;
    if (!out.empty()) out += ", ";
    out.append(candidate.data(), candidate.size());
  }
  return out;
}

HttpResponse MethodNotAllowed(std::string_view allow) {
  HttpResponse response = ErrorResponse(405, common::kInvalidRequest, "method not allowed on this endpoint");
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

}  // namespace

bool IsJsonMediaType(std::string_view content_type) {
  const std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(content_type), ';');
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[0]), "application/json")) return false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view parameter = absl::StripAsciiWhitespace(parts[i]);
    if (parameter.empty()) continue;
    const std::pair<absl::string_view, absl::string_view> name_value = absl::StrSplit(parameter, '=');
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(name_value.first), "charset")) {
      absl::string_view charset = absl::StripAsciiWhitespace(name_value.second);
      if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
        charset = charset.substr(1, charset.size() - 2);
      }
      if (!absl::EqualsIgnoreCase(charset, "utf-8")) return false;
    }
  }
  return true;
}

std::string_view TargetPath(std::string_view target) {
  if (!target.empty() && target.front() != '/') {
    // absolute-form: skip "scheme://authority".
    const std::size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return target;
    const std::size_t path_start = target.find('/', scheme_end + 3);
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  return target.substr(0, target.find('?'));
}

std::string IssuerPath(std::string_view issuer) {
  const std::size_t scheme_end = issuer.find("://");
  if (scheme_end == std::string_view::npos) return std::string();
  const std::size_t path_start = issuer.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return std::string();
  // RFC 8414 §2: an issuer has no query or fragment; cut them anyway so a bad value cannot leak into the routes.
  std::string_view path = issuer.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  // RFC 8414 §3: "any terminating "/" MUST be removed before inserting".
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(ToAbsl(authorization.substr(0, kScheme.size())), ToAbsl(kScheme)) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  std::size_t i = 0;
  while (i < token.size() && (absl::ascii_isalnum(static_cast<unsigned char>(token[i])) ||
                              std::string_view("-._~+/").find(token[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return std::nullopt;
  while (i < token.size() && token[i] == '=') ++i;
  if (i != token.size()) return std::nullopt;
  return token;
}

Router::Router(Options options, RegistrationClient* registration)
    : id_(next_router_id.fetch_add(1)), options_(std::move(options)), registration_(registration) {
  const std::string issuer_path = IssuerPath(options_.server_metadata.issuer());
  registration_path_ = absl::StrCat(issuer_path, ToAbsl(kRegistrationPath));
  configuration_prefix_ = registration_path_ + "/";
  // Configuration never changes at run time, so the documents are written once.
  oauth_metadata_body_ = WriteServerMetadata(options_.server_metadata, DiscoveryDocument::kOAuthAuthorizationServer);
  openid_configuration_body_ = WriteServerMetadata(options_.server_metadata, DiscoveryDocument::kOpenIdConfiguration);
  // RFC 8414 §3: the well-known segment goes between host and path.
  discovery_routes_.emplace_back("/.well-known/oauth-authorization-server" + issuer_path, &oauth_metadata_body_);
  // OIDC Discovery §4: appended to the issuer.
  discovery_routes_.emplace_back(issuer_path + "/.well-known/openid-configuration", &openid_configuration_body_);
  // The inserted OIDC form that MCP clients try second (spec.md §3); the same URL as above without a path.
  if (!issuer_path.empty()) {
    discovery_routes_.emplace_back("/.well-known/openid-configuration" + issuer_path, &openid_configuration_body_);
  }
}

void Router::AddCors(std::string_view origin, HttpResponse& response, bool public_document) const {
  for (const std::string& allowed : options_.cors_allowed_origins) {
    if (allowed == "*") {
      // A browser sends Origin only cross-origin; a public document carries the field always, so a shared cache
      // filled by a same-origin request still serves something a cross-origin page can read.
      if (!origin.empty() || public_document) {
        response.headers.emplace_back("Access-Control-Allow-Origin", "*");
      }
    } else if (!origin.empty() && allowed == origin) {
      response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
      response.headers.emplace_back("Vary", "Origin");
    } else {
      continue;
    }
    if (!origin.empty()) {
      // Lets browser clients read the fields they need from 201s and errors.
      response.headers.emplace_back("Access-Control-Expose-Headers", "Location, WWW-Authenticate, Retry-After");
    }
    return;
  }
  // The answer depends on Origin, and a cache must know that even when this request's origin is not allowed.
  if (public_document) response.headers.emplace_back("Vary", "Origin");
}

Router::Done Router::Replier(std::string origin, std::string allow, Done done, std::string client_id) const {
  return [this, origin = std::move(origin), allow = std::move(allow), done = std::move(done),
          client_id = std::move(client_id)](HttpResponse response) {
    // RFC 9110 §15.5.6: a 405 carries Allow; the router's own 405s have theirs already, the server's do not.
    const bool has_allow = std::any_of(response.headers.begin(), response.headers.end(),
                                       [](const auto& field) { return field.first == "Allow"; });
    if (response.status == 405 && !has_allow) {
      // The server refused the only method this endpoint has: that is its fault, not a 405 with an empty Allow.
      if (allow.empty()) {
        response = ErrorResponse(500, common::kServerError, "internal error");
      } else {
        response.headers.emplace_back("Allow", allow);
      }
    }
    if (response.client_id.empty()) response.client_id = client_id;
    AddCors(origin, response);
    done(std::move(response));
  };
}

Route Router::Classify(std::string_view target) const {
  const std::string_view path = TargetPath(target);
  if (path == kHealthzPath) return Route::kHealthz;
  if (path == kReadyzPath) return Route::kReadyz;
  if (path == registration_path_) return Route::kRegister;
  if (absl::StartsWith(ToAbsl(path), configuration_prefix_)) return Route::kClientConfiguration;
  for (const auto& [route, body] : discovery_routes_) {
    if (path == route) return Route::kDiscovery;
  }
  if (path == kOpenApiPath) return Route::kOpenApi;
  return Route::kOther;
}

void Router::Handle(HttpRequest request, std::function<void(HttpResponse)> done) const {
  const std::string_view path = TargetPath(request.target);
  switch (Classify(path)) {
    case Route::kHealthz:
      ServeHealth(request, Route::kHealthz, std::move(done));
      return;
    case Route::kReadyz:
      ServeHealth(request, Route::kReadyz, std::move(done));
      return;
    case Route::kRegister: {
      if (request.method == "POST") {
        Register(std::move(request), std::move(done));
        return;
      }
      // RFC 9110 §15.5.6: a 405 carries Allow; GET never lists clients.
      HttpResponse response =
          request.method == "OPTIONS" ? Preflight("POST, OPTIONS") : MethodNotAllowed("POST, OPTIONS");
      AddCors(request.origin, response);
      done(std::move(response));
      return;
    }
    case Route::kClientConfiguration: {
      // A copy: `path` points into the request, which Manage takes over.
      const std::string client_id(path.substr(configuration_prefix_.size()));
      Manage(std::move(request), client_id, std::move(done));
      return;
    }
    case Route::kDiscovery:
      for (const auto& [route, body] : discovery_routes_) {
        if (path == route) {
          ServeDocument(request, *body, std::move(done));
          return;
        }
      }
      break;
    case Route::kOpenApi:
      ServeDocument(request, OpenApiDocument(), std::move(done));
      return;
    case Route::kOther:
      break;
  }
  HttpResponse response = ErrorResponse(404, common::kInvalidRequest, "no such endpoint");
  AddCors(request.origin, response);
  done(std::move(response));
}

void Router::ServeHealth(const HttpRequest& request, Route route, Done done) const {
  if (request.method != "GET" && request.method != "HEAD") {
    done(MethodNotAllowed("GET, HEAD"));
    return;
  }
  // The connection leaves the body out of a HEAD answer and keeps its Content-Length.
  const common::OpsResponse answer =
      route == Route::kHealthz
          ? common::LivenessResponse()
          : common::ReadinessResponse(options_.readiness ? options_.readiness()
                                                         : std::vector<common::HealthCheckResult>());
  HttpResponse response;
  response.status = static_cast<unsigned>(answer.status);
  response.headers.emplace_back("Content-Type", answer.content_type);
  // A probe must see the state now, never a cached one.
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body = answer.body;
  done(std::move(response));
}

void Router::ServeDocument(const HttpRequest& request, std::string_view body, Done done) const {
  HttpResponse response;
  // The connection leaves the body out of a HEAD answer and keeps its Content-Length (RFC 9110 §9.3.2).
  if (request.method == "GET" || request.method == "HEAD") {
    response.headers.emplace_back("Content-Type", "application/json");
    response.headers.emplace_back("Cache-Control", "public, max-age=3600");
    response.body = std::string(body);
  } else if (request.method == "OPTIONS") {
    response = Preflight("GET, HEAD, OPTIONS");
  } else {
    response = MethodNotAllowed("GET, HEAD, OPTIONS");
  }
  AddCors(request.origin, response, /*public_document=*/response.status == 200);
  done(std::move(response));
}

void Router::Register(HttpRequest request, Done done) const {
  Done reply = Replier(std::move(request.origin), AllowedExcept("POST", request.method), std::move(done));
  if (!request.has_content_type || !IsJsonMediaType(request.content_type)) {
    reply(ErrorResponse(415, common::kInvalidRequest, "Content-Type must be application/json"));
    return;
  }
  absl::StatusOr<clientreg::v1::ClientMetadata> metadata =
      ThreadMapper(id_, options_.limits).ParseClientMetadata(request.body);
  if (!metadata.ok()) {
    reply(ErrorResponseFromStatus(metadata.status()));
    return;
  }
  clientreg::v1::RegisterRequest rpc;
  *rpc.mutable_metadata() = *std::move(metadata);
  // RFC 7591 §3: the initial access token, which only the server judges (its mode may ignore it). A field that holds
  // no Bearer token goes as an empty one, which the server refuses like any wrong token.
  const bool token_presented = request.has_authorization;
  if (token_presented) rpc.set_initial_access_token(std::string(BearerToken(request.authorization).value_or("")));
  registration_->Register(
      std::move(rpc), RegistrationClient::CallerContext{request.peer, request.request_id, request.cancellation},
      [reply = std::move(reply), token_presented](grpc::Status status, clientreg::v1::ClientInformation info) {
        reply(status.ok() ? ClientInformationResponse(201, info)
                          : ErrorResponseFromGrpc(status, RpcKind::kRegistration, token_presented));
      });
}

void Router::Manage(HttpRequest request, std::string_view client_id, Done done) const {
  // Only a segment that can be a client_id is logged: anything else is an arbitrary client-chosen string.
  Done reply = Replier(request.origin, AllowedExcept(kManagementMethods, request.method), std::move(done),
                       IsValidClientIdSegment(client_id) ? std::string(client_id) : std::string());
  // HEAD is a GET whose body the connection leaves out (RFC 9110 §9.3.2): same call, same status and fields.
  const bool read = request.method == "GET" || request.method == "HEAD";
  const bool known_method = read || request.method == "PUT" || request.method == "DELETE";
  if (!known_method) {
    reply(request.method == "OPTIONS" ? Preflight(kManagementMethods) : MethodNotAllowed(kManagementMethods));
    return;
  }
  // RFC 6750 §3.1: no credentials, no error code. Answered here, without a call: the server could only refuse.
  // OAuth 2.1 §5.1: a token in the query or the body is ignored, so such a request lands here too.
  if (!request.has_authorization) {
    reply(UnauthorizedResponse(/*token_presented=*/false));
    return;
  }
  const std::optional<std::string_view> token = BearerToken(request.authorization);
  // A malformed token, another scheme, or a client_id no client can have: the very 401 of a wrong token
  // (spec.md §2.2), so none of them tells an attacker anything.
  if (!token.has_value() || !IsValidClientIdSegment(client_id)) {
    reply(UnauthorizedResponse(/*token_presented=*/true));
    return;
  }
  const RegistrationClient::CallerContext caller{request.peer, request.request_id, request.cancellation};
  if (read) {
    clientreg::v1::GetRegistrationRequest rpc;
    rpc.set_client_id(std::string(client_id));
    rpc.set_registration_access_token(std::string(*token));
    registration_->GetRegistration(
        std::move(rpc), caller, [reply = std::move(reply)](grpc::Status status, clientreg::v1::ClientInformation info) {
          reply(status.ok() ? ClientInformationResponse(200, info)
                            : ErrorResponseFromGrpc(status, RpcKind::kManagement));
        });
  } else if (request.method == "DELETE") {
    clientreg::v1::DeleteRegistrationRequest rpc;
    rpc.set_client_id(std::string(client_id));
    rpc.set_registration_access_token(std::string(*token));
    registration_->DeleteRegistration(
        std::move(rpc), caller,
        [reply = std::move(reply)](grpc::Status status, clientreg::v1::DeleteRegistrationResponse) {
          if (!status.ok()) {
            reply(ErrorResponseFromGrpc(status, RpcKind::kManagement));
            return;
          }
          // RFC 7592 §2.3: 204, and RFC 9110 §15.3.5: no content, so no Content-Type either.
          HttpResponse response;
          response.status = 204;
          reply(std::move(response));
        });
  } else {
    Update(std::move(request), std::string(client_id), std::string(*token), std::move(reply));
  }
}

void Router::Update(HttpRequest request, std::string client_id, std::string token, Done reply) const {
  if (!request.has_content_type || !IsJsonMediaType(request.content_type)) {
    reply(ErrorResponse(415, common::kInvalidRequest, "Content-Type must be application/json"));
    return;
  }
  absl::StatusOr<ParsedBody> parsed = ThreadMapper(id_, options_.limits).Parse(request.body, kPutExtraMembers);
  if (!parsed.ok()) {
    reply(ErrorResponseFromStatus(parsed.status()));
    return;
  }
  clientreg::v1::UpdateRegistrationRequest rpc;
  rpc.set_client_id(std::move(client_id));
  rpc.set_registration_access_token(std::move(token));
  *rpc.mutable_metadata() = std::move(parsed->metadata);
  for (ExtraMember& member : parsed->extras) {
    if (member.name == kClientIdMember || member.name == kClientSecretMember) {
      // RFC 7592 §2.2 compares them as strings; any other kind can never match.
      if (!member.string_value.has_value()) {
        reply(ErrorResponse(400, common::kInvalidRequest, absl::StrCat(member.name, " must be a string"), member.name));
        return;
      }
      if (member.name == kClientIdMember) {
        rpc.set_body_client_id(std::move(*member.string_value));
      } else {
        rpc.set_client_secret(std::move(*member.string_value));
      }
    } else {
      // The server refuses these (RFC 7592 §2.2 "MUST NOT include"), so its answer stays the one place for it.
      rpc.add_forbidden_members(member.name);
    }
  }
  registration_->UpdateRegistration(
      std::move(rpc), RegistrationClient::CallerContext{request.peer, request.request_id, request.cancellation},
      [reply = std::move(reply)](grpc::Status status, clientreg::v1::ClientInformation info) {
        reply(status.ok() ? ClientInformationResponse(200, info) : ErrorResponseFromGrpc(status, RpcKind::kManagement));
      });
}

}  // namespace clientreg::gateway
