#include "server/cache_lifetime.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/http_date.h"

namespace clientreg::server {
namespace {

// RFC 9111 §1.2.2: a delta-seconds too big to represent is read as 2^31.
constexpr int64_t kMaxDeltaSeconds = int64_t{1} << 31;

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// tchar (RFC 9110 §5.6.2).
bool IsTchar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && IsOws(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsOws(text.back())) text.remove_suffix(1);
  return text;
}

// delta-seconds = 1*DIGIT (RFC 9111 §1.2.2), saturating at 2^31; nullopt for anything else ("", "-1", "1.5").
std::optional<int64_t> ParseDeltaSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min(kMaxDeltaSeconds, value * 10 + (c - '0'));
  }
  return value;
}

// What a private cache needs from Cache-Control (RFC 9111 §5.2): a comma-separated list of
// `token [ "=" ( token / quoted-string ) ]`, names compared ignoring case, empty elements allowed (RFC 9110 §5.6.1).
struct Directives {
  bool no_store = false;
  bool no_cache = false;
  bool has_max_age = false;
  std::optional<int64_t> max_age;  // nullopt with has_max_age: the first max-age was malformed
};

class CacheControlReader {
 public:
  explicit CacheControlReader(std::string_view text) : text_(text) {}

  Directives Read() {
    Directives directives;
    while (pos_ < text_.size()) {
      SkipOws();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      ReadElement(directives);
    }
    return directives;
  }

 private:
  void SkipOws() {
    while (pos_ < text_.size() && IsOws(text_[pos_])) ++pos_;
  }

  std::string_view Token() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && IsTchar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // A quoted-string (RFC 9110 §5.6.4) starting at the opening quote, unescaped; nullopt if it is not closed.
  std::optional<std::string> QuotedString() {
    std::string value;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return value;
      }
      if (c == '\\') {
        if (++pos_ == text_.size()) break;
      }
      value.push_back(text_[pos_]);
    }
    return std::nullopt;
  }

  // Moves past the rest of a malformed element: to the next comma that is not inside a quoted-string.
  void SkipToComma() {
    while (pos_ < text_.size() && text_[pos_] != ',') {
      if (text_[pos_] == '"') {
        if (!QuotedString().has_value()) return;
      } else {
        ++pos_;
      }
    }
  }

  void ReadElement(Directives& directives) {
    const std::string_view name = Token();
    bool well_formed = !name.empty();
    std::optional<std::string> argument;
    // The grammar has no whitespace around "=" (BWS is not in it), but a stray space is no reason to misread the
    // directive, so it is tolerated.
    SkipOws();
    if (well_formed && pos_ < text_.size() && text_[pos_] == '=') {
      ++pos_;
      SkipOws();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        // RFC 9111 §5.2: recipients ought to accept the quoted form even where senders must use a token, so
        // max-age="60" is 60.
        argument = QuotedString();
        well_formed = argument.has_value();
      } else {
        argument = std::string(Token());
      }
      SkipOws();
    }
    if (pos_ < text_.size() && text_[pos_] != ',') {
      well_formed = false;
      SkipToComma();
    }
    if (name.empty()) return;
    // no-store and no-cache in any form, qualified (no-cache="Set-Cookie") or malformed, make the response
    // unusable without revalidation, and a document cache does not revalidate: RFC 9111 §4.2.1 has the most
    // restrictive directive win when directives conflict.
    if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()), "no-store")) {
      directives.no_store = true;
    } else if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()), "no-cache")) {
      directives.no_cache = true;
    } else if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()), "max-age") &&
               !directives.has_max_age) {
      // RFC 9111 §4.2.1: of several max-age directives the first is used. A malformed one ("max-age", "max-age=",
      // "max-age=-1", "max-age=1.5", "max-age=5x") is invalid freshness information, which §4.2.1 encourages a
      // cache to read as stale; it is not skipped in favour of Expires, whose job max-age exists to override.
      directives.has_max_age = true;
      if (well_formed && argument.has_value()) directives.max_age = ParseDeltaSeconds(*argument);
    }
    // s-maxage applies to shared caches only (RFC 9111 §5.2.2.10); this is a private one. Other directives
    // (private, public, must-revalidate, unknown extensions) do not change a private cache's freshness lifetime.
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// RFC 9111 §5.1: an Age that is not a non-negative integer is ignored; of a list, the first member counts.
absl::Duration AgeOf(std::string_view age) {
  const std::optional<int64_t> seconds = ParseDeltaSeconds(TrimOws(age.substr(0, age.find(','))));
  return seconds.has_value() ? absl::Seconds(*seconds) : absl::ZeroDuration();
}

}  // namespace

std::optional<absl::Duration> CacheLifetime(const CacheHeaders& headers, absl::Time now) {
  const Directives directives = CacheControlReader(headers.cache_control).Read();
  absl::Duration lifetime;
  if (directives.no_store || directives.no_cache) {
    lifetime = absl::ZeroDuration();
  } else if (directives.has_max_age) {
    lifetime = directives.max_age.has_value() ? absl::Seconds(*directives.max_age) : absl::ZeroDuration();
  } else if (const std::string_view expires = TrimOws(headers.expires); !expires.empty()) {
    // RFC 9111 §5.3: an invalid Expires, "0" above all, is a time in the past. Expires minus Date, not minus
    // `now`: the origin's clock measures both, so a skewed clock on either side cancels out (RFC 9111 §4.2.1).
    const absl::StatusOr<absl::Time> expires_at = common::ParseHttpDate(expires);
    if (!expires_at.ok()) return absl::ZeroDuration();
    const absl::StatusOr<absl::Time> date = common::ParseHttpDate(headers.date);
    lifetime = *expires_at - (date.ok() ? *date : now);
  } else {
    return std::nullopt;
  }
  return std::max(absl::ZeroDuration(), lifetime - AgeOf(headers.age));
}

absl::Duration ClampedCacheLifetime(const CacheHeaders& headers, absl::Time now, absl::Duration min,
                                    absl::Duration max) {
  const std::optional<absl::Duration> lifetime = CacheLifetime(headers, now);
  if (!lifetime.has_value()) return min;
  // Not std::clamp, whose behaviour is undefined when min > max: here min wins.
  return std::max(min, std::min(max, *lifetime));
}

}  // namespace clientreg::server
