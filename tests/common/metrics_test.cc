#include "common/metrics.h"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/prometheus_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::common {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Reads one exposition line from left to right; each method consumes what it accepts and says whether it did.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : rest_(line) {}

  bool AtEnd() const { return rest_.empty(); }

  bool Literal(std::string_view literal) {
    if (!rest_.starts_with(literal)) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }

  // [a-zA-Z_:][a-zA-Z0-9_:]* for a metric name, [a-zA-Z_][a-zA-Z0-9_]* for a label name; empty if neither.
  std::string Name(bool metric) {
    size_t n = 0;
    while (n < rest_.size() &&
           (std::isalpha(static_cast<unsigned char>(rest_[n])) || rest_[n] == '_' || (metric && rest_[n] == ':') ||
            (n > 0 && std::isdigit(static_cast<unsigned char>(rest_[n]))))) {
      ++n;
    }
    std::string name(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return name;
  }

  // Text up to `end` (or the line's end) in which a backslash only starts \\ or \n, or also \" if `quote`.
  bool EscapedText(bool quote, char end) {
    while (!rest_.empty() && rest_.front() != end) {
      if (rest_.front() == '\\') {
        if (rest_.size() < 2 || (rest_[1] != '\\' && rest_[1] != 'n' && !(quote && rest_[1] == '"'))) return false;
        rest_.remove_prefix(1);
      } else if (quote && rest_.front() == '"') {
        return false;
      }
      rest_.remove_prefix(1);
    }
    return true;
  }

  // The rest of the line is a float as Go's ParseFloat reads it, without hex: +Inf, -Inf, NaN, or decimal.
  bool Value() {
    if (rest_ == "+Inf" || rest_ == "-Inf" || rest_ == "NaN") return true;
    Literal("-") || Literal("+");
    const size_t integer_digits = Digits();
    const size_t fraction_digits = Literal(".") ? Digits() : 0;
    if (integer_digits + fraction_digits == 0) return false;
    if (Literal("e") || Literal("E")) {
      Literal("-") || Literal("+");
      if (Digits() == 0) return false;
    }
    return AtEnd();
  }

 private:
  size_t Digits() {
    size_t n = 0;
    while (n < rest_.size() && std::isdigit(static_cast<unsigned char>(rest_[n]))) ++n;
    rest_.remove_prefix(n);
    return n;
  }

  std::string_view rest_;
};

// The sample name of a `name{labels} value` line, or "" if the line is not one.
std::string SampleName(std::string_view line) {
  LineReader reader(line);
  std::string name = reader.Name(/*metric=*/true);
  if (name.empty()) return "";
  if (reader.Literal("{") && !reader.Literal("}")) {
    do {
      if (reader.Name(/*metric=*/false).empty() || !reader.Literal("=\"") || !reader.EscapedText(/*quote=*/true, '"') ||
          !reader.Literal("\"")) {
        return "";
      }
    } while (reader.Literal(","));
    if (!reader.Literal("}")) return "";
  }
  return reader.Literal(" ") && reader.Value() ? name : "";
}

// Checks `text` against the text exposition format 0.0.4 line by line: every line is a HELP or TYPE comment or a
// sample `name{labels} value`, each family's HELP comes just before its TYPE, a family appears once, and each sample
// belongs to the family typed last (a histogram's through _bucket, _sum and _count). Returns one message per
// violation.
std::vector<std::string> FormatViolations(std::string_view text) {
  std::vector<std::string> violations;
  if (!text.empty() && text.back() != '\n') violations.push_back("output does not end with a newline");
  std::vector<std::string> seen_families;
  std::string help_name;
  std::string family;
  std::string type;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string_view::npos; start = end + 1, end = text.find('\n', start)) {
    const std::string line(text.substr(start, end - start));
    LineReader reader(line);
    if (reader.Literal("# HELP ")) {
      help_name = reader.Name(/*metric=*/true);
      if (help_name.empty() || !reader.Literal(" ") || !reader.EscapedText(/*quote=*/false, '\n')) {
        violations.push_back("malformed HELP: " + line);
      }
    } else if (reader.Literal("# TYPE ")) {
      family = reader.Name(/*metric=*/true);
      type.clear();
      for (const char* known : {"counter", "gauge", "histogram", "summary", "untyped"}) {
        if (line.ends_with(std::string(" ") + known)) type = known;
      }
      if (family.empty() || type.empty() || line != "# TYPE " + family + " " + type) {
        violations.push_back("malformed TYPE: " + line);
      }
      if (help_name != family) violations.push_back("TYPE without HELP just before it: " + line);
      if (std::find(seen_families.begin(), seen_families.end(), family) != seen_families.end()) {
        violations.push_back("family appears twice: " + family);
      }
      seen_families.push_back(family);
    } else if (const std::string name = SampleName(line); !name.empty()) {
      const bool belongs =
          name == family ||
          (type == "histogram" && (name == family + "_bucket" || name == family + "_sum" || name == family + "_count"));
      if (!belongs) violations.push_back("sample outside its family (last TYPE: " + family + "): " + line);
    } else {
      violations.push_back("not a comment or sample line: \"" + line + "\"");
    }
  }
  return violations;
}

