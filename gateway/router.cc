#include "gateway/router.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/registration_error.h"
#include "gateway/http_errors.h"
#include "gateway/json_mapping.h"
#include "gateway/json_writer.h"

namespace clientreg::gateway {
namespace {

constexpr std::string_view kRegistrationPath = "/oauth/register";

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// One simdjson parser per thread, sized once for the router's limits (style.md: "One parser per Asio thread").
JsonMapper& ThreadMapper(const void* owner, const clientreg::config::v1::Limits& limits) {
  thread_local const void* mapper_owner = nullptr;
  thread_local std::unique_ptr<JsonMapper> mapper;
  if (mapper == nullptr || mapper_owner != owner) {
    mapper = std::make_unique<JsonMapper>(limits);
    mapper_owner = owner;
  }
  return *mapper;
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

Router::Router(Options options, RegistrationClient* registration)
    : options_(std::move(options)), registration_(registration) {}

void Router::AddCors(const HttpRequest& request, HttpResponse& response) const {
  if (request.origin.empty()) return;
  for (const std::string& allowed : options_.cors_allowed_origins) {
    if (allowed == "*") {
      response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    } else if (allowed == request.origin) {
      response.headers.emplace_back("Access-Control-Allow-Origin", request.origin);
      response.headers.emplace_back("Vary", "Origin");
    } else {
      continue;
    }
    // Lets browser clients read the fields they need from 201s and errors.
    response.headers.emplace_back("Access-Control-Expose-Headers", "Location, WWW-Authenticate, Retry-After");
    return;
  }
}

void Router::Handle(HttpRequest request, std::function<void(HttpResponse)> done) const {
  const std::string_view path = TargetPath(request.target);
  if (path != kRegistrationPath) {
    HttpResponse response = ErrorResponse(404, common::kInvalidRequest, "no such endpoint");
    AddCors(request, response);
    done(std::move(response));
    return;
  }
  if (request.method == "POST") {
    Register(std::move(request), std::move(done));
    return;
  }
  HttpResponse response;
  if (request.method == "OPTIONS") {
    // CORS preflight (spec.md §1.1): credentials travel in headers, never cookies, so no Allow-Credentials.
    response.status = 204;
    response.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type, Authorization");
    response.headers.emplace_back("Access-Control-Max-Age", "86400");
    response.headers.emplace_back("Cache-Control", "no-store");
  } else {
    // RFC 9110 §15.5.6: a 405 carries Allow; GET never lists clients.
    response = MethodNotAllowed("POST");
  }
  AddCors(request, response);
  done(std::move(response));
}

void Router::Register(HttpRequest request, std::function<void(HttpResponse)> done) const {
  if (!request.has_content_type || !IsJsonMediaType(request.content_type)) {
    HttpResponse response = ErrorResponse(415, common::kInvalidRequest, "Content-Type must be application/json");
    AddCors(request, response);
    done(std::move(response));
    return;
  }
  absl::StatusOr<clientreg::v1::ClientMetadata> metadata =
      ThreadMapper(this, options_.limits).ParseClientMetadata(request.body);
  if (!metadata.ok()) {
    HttpResponse response = ErrorResponseFromStatus(metadata.status());
    AddCors(request, response);
    done(std::move(response));
    return;
  }
  clientreg::v1::RegisterRequest rpc;
  *rpc.mutable_metadata() = *std::move(metadata);
  // The request itself is kept only for CORS: the body is no longer needed.
  request.body.clear();
  RegistrationClient::CallerContext caller{request.peer, {}};
  registration_->Register(std::move(rpc), std::move(caller),
                          [this, request = std::move(request), done = std::move(done)](
                              grpc::Status status, clientreg::v1::ClientInformation info) {
                            HttpResponse response;
                            if (status.ok()) {
                              response.status = 201;
                              response.headers.emplace_back("Content-Type", "application/json");
                              // RFC 7591 §3.2.1: the response carries a secret, so it must not be cached.
                              response.headers.emplace_back("Cache-Control", "no-store");
                              response.headers.emplace_back("Pragma", "no-cache");
                              response.body = WriteClientInformation(info);
                            } else {
                              response = ErrorResponseFromGrpc(status);
                            }
                            AddCors(request, response);
                            done(std::move(response));
                          });
}

}  // namespace clientreg::gateway
