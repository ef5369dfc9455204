#ifndef CLIENTREG_GATEWAY_ROUTE_H_
#define CLIENTREG_GATEWAY_ROUTE_H_

#include <cstddef>
#include <string_view>

namespace clientreg::gateway {

// The public endpoints, as metrics and logs name them: a small fixed set, never the raw path.
enum class Route {
  kRegister,             // P/oauth/register
  kClientConfiguration,  // P/oauth/register/{client_id}
  kDiscovery,            // the well-known metadata documents
  kOpenApi,              // /openapi.json
  kHealthz,              // /healthz
  kReadyz,               // /readyz
  kOther,                // anything else, and requests refused before their target was read
};

inline constexpr std::size_t kRouteCount = 7;
static_assert(static_cast<std::size_t>(Route::kOther) + 1 == kRouteCount, "kRouteCount counts every Route");

// The label of `route`: "register", "client_configuration", "discovery", "openapi", "healthz", "readyz", "other".
constexpr std::string_view RouteLabel(Route route) {
  switch (route) {
    case Route::kRegister:
      return "register";
    case Route::kClientConfiguration:
      return "client_configuration";
    case Route::kDiscovery:
      return "discovery";
    case Route::kOpenApi:
      return "openapi";
    case Route::kHealthz:
      return "healthz";
    case Route::kReadyz:
      return "readyz";
    case Route::kOther:
      break;
  }
  return "other";
}

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_ROUTE_H_
