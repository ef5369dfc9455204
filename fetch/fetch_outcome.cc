#include "fetch/https_fetcher.h"

namespace clientreg::fetch {

std::string_view FetchOutcomeName(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::kOk:
      return "ok";
    case FetchOutcome::kInvalidUrl:
      return "invalid_url";
    case FetchOutcome::kResolveFailed:
      return "resolve_failed";
    case FetchOutcome::kForbiddenAddress:
      return "forbidden_address";
    case FetchOutcome::kConnectFailed:
      return "connect_failed";
    case FetchOutcome::kTlsFailed:
      return "tls_failed";
    case FetchOutcome::kTimeout:
      return "timeout";
    case FetchOutcome::kTooLarge:
      return "too_large";
    case FetchOutcome::kRedirect:
      return "redirect";
    case FetchOutcome::kHttpStatus:
      return "http_status";
    case FetchOutcome::kNotJson:
      return "not_json";
    case FetchOutcome::kNetworkError:
      break;
  }
  return "network_error";
}

}  // namespace clientreg::fetch