TEST(FormatViolationsTest, CatchesMalformedLines) {
  EXPECT_THAT(FormatViolations("# HELP a x\n# TYPE a gauge\na 1\n"), IsEmpty());
  EXPECT_THAT(FormatViolations("# HELP a x\n# TYPE a gauge\na 1"), ElementsAre("output does not end with a newline"));
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\na{l=\"unescaped \" quote\"} 1\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\na 1.2.3\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\nb 1\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# TYPE a gauge\na 1\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\n\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a bad \\escape\n# TYPE a gauge\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\na{} 1\na{l=\"v\",} 1\n").size(), 1u);
  EXPECT_EQ(FormatViolations("# HELP a x\n# TYPE a gauge\na 0x10\na 1e\na Inf\na .5\n").size(), 3u);
  EXPECT_EQ(FormatViolations("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_total 1\n").size(), 1u);
}

TEST(MetricsTest, CounterWithoutLabels) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("clientreg_store_errors_total", "Store errors.").Get();
  counter.Increment();
  counter.Increment(41);
  EXPECT_EQ(counter.Value(), 42u);
  EXPECT_EQ(registry.Encode(),
            "# HELP clientreg_store_errors_total Store errors.\n"
            "# TYPE clientreg_store_errors_total counter\n"
            "clientreg_store_errors_total 42\n");
}

TEST(MetricsTest, CounterWithLabelsKeepsCreationOrder) {
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounter("http_requests_total", "Requests.", {"route", "code"});
  requests.WithLabels({"register", "201"}).Increment(3);
  requests.WithLabels({"health", "200"}).Increment();
  requests.WithLabels({"register", "400"});
  EXPECT_EQ(registry.Encode(),
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"register\",code=\"201\"} 3\n"
            "http_requests_total{route=\"health\",code=\"200\"} 1\n"
            "http_requests_total{route=\"register\",code=\"400\"} 0\n");
}

TEST(MetricsTest, GaugeWithAndWithoutLabels) {
  MetricsRegistry registry;
  Gauge& connections = registry.AddGauge("connections", "Open connections.").Get();
  connections.Set(5);
  connections.Add(-2);
  connections.Add(0.5);
  EXPECT_EQ(connections.Value(), 3.5);
  GaugeFamily& clients = registry.AddGauge("clients", "Clients by state.", {"state"});
  clients.WithLabels({"active"}).Set(1000000);
  clients.WithLabels({"disabled"}).Set(-1);
  EXPECT_EQ(registry.Encode(),
            "# HELP connections Open connections.\n"
            "# TYPE connections gauge\n"
            "connections 3.5\n"
            "# HELP clients Clients by state.\n"
            "# TYPE clients gauge\n"
            "clients{state=\"active\"} 1000000\n"
            "clients{state=\"disabled\"} -1\n");
}

