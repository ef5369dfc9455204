#ifndef CLIENTREG_COMMON_PROMETHEUS_TEXT_H_
#define CLIENTREG_COMMON_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

// The pieces of the Prometheus text exposition format 0.0.4 (the "Text format details" of Prometheus'
// exposition_formats.md): names, escaping, numbers and lines. MetricsRegistry::Encode is built from them.
namespace clientreg::common {

enum class MetricType { kCounter, kGauge, kHistogram };

// True if `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view name);

// True if `name` matches [a-zA-Z_][a-zA-Z0-9_]* and does not start with "__" (reserved for Prometheus itself).
bool IsValidLabelName(std::string_view name);

// A counter's value: the exact decimal integer.
std::string FormatSampleValue(uint64_t value);

// A float sample value or `le` bound, in the form Go's strconv.FormatFloat(v, 'g', -1, 64) gives small numbers:
// integers below 2^63 in magnitude as plain integers ("0", "-3", "1000000"); other finite values in the shortest form
// that parses back to the same double, fixed for magnitudes from 1e-4 up ("0.005", "2.5") and with an exponent
// otherwise ("1e-06", "1e+20"); "+Inf", "-Inf" and "NaN".
std::string FormatSampleValue(double value);

// Appends "# HELP name help\n# TYPE name type\n", with backslash and newline in `help` escaped as \\ and \n.
void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view help, MetricType type);

// Appends one sample line: `name{l1="v1",l2="v2"} value\n`, or `name value\n` without labels. `label_names` and
// `label_values` have the same length; values are escaped (backslash, double quote, newline). A non-empty `le` adds
// a last label le="<le>", as histogram buckets have.
void AppendSample(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, std::string_view value, std::string_view le = {});

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_PROMETHEUS_TEXT_H_
