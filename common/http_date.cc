#include "common/http_date.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"

namespace clientreg::common {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A left-to-right reader over the fixed-width grammar of RFC 9110 §5.6.7; every step fails once any step failed.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : rest_(text) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && rest_.empty(); }

  void Literal(std::string_view literal) {
    if (ok_ && rest_.substr(0, literal.size()) == literal) {
      rest_.remove_prefix(literal.size());
    } else {
      ok_ = false;
    }
  }

  // Exactly `width` digits; a space stands for a leading zero when `space_padded` (asctime's day).
  int Digits(int width, bool space_padded = false) {
    int value = 0;
    for (int i = 0; i < width; ++i) {
      const char c = ok_ && !rest_.empty() ? rest_.front() : '\0';
      if (c >= '0' && c <= '9') {
        value = value * 10 + (c - '0');
      } else if (!(space_padded && c == ' ' && i + 1 < width)) {
        ok_ = false;
        return 0;
      }
      rest_.remove_prefix(1);
    }
    return value;
  }

  // The index of the three-letter name in `names` that comes next.
  template <std::size_t N>
  int Name(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; ok_ && i < N; ++i) {
      if (rest_.substr(0, 3) == names[i]) {
        rest_.remove_prefix(3);
        return static_cast<int>(i);
      }
    }
    ok_ = false;
    return 0;
  }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

struct DateFields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

absl::StatusOr<absl::Time> ToTime(const DateFields& f) {
  // CivilSecond normalizes out-of-range fields (31 Apr becomes 1 May), so a date that changes is one that does not
  // exist. RFC 9110's `second` allows 60 (a leap second); it is read as the next second, which is when it ended.
  const bool leap_second = f.second == 60;
  const absl::CivilSecond civil(f.year, f.month, f.day, f.hour, f.minute, leap_second ? 59 : f.second);
  if (civil.year() != f.year || civil.month() != f.month || civil.day() != f.day || civil.hour() != f.hour ||
      civil.minute() != f.minute || civil.second() != (leap_second ? 59 : f.second)) {
    return absl::InvalidArgumentError("is not an HTTP-date: no such date or time of day");
  }
  return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Seconds(leap_second ? 1 : 0);
}

// time-of-day = hour ":" minute ":" second, two digits each.
void ReadTimeOfDay(DateReader& in, DateFields& f) {
  f.hour = in.Digits(2);
  in.Literal(":");
  f.minute = in.Digits(2);
  in.Literal(":");
  f.second = in.Digits(2);
}

// IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT, date1 = day SP month SP year (RFC 9110 §5.6.7).
std::optional<DateFields> ReadImfFixdate(std::string_view text) {
  DateReader in(text);
  DateFields f;
  in.Name(kDays);
  in.Literal(", ");
  f.day = in.Digits(2);
  in.Literal(" ");
  f.month = in.Name(kMonths) + 1;
  in.Literal(" ");
  f.year = in.Digits(4);
  in.Literal(" ");
  ReadTimeOfDay(in, f);
  in.Literal(" GMT");
  if (!in.done()) return std::nullopt;
  return f;
}

// asctime-date = day-name SP date3 SP time-of-day SP year, date3 = month SP ( 2DIGIT / ( SP DIGIT ) ).
std::optional<DateFields> ReadAsctime(std::string_view text) {
  DateReader in(text);
  DateFields f;
  in.Name(kDays);
  in.Literal(" ");
  f.month = in.Name(kMonths) + 1;
  in.Literal(" ");
  f.day = in.Digits(2, /*space_padded=*/true);
  in.Literal(" ");
  ReadTimeOfDay(in, f);
  in.Literal(" ");
  f.year = in.Digits(4);
  if (!in.done()) return std::nullopt;
  return f;
}

std::string_view TrimSpacesAndTabs(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string HttpDate(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7].data(), tm.tm_mday,
                kMonths[tm.tm_mon % 12].data(), tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

absl::StatusOr<absl::Time> ParseHttpDate(std::string_view text) {
  text = TrimSpacesAndTabs(text);
  std::optional<DateFields> fields = ReadImfFixdate(text);
  if (!fields.has_value()) fields = ReadAsctime(text);
  if (!fields.has_value()) {
    return absl::InvalidArgumentError(
        "is not an HTTP-date (IMF-fixdate such as \"Sun, 06 Nov 1994 08:49:37 GMT\", or asctime)");
  }
  return ToTime(*fields);
}

}  // namespace clientreg::common