TEST(MetricsTest, HistogramWithoutLabels) {
  MetricsRegistry registry;
  Histogram& histogram = registry.AddHistogram("latency_seconds", "Latency.", {0.005, 1, 2.5}).Get();
  // Powers of two, so the sum is exact; 1 sits on a bound, and a bound is inclusive.
  for (const double value : {0.00390625, 0.5, 1.0, 2.0, 4.0}) histogram.Observe(value);
  EXPECT_EQ(registry.Encode(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.005\"} 1\n"
            "latency_seconds_bucket{le=\"1\"} 3\n"
            "latency_seconds_bucket{le=\"2.5\"} 4\n"
            "latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "latency_seconds_sum 7.50390625\n"
            "latency_seconds_count 5\n");
}

TEST(MetricsTest, HistogramWithLabelsPutsLeLast) {
  MetricsRegistry registry;
  HistogramFamily& family = registry.AddHistogram("rpc_seconds", "RPC time.", {0.5}, {"method", "code"});
  family.WithLabels({"Register", "OK"}).Observe(0.25);
  family.WithLabels({"Get", "NOT_FOUND"});
  EXPECT_EQ(registry.Encode(),
            "# HELP rpc_seconds RPC time.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"Register\",code=\"OK\",le=\"0.5\"} 1\n"
            "rpc_seconds_bucket{method=\"Register\",code=\"OK\",le=\"+Inf\"} 1\n"
            "rpc_seconds_sum{method=\"Register\",code=\"OK\"} 0.25\n"
            "rpc_seconds_count{method=\"Register\",code=\"OK\"} 1\n"
            "rpc_seconds_bucket{method=\"Get\",code=\"NOT_FOUND\",le=\"0.5\"} 0\n"
            "rpc_seconds_bucket{method=\"Get\",code=\"NOT_FOUND\",le=\"+Inf\"} 0\n"
            "rpc_seconds_sum{method=\"Get\",code=\"NOT_FOUND\"} 0\n"
            "rpc_seconds_count{method=\"Get\",code=\"NOT_FOUND\"} 0\n");
}

TEST(MetricsTest, HistogramWithoutBoundsHasOnlyInfBucket) {
  Histogram histogram({});
  histogram.Observe(-7);
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_THAT(snapshot.cumulative_counts, ElementsAre(1u));
  EXPECT_EQ(snapshot.count, 1u);
  EXPECT_EQ(snapshot.sum, -7);
}

TEST(MetricsTest, HistogramCountsNanOnlyInInfBucket) {
  Histogram histogram({1, 2});
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  histogram.Observe(std::numeric_limits<double>::infinity());
  histogram.Observe(-std::numeric_limits<double>::infinity());
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_THAT(snapshot.cumulative_counts, ElementsAre(1u, 1u, 3u));
  EXPECT_TRUE(std::isnan(snapshot.sum));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndMatchCount) {
  MetricsRegistry registry;
  Histogram& histogram = registry.AddHistogram("h", "H.", LatencyBuckets()).Get();
  std::mt19937_64 random(7);
  std::exponential_distribution<double> latency(20);
  constexpr int kObservations = 10000;
  double sum = 0;
  for (int i = 0; i < kObservations; ++i) {
    const double value = latency(random);
    sum += value;
    histogram.Observe(value);
  }
  const Histogram::Snapshot snapshot = histogram.Read();
  ASSERT_EQ(snapshot.cumulative_counts.size(), LatencyBuckets().size() + 1);
  EXPECT_TRUE(std::is_sorted(snapshot.cumulative_counts.begin(), snapshot.cumulative_counts.end()));
  EXPECT_EQ(snapshot.cumulative_counts.back(), static_cast<uint64_t>(kObservations));
  EXPECT_EQ(snapshot.count, static_cast<uint64_t>(kObservations));
  EXPECT_NEAR(snapshot.sum, sum, 1e-9 * sum);

  const std::string text = registry.Encode();
  EXPECT_NE(text.find("h_bucket{le=\"+Inf\"} 10000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count 10000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{le=\"0.0005\"} "), std::string::npos) << text;
  EXPECT_THAT(FormatViolations(text), IsEmpty());
}

TEST(MetricsTest, EmptyFamiliesPrintOnlyHelpAndType) {
  MetricsRegistry registry;
  registry.AddCounter("c_total", "C.", {"outcome"});
  registry.AddHistogram("h", "H.", {1}, {"method"});
  EXPECT_EQ(registry.Encode(),
            "# HELP c_total C.\n"
            "# TYPE c_total counter\n"
            "# HELP h H.\n"
            "# TYPE h histogram\n");
  EXPECT_EQ(MetricsRegistry().Encode(), "");
}

TEST(MetricsTest, EscapesHelpAndLabelValues) {
  MetricsRegistry registry;
  GaugeFamily& family = registry.AddGauge("g", "Path C:\\data, \"quoted\",\nsecond line.", {"path"});
  family.WithLabels({"C:\\dir \"x\"\nnext"}).Set(1);
  family.WithLabels({""}).Set(2);
  const std::string text = registry.Encode();
  EXPECT_EQ(text,
            "# HELP g Path C:\\\\data, \"quoted\",\\nsecond line.\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"
            "g{path=\"\"} 2\n");
  EXPECT_THAT(FormatViolations(text), IsEmpty());
}

TEST(PrometheusTextTest, FormatsNumbers) {
  EXPECT_EQ(FormatSampleValue(uint64_t{0}), "0");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(FormatSampleValue(0.0), "0");
  EXPECT_EQ(FormatSampleValue(-0.0), "0");
  EXPECT_EQ(FormatSampleValue(1.0), "1");
  EXPECT_EQ(FormatSampleValue(-3.0), "-3");
  EXPECT_EQ(FormatSampleValue(1e6), "1000000");
  EXPECT_EQ(FormatSampleValue(9007199254740992.0), "9007199254740992");  // 2^53
  EXPECT_EQ(FormatSampleValue(1e18), "1000000000000000000");
  EXPECT_EQ(FormatSampleValue(0x1p63), "9.223372036854776e+18");
  EXPECT_EQ(FormatSampleValue(1e20), "1e+20");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(2.5), "2.5");
  EXPECT_EQ(FormatSampleValue(-0.25), "-0.25");
  EXPECT_EQ(FormatSampleValue(0.005), "0.005");
  EXPECT_EQ(FormatSampleValue(0.0005), "0.0005");
  EXPECT_EQ(FormatSampleValue(0.0001), "0.0001");
  EXPECT_EQ(FormatSampleValue(1234567.25), "1234567.25");
  EXPECT_EQ(FormatSampleValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatSampleValue(0.00001), "1e-05");
  EXPECT_EQ(FormatSampleValue(1e-6), "1e-06");
  EXPECT_EQ(FormatSampleValue(-1.5e-7), "-1.5e-07");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(PrometheusTextTest, FloatsRoundTrip) {
  std::mt19937_64 random(11);
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 100000; ++i) {
    const double value = std::bit_cast<double>(bits(random));
    if (!std::isfinite(value)) continue;
    const std::string text = FormatSampleValue(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
}

TEST(MetricsTest, GaugeEncodesSpecialValues) {
  MetricsRegistry registry;
  GaugeFamily& family = registry.AddGauge("g", "G.", {"case"});
  family.WithLabels({"small"}).Set(1e-6);
  family.WithLabels({"large"}).Set(1e20);
  family.WithLabels({"inf"}).Set(std::numeric_limits<double>::infinity());
  family.WithLabels({"minus_inf"}).Set(-std::numeric_limits<double>::infinity());
  family.WithLabels({"nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  const std::string text = registry.Encode();
  EXPECT_EQ(text,
            "# HELP g G.\n"
            "# TYPE g gauge\n"
            "g{case=\"small\"} 1e-06\n"
            "g{case=\"large\"} 1e+20\n"
            "g{case=\"inf\"} +Inf\n"
            "g{case=\"minus_inf\"} -Inf\n"
            "g{case=\"nan\"} NaN\n");
  EXPECT_THAT(FormatViolations(text), IsEmpty());
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_THAT(LatencyBuckets(),
              ElementsAre(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10));
  EXPECT_THAT(ExponentialBuckets(1, 2, 5), ElementsAre(1, 2, 4, 8, 16));
  EXPECT_THAT(ExponentialBuckets(0.5, 10, 1), ElementsAre(0.5));
}

TEST(MetricsTest, CallbackFamiliesAreReadAtEachEncode) {
  MetricsRegistry registry;
  int scrapes = 0;
  registry.AddCallbackGauge("clients", "Clients by state.", {"state"}, [&scrapes] {
    ++scrapes;
    return std::vector<Sample>{{{"active"}, 10.0 * scrapes}, {{"disabled"}, 2}};
  });
  registry.AddCallbackCounter("log_dropped_lines_total", "Dropped log lines.", {}, [] {
    return std::vector<Sample>{{{}, 7}};
  });
  registry.AddCallbackGauge("nothing", "No samples yet.", {}, [] { return std::vector<Sample>{}; });
  const std::string expected_tail =
      "clients{state=\"disabled\"} 2\n"
      "# HELP log_dropped_lines_total Dropped log lines.\n"
      "# TYPE log_dropped_lines_total counter\n"
      "log_dropped_lines_total 7\n"
      "# HELP nothing No samples yet.\n"
      "# TYPE nothing gauge\n";
  const std::string head =
      "# HELP clients Clients by state.\n"
      "# TYPE clients gauge\n";
  EXPECT_EQ(registry.Encode(), head + "clients{state=\"active\"} 10\n" + expected_tail);
  EXPECT_EQ(registry.Encode(), head + "clients{state=\"active\"} 20\n" + expected_tail);
}

TEST(MetricsTest, WithLabelsReturnsTheSameChild) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {"a", "b"});
  Counter& first = family.WithLabels({"x", "y"});
  EXPECT_EQ(&family.WithLabels({"x", "y"}), &first);
  const std::string owned = "x";
  EXPECT_EQ(&family.WithLabels({owned, std::string_view("y")}), &first);
  EXPECT_NE(&family.WithLabels({"y", "x"}), &first);
  // No separator between values can make two different lists collide.
  EXPECT_NE(&family.WithLabels({"p,q", "r"}), &family.WithLabels({"p", "q,r"}));
  // Adding children never moves earlier ones.
  for (int i = 0; i < 1000; ++i) family.WithLabels({"n", std::to_string(i)});
  EXPECT_EQ(&family.WithLabels({"x", "y"}), &first);

  GaugeFamily& unlabelled = registry.AddGauge("g", "G.");
  EXPECT_EQ(&unlabelled.Get(), &unlabelled.Get());
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  MetricsRegistry registry;
  CounterFamily& counters = registry.AddCounter("c_total", "C.", {"k"});
  HistogramFamily& histograms = registry.AddHistogram("h", "H.", {1, 2}, {"k"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50000;
  std::vector<Counter*> seen(kThreads);
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) EXPECT_THAT(FormatViolations(registry.Encode()), IsEmpty());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& counter = counters.WithLabels({"shared"});
      Histogram& histogram = histograms.WithLabels({"shared"});
      seen[t] = &counter;
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        histogram.Observe(i % 3);  // 0, 1 and 2: each lands on or below a bound
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  done.store(true);
  scraper.join();

  for (Counter* counter : seen) EXPECT_EQ(counter, seen[0]);
  EXPECT_EQ(seen[0]->Value(), uint64_t{kThreads} * kPerThread);
  uint64_t up_to_one = 0;
  double sum = 0;
  for (int i = 0; i < kPerThread; ++i) {
    up_to_one += i % 3 <= 1 ? kThreads : 0;
    sum += kThreads * (i % 3);
  }
  const Histogram::Snapshot snapshot = histograms.WithLabels({"shared"}).Read();
  EXPECT_THAT(snapshot.cumulative_counts,
              ElementsAre(up_to_one, uint64_t{kThreads} * kPerThread, uint64_t{kThreads} * kPerThread));
  EXPECT_EQ(snapshot.count, uint64_t{kThreads} * kPerThread);
  // Small integers: every partial sum is exact, whatever order the threads added in.
  EXPECT_EQ(snapshot.sum, sum);
}

TEST(MetricsTest, RealisticRegistryMatchesTheFormat) {
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounter(
      "clientreg_http_requests_total", "HTTP requests by route, method and status code.", {"route", "method", "code"});
  HistogramFamily& durations = registry.AddHistogram("clientreg_http_request_duration_seconds",
                                                     "HTTP request latency, by route.", LatencyBuckets(), {"route"});
  registry.AddGauge("clientreg_http_connections", "Open HTTP connections.").Get().Set(12);
  registry.AddCounter("clientreg_http_rejected_total", "Requests refused before routing.", {"reason"})
      .WithLabels({"framing"})
      .Increment(2);
  registry.AddGauge("clientreg_build_info", "Build version; the value is always 1.", {"version", "revision"})
      .WithLabels({"0.1.0", "6e6f582"})
      .Set(1);
  registry.AddHistogram("clientreg_store_group_size", "Creates per synced batch.", ExponentialBuckets(1, 2, 8))
      .Get()
      .Observe(3);
  registry.AddCallbackGauge("clientreg_clients", "Registered clients, by state.", {"state"}, [] {
    return std::vector<Sample>{{{"active"}, 1234}, {{"disabled"}, 5}};
  });
  registry.AddGauge("odd_values", "Help with a \\ backslash,\na newline and \"quotes\".", {"v"})
      .WithLabels({"a \"quoted\\\" \nvalue"})
      .Set(-1.5e-9);
  requests.WithLabels({"/register", "POST", "201"}).Increment(100);
  requests.WithLabels({"/register/{client_id}", "GET", "401"}).Increment();
  durations.WithLabels({"/register"}).Observe(0.003);
  durations.WithLabels({"/register"}).Observe(11);

  const std::string text = registry.Encode();
  EXPECT_THAT(FormatViolations(text), IsEmpty()) << text;
  EXPECT_NE(text.find("clientreg_http_request_duration_seconds_bucket{route=\"/register\",le=\"0.005\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("clientreg_store_group_size_bucket{le=\"4\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsDeathTest, MisuseAborts) {
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("c_total", "C.");
        registry.AddGauge("c_total", "again");
      },
      "metrics: metric \"c_total\" registered twice");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddHistogram("h", "H.", {1});
        registry.AddCounter("h_count", "Clashes with the histogram's count.");
      },
      "series \"h_count\" clashes");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("c_total", "C.", {"route", "code"}).WithLabels({"only_one"});
      },
      "c_total takes 2 label values \\(route, code\\), got 1");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("c_total", "C.", {"route"}).Get();
      },
      "c_total takes 1 label values");
  EXPECT_DEATH(MetricsRegistry().AddGauge("9lives", "G."), "invalid metric name \"9lives\"");
  EXPECT_DEATH(MetricsRegistry().AddGauge("a-b", "G."), "invalid metric name");
  EXPECT_DEATH(MetricsRegistry().AddGauge("g", "G.", {"__reserved"}), "invalid label name \"__reserved\"");
  EXPECT_DEATH(MetricsRegistry().AddGauge("g", "G.", {"a:b"}), "invalid label name");
  EXPECT_DEATH(MetricsRegistry().AddGauge("g", "G.", {"x", "x"}), "label name \"x\" given twice");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "H.", {1}, {"le"}), "cannot have a label named \"le\"");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "H.", {1, 1}), "must strictly increase, but 1 follows 1");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "H.", {2, 1}), "must strictly increase");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "H.", {1, std::numeric_limits<double>::infinity()}),
               "\\+Inf is not finite");
  EXPECT_DEATH(ExponentialBuckets(0, 2, 3), "ExponentialBuckets needs");
  EXPECT_DEATH(ExponentialBuckets(1, 1, 3), "ExponentialBuckets needs");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCallbackGauge("g", "G.", {"state"}, [] { return std::vector<Sample>{{{}, 1}}; });
        [[maybe_unused]] const std::string text = registry.Encode();
      },
      "g takes 1 label values \\(state\\), got 0");
}

TEST(MetricsTest, AcceptsEdgeCaseNames) {
  MetricsRegistry registry;
  registry.AddGauge("a:b_c", "Colons are allowed in metric names.", {"_x", "le"}).WithLabels({"1", "2"}).Set(1);
  EXPECT_EQ(registry.Encode(),
            "# HELP a:b_c Colons are allowed in metric names.\n"
            "# TYPE a:b_c gauge\n"
            "a:b_c{_x=\"1\",le=\"2\"} 1\n");
}

}  // namespace
}  // namespace clientreg::common
