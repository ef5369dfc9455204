#include "fetch/https_fetcher.h"

// Why libcurl: it gives HTTP/1.1 over TLS verified against the system store, connect and total timeouts, and the
// hooks this fetcher needs (pinned name resolution, a callback on every socket it opens, header and body callbacks
// that can stop a transfer), and Debian ships and patches it (libcurl4-openssl-dev 7.88). Its easy interface blocks
// the calling thread, which is what Fetch promises.

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/special_use_address.h"
#include "fetch/fetch_url.h"
#include "fetch/response_head.h"
#include "fetch/socket_address.h"

namespace clientreg::fetch {
namespace {

// The whole response head (status line, fields, trailers) may take this many bytes; more is kTooLarge. Metadata
// documents need a handful of short fields, and a server that sends more is not one we want to hear from.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr const char* kFallbackSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

// curl_global_init is not thread-safe and must run before any other thread uses libcurl; once per process.
CURLcode GlobalInitResult() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

std::string ToStd(absl::string_view text) { return std::string(text.data(), text.size()); }

// Header values come from the server: keep them short and printable before they reach a log line.
std::string Printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (const char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMax) out += "...";
  return out;
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) return std::nullopt;
  return content.str();
}

bool IsLoopback(const common::IpAddress& address) {
  static const common::IpAddress kV4 = *common::ParseIpAddress("127.0.0.1");
  static const common::IpAddress kV6 = *common::ParseIpAddress("::1");
  return address == kV4 || address == kV6;
}

// Why the fetcher may not connect to `address` for `target`, or nullopt.
std::optional<std::string> Refusal(const FetchUrl& target, const AddressPolicy& policy,
                                   const common::IpAddress& address) {
  // allow_loopback_http: plain http may go to loopback and nowhere else, whatever the policy says.
  if (target.loopback_http) {
    return IsLoopback(address) ? std::nullopt : std::optional<std::string>("not loopback, for plain http");
  }
  return policy(address);
}

// The state one transfer shares with its libcurl callbacks.
struct Transfer {
  const FetchUrl* target = nullptr;
  const AddressPolicy* policy = nullptr;
  const std::vector<common::IpAddress>* pinned = nullptr;
  std::size_t max_body_bytes = 0;

  ResponseHeadReader head_reader;
  bool head_checked = false;
  std::size_t header_bytes = 0;
  std::string body;

  // Set by the callback that stopped the transfer; it says more than the libcurl error the stop causes.
  std::optional<FetchOutcome> stopped;
  std::string stopped_detail;

  void Stop(FetchOutcome outcome, std::string detail) {
    if (stopped) return;
    stopped = outcome;
    stopped_detail = std::move(detail);
  }
};

// Decides on the final response's head before any of its body is read.
void CheckHead(Transfer& transfer) {
  const ResponseHead& head = transfer.head_reader.head();
  if (head.status >= 300 && head.status < 400) {
    transfer.Stop(FetchOutcome::kRedirect,
                  absl::StrCat("the server answered ", head.status, ", a redirect (not followed)"));
  } else if (head.status != 200) {
    transfer.Stop(FetchOutcome::kHttpStatus, absl::StrCat("the server answered ", head.status));
  } else if (!IsJsonContentType(head.content_type)) {
    transfer.Stop(FetchOutcome::kNotJson,
                  absl::StrCat("the Content-Type is \"", Printable(head.content_type), "\", not JSON"));
  } else if (!head.content_encoding.empty() && head.content_encoding != "identity") {
    // No Accept-Encoding is sent, so an encoded body is one the server was not asked for and the cap would not see.
    transfer.Stop(FetchOutcome::kNotJson,
                  absl::StrCat("the body has Content-Encoding \"", Printable(head.content_encoding), "\""));
  } else if (head.content_length && *head.content_length > transfer.max_body_bytes) {
    transfer.Stop(FetchOutcome::kTooLarge, absl::StrCat("Content-Length ", *head.content_length, " exceeds the cap of ",
                                                        transfer.max_body_bytes, " bytes"));
  }
}

