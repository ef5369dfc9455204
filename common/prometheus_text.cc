#include "common/prometheus_text.h"

#include <charconv>
#include <cmath>

namespace clientreg::common {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// The format escapes backslash and newline everywhere, and the double quote only inside label values.
void AppendEscaped(std::string& out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

template <typename Number, typename... Format>
std::string ToChars(Number value, Format... format) {
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value, format...);
  return std::string(buffer, result.ptr);
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || IsAsciiDigit(name.front())) return false;
  for (const char c : name) {
    if (!IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '_' && c != ':') return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || IsAsciiDigit(name.front()) || name.starts_with("__")) return false;
  for (const char c : name) {
    if (!IsAsciiLetter(c) && !IsAsciiDigit(c) && c != '_') return false;
  }
  return true;
}

std::string FormatSampleValue(uint64_t value) { return ToChars(value); }

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral doubles below 2^63 convert to int64 exactly; printed as integers, a gauge holding a count reads "1000000"
  // rather than "1e+06". Past 2^63 the shortest form, with its exponent, is also the only readable one.
  const double magnitude = std::fabs(value);
  if (magnitude < 0x1p63 && value == std::trunc(value)) return ToChars(static_cast<int64_t>(value));
  // std::to_chars with a format and no precision gives the shortest digits that round-trip. Fixed from 1e-4 up, as
  // Go's 'g' does, so bucket bounds such as 0.0005 read as le="0.0005", the spelling Go clients use for the same bound.
  // Every double from 2^53 up is an integer, so a fixed form here has at most 16 digits before the point.
  return ToChars(value,
                 magnitude >= 1e-4 && magnitude < 0x1p63 ? std::chars_format::fixed : std::chars_format::scientific);
}

void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view help, MetricType type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, std::string_view value, std::string_view le) {
  out += name;
  if (!label_names.empty() || !le.empty()) {
    char separator = '{';
    for (size_t i = 0; i < label_names.size(); ++i) {
      out += separator;
      out += label_names[i];
      out += "=\"";
      AppendEscaped(out, label_values[i], /*escape_quote=*/true);
      out += '"';
      separator = ',';
    }
    if (!le.empty()) {
      out += separator;
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace clientreg::common
