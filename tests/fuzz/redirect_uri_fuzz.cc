// The URI parser and the redirect URI rules on arbitrary strings: never a crash; a parsed URI is exactly its
// components put back together (nothing dropped, added or decoded); every URI the redirect rules accept parses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/uri.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Recompose(const clientreg::server::Uri& uri) {
  std::string text = uri.scheme + ":";
  if (uri.host_kind != clientreg::server::HostKind::kNone) {
    text += "//";
    if (uri.userinfo.has_value()) text += *uri.userinfo + "@";
    text += uri.host;
    if (uri.port.has_value()) text += ":" + *uri.port;
  }
  text += uri.path;
  if (uri.query.has_value()) text += "?" + *uri.query;
  if (uri.fragment.has_value()) text += "#" + *uri.fragment;
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using clientreg::server::PrivateUseSchemes;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto uri = clientreg::server::ParseUri(text);
  if (uri.ok()) {
    FUZZ_CHECK(Recompose(*uri) == text);
  } else {
    FUZZ_CHECK(uri.status().code() == absl::StatusCode::kInvalidArgument);
  }
  const auto any = clientreg::server::ClassifyRedirectUri(text, PrivateUseSchemes::kAny);
  const auto strict = clientreg::server::ClassifyRedirectUri(text, PrivateUseSchemes::kReverseDomainOnly);
  FUZZ_CHECK(!any.ok() || uri.ok());
  // The strict policy only ever narrows: what it accepts, the open one accepts as the same kind.
  FUZZ_CHECK(!strict.ok() || (any.ok() && *any == *strict));
  // A redirect URI never carries a fragment or userinfo (RFC 6749 §3.1.2, spec.md §6).
  if (any.ok()) FUZZ_CHECK(!uri->fragment.has_value() && !uri->userinfo.has_value());
  return 0;
}
