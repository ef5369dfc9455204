#include "fetch/response_head.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace clientreg::fetch {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool NameIs(std::string_view name, std::string_view expected) {
  return absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()),
                                absl::string_view(expected.data(), expected.size()));
}

// "HTTP/1.1 200 OK" -> 200; 0 if the line is not a status line.
int StatusOf(std::string_view line) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || line.size() < space + 4) return 0;
  const std::string_view code = line.substr(space + 1, 3);
  int status = 0;
  const auto [end, error] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (error != std::errc() || end != code.data() + code.size() || status < 100 || status > 999) return 0;
  return status;
}

}  // namespace

bool ResponseHeadReader::Add(std::string_view line) {
  if (complete_) return true;
  if (line.starts_with("HTTP/")) {
    // A new head starts: whatever an interim response said does not describe the final one.
    head_ = ResponseHead{};
    head_.status = StatusOf(line);
    return false;
  }
  const std::string_view content = Trim(line);
  if (content.empty()) {
    // The end of a head; a 1xx head is followed by another.
    complete_ = head_.status >= 200;
    return complete_;
  }
  const std::size_t colon = content.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view name = content.substr(0, colon);
  const std::string value(Trim(content.substr(colon + 1)));
  if (NameIs(name, "Content-Type")) {
    head_.content_type = value;
  } else if (NameIs(name, "Content-Encoding")) {
    head_.content_encoding = value;
  } else if (NameIs(name, "Cache-Control")) {
    if (!head_.cache_control.empty() && !value.empty()) head_.cache_control += ", ";
    head_.cache_control += value;
  } else if (NameIs(name, "Expires")) {
    head_.expires = value;
  } else if (NameIs(name, "Date")) {
    head_.date = value;
  } else if (NameIs(name, "Age")) {
    head_.age = value;
  } else if (NameIs(name, "Content-Length")) {
    uint64_t length = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (error == std::errc() && end == value.data() + value.size()) head_.content_length = length;
  }
  return false;
}

bool IsJsonContentType(std::string_view value) {
  std::string media_type(Trim(value.substr(0, value.find(';'))));
  absl::AsciiStrToLower(&media_type);
  if (media_type == "application/json") return true;
  constexpr std::string_view kPrefix = "application/";
  constexpr std::string_view kSuffix = "+json";
  if (!media_type.starts_with(kPrefix) || !media_type.ends_with(kSuffix)) return false;
  const std::string_view subtype =
      std::string_view(media_type).substr(kPrefix.size(), media_type.size() - kPrefix.size() - kSuffix.size());
  if (subtype.empty()) return false;
  for (const char c : subtype) {
    // RFC 6838 §4.2 restricted-name characters.
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace clientreg::fetch