// Returning anything but `size * count` makes libcurl stop with CURLE_WRITE_ERROR.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  Transfer& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  transfer.header_bytes += bytes;
  if (transfer.header_bytes > kMaxHeaderBytes) {
    transfer.Stop(FetchOutcome::kTooLarge, absl::StrCat("the response head exceeds ", kMaxHeaderBytes, " bytes"));
    return 0;
  }
  if (transfer.head_reader.Add(std::string_view(data, bytes)) && !transfer.head_checked) {
    transfer.head_checked = true;
    CheckHead(transfer);
  }
  return transfer.stopped ? 0 : bytes;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  Transfer& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer.stopped) return 0;
  if (bytes > transfer.max_body_bytes - transfer.body.size()) {
    transfer.Stop(FetchOutcome::kTooLarge,
                  absl::StrCat("the body exceeds the cap of ", transfer.max_body_bytes, " bytes"));
    return 0;
  }
  transfer.body.append(data, bytes);
  return bytes;
}

// Every socket libcurl opens passes here, so the address actually connected to is checked, not only the one the
// resolver gave: a second look that holds even if libcurl were to find an address some other way.
curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  Transfer& transfer = *static_cast<Transfer*>(user);
  // One refused address refuses the whole fetch: no falling back to the next address.
  if (transfer.stopped) return CURL_SOCKET_BAD;
  const std::optional<common::IpAddress> ip =
      purpose == CURLSOCKTYPE_IPCXN ? IpAddressOf(&address->addr, address->addrlen) : std::nullopt;
  if (!ip) {
    transfer.Stop(FetchOutcome::kForbiddenAddress, "the connection would not go to an IP address");
    return CURL_SOCKET_BAD;
  }
  if (std::find(transfer.pinned->begin(), transfer.pinned->end(), *ip) == transfer.pinned->end()) {
    transfer.Stop(FetchOutcome::kForbiddenAddress,
                  absl::StrCat("the connection would go to ", ip->ToString(), ", not an address the name resolved to"));
    return CURL_SOCKET_BAD;
  }
  if (const std::optional<std::string> reason = Refusal(*transfer.target, *transfer.policy, *ip)) {
    transfer.Stop(FetchOutcome::kForbiddenAddress,
                  absl::StrCat("the connection would go to a special-use address (", *reason, "): ", ip->ToString()));
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// The name is pinned with CURLOPT_RESOLVE, so libcurl has no reason to resolve anything; if it tries (a host spelt
// differently from the pinned entry), it is stopped rather than left to use DNS answers nobody checked.
int OnResolverStart(void*, void*, void* user) {
  static_cast<Transfer*>(user)->Stop(FetchOutcome::kResolveFailed, "libcurl tried to resolve the name itself");
  return 1;
}

// The one place a libcurl error becomes a FetchOutcome.
FetchOutcome OutcomeOfCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return FetchOutcome::kOk;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return FetchOutcome::kInvalidUrl;
    case CURLE_COULDNT_RESOLVE_HOST:
      return FetchOutcome::kResolveFailed;
    case CURLE_COULDNT_CONNECT:
      return FetchOutcome::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      return FetchOutcome::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_USE_SSL_FAILED:
      return FetchOutcome::kTlsFailed;
    case CURLE_FILESIZE_EXCEEDED:
      return FetchOutcome::kTooLarge;
    default:
      return FetchOutcome::kNetworkError;
  }
}

// Collects the first failure of a run of curl_easy_setopt calls.
class EasyOptions {
 public:
  explicit EasyOptions(CURL* easy) : easy_(easy) {}
  template <typename T>
  void Set(CURLoption option, T value) {
    if (code_ == CURLE_OK) code_ = curl_easy_setopt(easy_, option, value);
  }
  CURLcode code() const { return code_; }

 private:
  CURL* easy_;
  CURLcode code_ = CURLE_OK;
};

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool Append(Slist& list, const std::string& line) {
  curl_slist* longer = curl_slist_append(list.get(), line.c_str());
  if (longer == nullptr) return false;
  list.release();
  list.reset(longer);
  return true;
}

// A result without a document: any outcome but kOk, or kOk before its document is filled in.
FetchResult ResultOf(FetchOutcome outcome, std::string detail) {
  FetchResult result;
  result.outcome = outcome;
  result.detail = std::move(detail);
  return result;
}

// How a transfer ended, before any document is attached.
FetchResult Ending(Transfer& transfer, CURLcode code, const char* error_text) {
  // A callback's reason says more than the write error its stop makes libcurl report.
  if (transfer.stopped) return ResultOf(*transfer.stopped, std::move(transfer.stopped_detail));
  if (code != CURLE_OK) {
    return ResultOf(OutcomeOfCurlCode(code),
                    absl::StrCat("libcurl: ", error_text[0] != '\0' ? error_text : curl_easy_strerror(code)));
  }
  if (!transfer.head_checked)
    return ResultOf(FetchOutcome::kNetworkError, "the transfer ended without a response head");
  return ResultOf(FetchOutcome::kOk, absl::StrCat("fetched ", transfer.body.size(), " bytes"));
}

