#ifndef CLIENTREG_FETCH_HTTPS_FETCHER_H_
#define CLIENTREG_FETCH_HTTPS_FETCHER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ip_network.h"

namespace clientreg::fetch {

// How one fetch ended; the names (FetchOutcomeName) are metric label values and never change.
enum class FetchOutcome {
  kOk,                // a 200 with a JSON content type and a body within the cap
  kInvalidUrl,        // not an absolute https URL (or allowed loopback http) this fetcher will try
  kResolveFailed,     // the name did not resolve (or resolved to nothing)
  kForbiddenAddress,  // the name resolves to, or the connection would go to, a special-use address
  kConnectFailed,     // no TCP connection could be made
  kTlsFailed,         // handshake or certificate verification failed
  kTimeout,           // the connect or the total timeout ran out
  kTooLarge,          // Content-Length or the bytes read exceed max_body_bytes, or the head exceeds 16 KiB
  kRedirect,          // a 3xx: never followed
  kHttpStatus,        // any other status than 200
  kNotJson,           // a 200 whose Content-Type is not application/json or application/*+json, or whose body
                      // has a Content-Encoding (none is asked for)
  kNetworkError,      // the exchange broke off some other way
};
std::string_view FetchOutcomeName(FetchOutcome outcome);

// A 200 answer.
struct FetchedDocument {
  std::string body;
  std::string content_type;
  // Header values as received (empty if absent), for the caller's cache lifetime: the last occurrence of each, but
  // every Cache-Control joined with ", ".
  std::string cache_control;
  std::string expires;
  std::string date;
  std::string age;
  // The address the document came from.
  common::IpAddress peer;
};

struct FetchResult {
  FetchOutcome outcome = FetchOutcome::kNetworkError;
  // For logs, one sentence: what went wrong (status code, address block, curl's error); never the body.
  std::string detail;
  int http_status = 0;       // 0 when no answer came
  absl::Duration elapsed;    // from the call to the end
  FetchedDocument document;  // meaningful only for kOk
};

// Resolves a host name to its addresses. The default uses getaddrinfo; tests inject their own.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual absl::StatusOr<std::vector<common::IpAddress>> Resolve(std::string_view host) = 0;
};
std::unique_ptr<Resolver> SystemResolver();

// Whether the fetcher may connect to `address`: nullopt if it may, else why not (a short phrase). The default is
// common::SpecialUseReason.
using AddressPolicy = std::function<std::optional<std::string>(const common::IpAddress& address)>;

struct FetcherOptions {
  std::size_t max_body_bytes = 5 * 1024;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration total_timeout = absl::Seconds(5);
  // A PEM bundle trusted in addition to the system store (tests); empty for the system store alone. Read once, by
  // the constructor: if it cannot be read, every fetch fails with kTlsFailed.
  std::string ca_file;
  // Also allow http://127.0.0.1:PORT/... and http://localhost:PORT/... (loopback only, port required): local testing.
  bool allow_loopback_http = false;
  std::string user_agent = "clientreg";
  // Null means the system resolver; must be thread-safe.
  std::shared_ptr<Resolver> resolver;
  // Null means common::SpecialUseReason; must be thread-safe. allow_loopback_http lets loopback addresses through
  // for those http URLs only, whatever this says.
  AddressPolicy address_policy;
};

// A small outbound HTTPS client that knows nothing of OAuth: GET one URL, https only, no redirects followed, only a
// 200 with a JSON content type counts, a size cap enforced while reading, connect and total timeouts, TLS verified.
// The name is resolved once per fetch (by the Resolver) and the connection may go only to those addresses, each
// checked by the AddressPolicy when the socket is opened, so a DNS answer that changes between check and connect
// (rebinding) cannot slip past it. A name with any refused address is refused whole.
//
// Thread-safe; Fetch blocks the calling thread for at most total_timeout (plus resolution).
class HttpsFetcher {
 public:
  explicit HttpsFetcher(FetcherOptions options);
  ~HttpsFetcher();
  HttpsFetcher(const HttpsFetcher&) = delete;
  HttpsFetcher& operator=(const HttpsFetcher&) = delete;

  FetchResult Fetch(std::string_view url) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clientreg::fetch

#endif  // CLIENTREG_FETCH_HTTPS_FETCHER_H_
