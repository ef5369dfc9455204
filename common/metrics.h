#ifndef CLIENTREG_COMMON_METRICS_H_
#define CLIENTREG_COMMON_METRICS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

// Counters, gauges and histograms, grouped in labelled families in a MetricsRegistry that encodes itself in the
// Prometheus text exposition format 0.0.4 for a /metrics endpoint.
//
// Misuse is a programming error, not a runtime condition: registering a name twice, an invalid metric or label name,
// bucket bounds that do not strictly increase, or the wrong number of label values print a message naming the metric
// to stderr and abort.
namespace clientreg::common {

// The Content-Type of a response carrying MetricsRegistry::Encode().
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A monotonically increasing count. Thread-safe; each call is one relaxed atomic operation, no lock.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe; each call is atomic, no lock.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound (inclusive), with their sum. Thread-safe; Observe uses atomics only.
class Histogram {
 public:
  // What a histogram held at one moment. Every bucket count is read once, so the counts are consistent with each
  // other; `sum` is read separately and may lag or lead them by observations made during the read.
  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // observations <= each upper bound, then the +Inf bucket
    uint64_t count = 0;                       // == cumulative_counts.back()
    double sum = 0;
  };

  // `upper_bounds` must be finite and strictly increasing (else abort); the +Inf bucket is implicit. An empty list
  // leaves only the +Inf bucket.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN counts in the +Inf bucket only, and makes the sum NaN.
  void Observe(double value) noexcept;

  const std::vector<double>& upper_bounds() const noexcept { return upper_bounds_; }
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  // Not cumulative: bucket_counts_[i] counts observations in (upper_bounds_[i-1], upper_bounds_[i]], and the last
  // element those above every bound, so Observe touches one bucket.
  const std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0};
};

// The latency buckets every duration histogram uses, in seconds: 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25
// 0.5 1 2.5 5 10.
std::vector<double> LatencyBuckets();

// `count` bounds start, start*factor, start*factor^2, ...; start > 0, factor > 1 and count >= 1 (else abort).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class MetricsRegistry;

namespace metrics_internal {

// A family as the registry sees it: its part of the exposition.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  // Appends HELP, TYPE and every sample line.
  virtual void Encode(std::string& out) const = 0;
};

// Orders label value lists, and lets a list of string_views find a stored list of strings without copying it.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

}  // namespace metrics_internal

// One metric name with fixed label names, and one child metric per distinct list of label values. Created by
// MetricsRegistry, which owns it; children live as long as the registry.
template <typename Metric>
class Family final : public metrics_internal::FamilyBase {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // Returns the child for these label values (as many as the family's label names; a wrong count aborts with a
  // message naming the family), creating it on first use. The reference stays valid for the registry's lifetime, so
  // hot paths look a child up once and keep the reference. Thread-safe; finding an existing child takes a shared
  // lock and allocates nothing.
  Metric& WithLabels(std::initializer_list<std::string_view> label_values);

  // The child of a family without labels (aborts if the family has label names).
  Metric& Get();

 private:
  friend class MetricsRegistry;
  using Children = std::map<std::vector<std::string>, Metric, metrics_internal::LabelValuesLess>;

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bucket_upper_bounds);

  void Encode(std::string& out) const override;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bucket_upper_bounds_;  // histograms only

  mutable absl::Mutex mu_;
  // A std::map because its nodes never move: references handed out stay valid as children are added.
  Children children_ ABSL_GUARDED_BY(mu_);
  std::vector<const typename Children::value_type*> creation_order_ ABSL_GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One sample of a callback family: its label values (as many as the family's label names) and its value.
struct Sample {
  std::vector<std::string> label_values;
  double value;
};

// The metrics of one process. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and be unique, including the _bucket, _sum
// and _count series a histogram adds; label names must match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__", not repeat
// within a family, and not be "le" on a histogram. Counter names end in _total by convention (not enforced).
// Thread-safe. Families live as long as the registry.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  // `bucket_upper_bounds`: finite and strictly increasing; the +Inf bucket is implicit.
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<double> bucket_upper_bounds,
                                std::vector<std::string> label_names = {});

  // Families whose samples are read at scrape time (e.g. a store's client counts, a logger's dropped lines).
  // `collect` runs on the thread calling Encode, with no registry lock held; each Sample must carry as many label
  // values as `label_names` (else abort).
  void AddCallbackGauge(std::string name, std::string help, std::vector<std::string> label_names,
                        std::function<std::vector<Sample>()> collect);
  void AddCallbackCounter(std::string name, std::string help, std::vector<std::string> label_names,
                          std::function<std::vector<Sample>()> collect);

  // The whole registry in the text exposition format 0.0.4, families in registration order, children in the order
  // they were created (or as the callback returned them). A family without children gives only HELP and TYPE.
  std::string Encode() const;

 private:
  template <typename Metric>
  Family<Metric>& AddFamily(std::string name, std::string help, std::vector<std::string> label_names,
                            std::vector<double> bucket_upper_bounds);
  // Adds `family` once no earlier family uses any of `series_names` (else abort).
  void Register(std::vector<std::string> series_names, std::unique_ptr<metrics_internal::FamilyBase> family);

  mutable absl::Mutex mu_;
  std::set<std::string, std::less<>> series_names_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<metrics_internal::FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_METRICS_H_