long Milliseconds(absl::Duration duration) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(duration)));
}

}  // namespace

struct HttpsFetcher::Impl {
  FetcherOptions options;
  std::shared_ptr<Resolver> resolver;
  AddressPolicy policy;
  // The system bundle followed by ca_file, given to libcurl as a blob because CURLOPT_CAINFO would replace the
  // system bundle rather than add to it. Empty when ca_file is empty: libcurl's own default store.
  std::string ca_bundle;
  // Why ca_file could not be used; every fetch fails with it, as a fetch that trusted less than asked would.
  std::string ca_error;

  // Fetch without the timing.
  FetchResult Check(std::string_view url) const;
  // The transfer itself, once the URL and its addresses have passed.
  FetchResult Perform(const FetchUrl& target, const std::vector<common::IpAddress>& addresses) const;
};

HttpsFetcher::HttpsFetcher(FetcherOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->resolver = impl_->options.resolver ? impl_->options.resolver : std::shared_ptr<Resolver>(SystemResolver());
  impl_->policy = impl_->options.address_policy;
  if (!impl_->policy) {
    impl_->policy = [](const common::IpAddress& address) -> std::optional<std::string> {
      const std::optional<std::string_view> reason = common::SpecialUseReason(address);
      return reason ? std::optional<std::string>(*reason) : std::nullopt;
    };
  }
  if (GlobalInitResult() != CURLE_OK || impl_->options.ca_file.empty()) return;
  const std::optional<std::string> extra = ReadWholeFile(impl_->options.ca_file);
  if (!extra || extra->empty()) {
    impl_->ca_error = "the ca_file cannot be read";
    return;
  }
  const curl_version_info_data* version = curl_version_info(CURLVERSION_NOW);
  const char* system_path = version != nullptr && version->cainfo != nullptr ? version->cainfo : kFallbackSystemBundle;
  // A host without a system bundle still trusts ca_file; the system store then adds nothing anyway.
  impl_->ca_bundle = ReadWholeFile(system_path).value_or("");
  impl_->ca_bundle += "\n";
  impl_->ca_bundle += *extra;
}

HttpsFetcher::~HttpsFetcher() = default;

FetchResult HttpsFetcher::Fetch(std::string_view url) const {
  const auto start = std::chrono::steady_clock::now();
  FetchResult result = impl_->Check(url);
  result.elapsed = absl::FromChrono(std::chrono::steady_clock::now() - start);
  return result;
}

FetchResult HttpsFetcher::Impl::Check(std::string_view url) const {
  if (const CURLcode init = GlobalInitResult(); init != CURLE_OK) {
    return ResultOf(FetchOutcome::kNetworkError, absl::StrCat("curl_global_init failed: ", curl_easy_strerror(init)));
  }
  absl::StatusOr<FetchUrl> target = ParseFetchUrl(url, options.allow_loopback_http);
  if (!target.ok()) return ResultOf(FetchOutcome::kInvalidUrl, ToStd(target.status().message()));
  std::vector<common::IpAddress> addresses;
  if (target->literal) {
    addresses.push_back(*target->literal);
  } else {
    absl::StatusOr<std::vector<common::IpAddress>> resolved = resolver->Resolve(target->host);
    if (!resolved.ok()) {
      return ResultOf(FetchOutcome::kResolveFailed,
                      absl::StrCat("the name did not resolve: ", ToStd(resolved.status().message())));
    }
    if (resolved->empty()) return ResultOf(FetchOutcome::kResolveFailed, "the name resolved to no address");
    addresses = *std::move(resolved);
  }
  for (const common::IpAddress& address : addresses) {
    if (const std::optional<std::string> reason = Refusal(*target, policy, address)) {
      return ResultOf(FetchOutcome::kForbiddenAddress,
                      absl::StrCat(target->literal ? "the URL's host is" : "the name resolves to",
                                   " a special-use address (", *reason, "): ", address.ToString()));
    }
  }
  if (!ca_error.empty()) return ResultOf(FetchOutcome::kTlsFailed, ca_error);
  return Perform(*target, addresses);
}

