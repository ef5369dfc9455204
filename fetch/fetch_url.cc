#include "fetch/fetch_url.h"

#include <curl/curl.h>

#include <charconv>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace clientreg::fetch {
namespace {

struct CurluDeleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};
using Curlu = std::unique_ptr<CURLU, CurluDeleter>;

struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};

// One part of the parsed URL; nullopt when the URL has no such part (or libcurl cannot give it).
std::optional<std::string> Part(CURLU* handle, CURLUPart part, unsigned int flags = 0) {
  char* raw = nullptr;
  if (curl_url_get(handle, part, &raw, flags) != CURLUE_OK || raw == nullptr) return std::nullopt;
  const std::unique_ptr<char, CurlStringDeleter> owned(raw);
  return std::string(raw);
}

absl::Status Invalid(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

}  // namespace

absl::StatusOr<FetchUrl> ParseFetchUrl(std::string_view url, bool allow_loopback_http) {
  const Curlu handle(curl_url());
  if (handle == nullptr) return absl::ResourceExhaustedError("curl_url: out of memory");
  // No CURLU_GUESS_SCHEME and no CURLU_NON_SUPPORT_SCHEME: the URL must be absolute with a scheme libcurl knows.
  const std::string text(url);
  if (text.empty() || text.find('\0') != std::string::npos) return Invalid("the URL is empty or holds a NUL");
  if (const CURLUcode code = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0); code != CURLUE_OK) {
    return Invalid(absl::StrCat("the URL does not parse (", curl_url_strerror(code), ")"));
  }
  const std::string scheme = absl::AsciiStrToLower(Part(handle.get(), CURLUPART_SCHEME).value_or(""));
  // libcurl's parser forgives "https:///host" and "https:/host"; an absolute URL has exactly "scheme://authority".
  const std::size_t authority = scheme.size() + 3;
  if (text.size() <= authority || text.compare(scheme.size(), 3, "://") != 0 || text[authority] == '/' ||
      text[authority] == '\\') {
    return Invalid("the URL is not of the form scheme://host/...");
  }
  if (Part(handle.get(), CURLUPART_USER) || Part(handle.get(), CURLUPART_PASSWORD) ||
      Part(handle.get(), CURLUPART_OPTIONS)) {
    return Invalid("the URL carries userinfo");
  }
  if (Part(handle.get(), CURLUPART_ZONEID)) return Invalid("the URL names an IPv6 zone");

  FetchUrl parsed;
  std::string host = Part(handle.get(), CURLUPART_HOST).value_or("");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(host);
    if (!address.ok()) return Invalid("the URL's IPv6 host does not parse");
    parsed.literal = *address;
  } else if (absl::StatusOr<common::IpAddress> address = common::ParseIpAddress(host); address.ok()) {
    parsed.literal = *address;
  }
  if (host.empty()) return Invalid("the URL has no host");

  const std::optional<std::string> explicit_port = Part(handle.get(), CURLUPART_PORT);
  if (scheme == "http") {
    // Local testing only: the host must be written as loopback, and the port too, so that a default-port http URL
    // (the ordinary web) can never pass.
    const bool loopback_name = host == "127.0.0.1" || absl::EqualsIgnoreCase(host, "localhost");
    if (!allow_loopback_http || !loopback_name || !explicit_port) {
      return Invalid("the URL is not https");
    }
    parsed.loopback_http = true;
  } else if (scheme != "https") {
    return Invalid("the URL is not https");
  }

  const std::string port_text = Part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("");
  unsigned int port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return Invalid("the URL's port is not valid");
  }
  parsed.port = static_cast<uint16_t>(port);
  parsed.host = std::move(host);
  std::optional<std::string> normalized = Part(handle.get(), CURLUPART_URL);
  if (!normalized) return Invalid("the URL cannot be rebuilt");
  parsed.url = std::move(*normalized);
  return parsed;
}

}  // namespace clientreg::fetch