FetchResult HttpsFetcher::Impl::Perform(const FetchUrl& target, const std::vector<common::IpAddress>& addresses) const {
  const std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  Slist headers;
  Slist resolve;
  if (easy == nullptr || !Append(headers, "Accept: application/json")) {
    return ResultOf(FetchOutcome::kNetworkError, "libcurl could not set up a transfer");
  }
  Transfer transfer;
  transfer.target = &target;
  transfer.policy = &policy;
  transfer.pinned = &addresses;
  transfer.max_body_bytes = options.max_body_bytes;
  char error_text[CURL_ERROR_SIZE] = {};
  const char* protocols = target.loopback_http ? "http" : "https";

  EasyOptions set(easy.get());
  set.Set(CURLOPT_ERRORBUFFER, error_text);
  set.Set(CURLOPT_URL, target.url.c_str());
  set.Set(CURLOPT_NOSIGNAL, 1L);
  set.Set(CURLOPT_PROTOCOLS_STR, protocols);
  set.Set(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  set.Set(CURLOPT_FOLLOWLOCATION, 0L);
  // An empty proxy turns off the *_proxy environment variables, which would otherwise send the request elsewhere.
  set.Set(CURLOPT_PROXY, "");
  set.Set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set.Set(CURLOPT_FRESH_CONNECT, 1L);
  set.Set(CURLOPT_FORBID_REUSE, 1L);
  set.Set(CURLOPT_CONNECTTIMEOUT_MS, Milliseconds(options.connect_timeout));
  set.Set(CURLOPT_TIMEOUT_MS, Milliseconds(options.total_timeout));
  set.Set(CURLOPT_SSL_VERIFYPEER, 1L);
  set.Set(CURLOPT_SSL_VERIFYHOST, 2L);
  set.Set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_blob bundle{};
  if (!ca_bundle.empty()) {
    // Fetch is const but the blob is never written: libcurl only reads it, and NOCOPY saves a copy per fetch.
    bundle = {const_cast<char*>(ca_bundle.data()), ca_bundle.size(), CURL_BLOB_NOCOPY};
    set.Set(CURLOPT_CAINFO_BLOB, &bundle);
  }
  set.Set(CURLOPT_USERAGENT, options.user_agent.c_str());
  set.Set(CURLOPT_HTTPHEADER, headers.get());
  // The name's addresses, already checked, so that libcurl does no resolving of its own (IP literals need none).
  if (!target.literal) {
    std::vector<std::string> texts;
    for (const common::IpAddress& address : addresses) {
      texts.push_back(address.is_v4() ? address.ToString() : absl::StrCat("[", address.ToString(), "]"));
    }
    if (!Append(resolve, absl::StrCat(target.host, ":", target.port, ":", absl::StrJoin(texts, ",")))) {
      return ResultOf(FetchOutcome::kNetworkError, "libcurl could not set up a transfer");
    }
    set.Set(CURLOPT_RESOLVE, resolve.get());
    set.Set(CURLOPT_RESOLVER_START_FUNCTION, &OnResolverStart);
    set.Set(CURLOPT_RESOLVER_START_DATA, &transfer);
  }
  set.Set(CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
  set.Set(CURLOPT_OPENSOCKETDATA, &transfer);
  set.Set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set.Set(CURLOPT_HEADERDATA, &transfer);
  set.Set(CURLOPT_WRITEFUNCTION, &OnBody);
  set.Set(CURLOPT_WRITEDATA, &transfer);
  if (set.code() != CURLE_OK) {
    return ResultOf(FetchOutcome::kNetworkError,
                    absl::StrCat("libcurl refused an option: ", curl_easy_strerror(set.code())));
  }

  const CURLcode code = curl_easy_perform(easy.get());
  FetchResult result = Ending(transfer, code, error_text);
  const ResponseHead& head = transfer.head_reader.head();
  if (transfer.head_checked) result.http_status = head.status;
  if (result.outcome != FetchOutcome::kOk) return result;
  char* primary_ip = nullptr;
  if (curl_easy_getinfo(easy.get(), CURLINFO_PRIMARY_IP, &primary_ip) == CURLE_OK && primary_ip != nullptr) {
    if (absl::StatusOr<common::IpAddress> peer = common::ParseIpAddress(primary_ip); peer.ok()) {
      result.document.peer = *peer;
    }
  }
  result.document.body = std::move(transfer.body);
  result.document.content_type = head.content_type;
  result.document.cache_control = head.cache_control;
  result.document.expires = head.expires;
  result.document.date = head.date;
  result.document.age = head.age;
  return result;
}

}  // namespace clientreg::fetch
