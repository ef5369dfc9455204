#include "common/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/prometheus_text.h"

namespace clientreg::common {
namespace {

// Counter, Gauge and Histogram promise updates without a lock; a platform where these atomics take one would break
// that promise silently.
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<double>::is_always_lock_free);

// Misuse of the registry is a bug in the caller, found by the first test or start-up that reaches it; going on
// would expose series Prometheus rejects or merges. Debian's Abseil has no absl/log, hence stderr and abort.
[[noreturn]] void DieOfMisuse(std::string_view message) {
  std::fprintf(stderr, "metrics: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

void CheckBucketBounds(const std::vector<double>& upper_bounds) {
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i])) {
      DieOfMisuse(absl::StrCat("histogram bucket bound ", FormatSampleValue(upper_bounds[i]),
                               " is not finite (the +Inf bucket is implicit)"));
    }
    if (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i])) {
      DieOfMisuse(absl::StrCat("histogram bucket bounds must strictly increase, but ",
                               FormatSampleValue(upper_bounds[i]), " follows ",
                               FormatSampleValue(upper_bounds[i - 1])));
    }
  }
}

void CheckLabelCount(const std::string& name, const std::vector<std::string>& label_names, size_t given) {
  if (given != label_names.size()) {
    DieOfMisuse(absl::StrCat(name, " takes ", label_names.size(), " label values (", absl::StrJoin(label_names, ", "),
                             "), got ", given));
  }
}

// Checks the names of a new family, and returns every series name it will print, for the uniqueness check.
std::vector<std::string> CheckNames(const std::string& name, MetricType type,
                                    const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) DieOfMisuse(absl::StrCat("invalid metric name \"", name, "\""));
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidLabelName(label)) DieOfMisuse(absl::StrCat(name, ": invalid label name \"", label, "\""));
    if (type == MetricType::kHistogram && label == "le") {
      DieOfMisuse(absl::StrCat(name, ": a histogram cannot have a label named \"le\" (its buckets use it)"));
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      DieOfMisuse(absl::StrCat(name, ": label name \"", label, "\" given twice"));
    }
  }
  if (type != MetricType::kHistogram) return {name};
  return {name, name + "_bucket", name + "_sum", name + "_count"};
}

constexpr MetricType TypeOf(const Counter*) { return MetricType::kCounter; }
constexpr MetricType TypeOf(const Gauge*) { return MetricType::kGauge; }
constexpr MetricType TypeOf(const Histogram*) { return MetricType::kHistogram; }

void AppendChild(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                 const std::vector<std::string>& label_values, const Counter& counter) {
  AppendSample(out, name, label_names, label_values, FormatSampleValue(counter.Value()));
}

void AppendChild(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                 const std::vector<std::string>& label_values, const Gauge& gauge) {
  AppendSample(out, name, label_names, label_values, FormatSampleValue(gauge.Value()));
}

void AppendChild(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                 const std::vector<std::string>& label_values, const Histogram& histogram) {
  const Histogram::Snapshot snapshot = histogram.Read();
  const std::string bucket_name = name + "_bucket";
  const std::vector<double>& bounds = histogram.upper_bounds();
  for (size_t i = 0; i < bounds.size(); ++i) {
    AppendSample(out, bucket_name, label_names, label_values, FormatSampleValue(snapshot.cumulative_counts[i]),
                 FormatSampleValue(bounds[i]));
  }
  // The +Inf bucket and _count print the same number: the format requires them equal, so both come from one read.
  const std::string count = FormatSampleValue(snapshot.count);
  AppendSample(out, bucket_name, label_names, label_values, count, "+Inf");
  AppendSample(out, name + "_sum", label_names, label_values, FormatSampleValue(snapshot.sum));
  AppendSample(out, name + "_count", label_names, label_values, count);
}

class CallbackFamily final : public metrics_internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 std::function<std::vector<Sample>()> collect)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        collect_(std::move(collect)) {}

  void Encode(std::string& out) const override {
    AppendFamilyHeader(out, name_, help_, type_);
    for (const Sample& sample : collect_()) {
      CheckLabelCount(name_, label_names_, sample.label_values.size());
      AppendSample(out, name_, label_names_, sample.label_values, FormatSampleValue(sample.value));
    }
  }

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::function<std::vector<Sample>()> collect_;
};

// A callback family and the series names it will print.
std::pair<std::vector<std::string>, std::unique_ptr<metrics_internal::FamilyBase>> NewCallbackFamily(
    std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
    std::function<std::vector<Sample>()> collect) {
  std::vector<std::string> series_names = CheckNames(name, type, label_names);
  return {std::move(series_names), std::make_unique<CallbackFamily>(std::move(name), std::move(help), type,
                                                                    std::move(label_names), std::move(collect))};
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_((CheckBucketBounds(upper_bounds), std::move(upper_bounds))),
      bucket_counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {}

void Histogram::Observe(double value) noexcept {
  // The first bound with value <= bound ("le" is inclusive). NaN compares false with every bound, so it lands past
  // them all, in the +Inf bucket.
  const auto bucket = std::partition_point(upper_bounds_.begin(), upper_bounds_.end(),
                                           [value](double bound) { return !(value <= bound); });
  bucket_counts_[bucket - upper_bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative_counts.reserve(upper_bounds_.size() + 1);
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    snapshot.count += bucket_counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(snapshot.count);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    DieOfMisuse(absl::StrCat("ExponentialBuckets needs start > 0, factor > 1 and count >= 1, got start ",
                             FormatSampleValue(start), ", factor ", FormatSampleValue(factor), ", count ", count));
  }
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double bound = start; static_cast<int>(bounds.size()) < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bucket_upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bucket_upper_bounds_(std::move(bucket_upper_bounds)) {}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> label_values) {
  CheckLabelCount(name_, label_names_, label_values.size());
  {
    absl::ReaderMutexLock lock(&mu_);
    if (const auto it = children_.find(label_values); it != children_.end()) return it->second;
  }
  absl::MutexLock lock(&mu_);
  // Another thread may have created the child between the two locks; try_emplace then returns that one.
  auto [it, created] = [&] {
    std::vector<std::string> key(label_values.begin(), label_values.end());
    if constexpr (std::is_same_v<Metric, Histogram>) {
      return children_.try_emplace(std::move(key), bucket_upper_bounds_);
    } else {
      return children_.try_emplace(std::move(key));
    }
  }();
  if (created) creation_order_.push_back(&*it);
  return it->second;
}

template <typename Metric>
Metric& Family<Metric>::Get() {
  return WithLabels({});
}

template <typename Metric>
void Family<Metric>::Encode(std::string& out) const {
  AppendFamilyHeader(out, name_, help_, TypeOf(static_cast<const Metric*>(nullptr)));
  absl::ReaderMutexLock lock(&mu_);
  for (const auto* child : creation_order_) AppendChild(out, name_, label_names_, child->first, child->second);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

template <typename Metric>
Family<Metric>& MetricsRegistry::AddFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                           std::vector<double> bucket_upper_bounds) {
  std::vector<std::string> series_names = CheckNames(name, TypeOf(static_cast<const Metric*>(nullptr)), label_names);
  auto* family =
      new Family<Metric>(std::move(name), std::move(help), std::move(label_names), std::move(bucket_upper_bounds));
  Register(std::move(series_names), std::unique_ptr<metrics_internal::FamilyBase>(family));
  return *family;
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  return AddFamily<Counter>(std::move(name), std::move(help), std::move(label_names), {});
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  return AddFamily<Gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<double> bucket_upper_bounds,
                                               std::vector<std::string> label_names) {
  // Checked here as well as in each child, so bad bounds fail at registration rather than at the first observation.
  CheckBucketBounds(bucket_upper_bounds);
  return AddFamily<Histogram>(std::move(name), std::move(help), std::move(label_names), std::move(bucket_upper_bounds));
}

void MetricsRegistry::AddCallbackGauge(std::string name, std::string help, std::vector<std::string> label_names,
                                       std::function<std::vector<Sample>()> collect) {
  auto [series_names, family] = NewCallbackFamily(std::move(name), std::move(help), MetricType::kGauge,
                                                  std::move(label_names), std::move(collect));
  Register(std::move(series_names), std::move(family));
}

void MetricsRegistry::AddCallbackCounter(std::string name, std::string help, std::vector<std::string> label_names,
                                         std::function<std::vector<Sample>()> collect) {
  auto [series_names, family] = NewCallbackFamily(std::move(name), std::move(help), MetricType::kCounter,
                                                  std::move(label_names), std::move(collect));
  Register(std::move(series_names), std::move(family));
}

void MetricsRegistry::Register(std::vector<std::string> series_names,
                               std::unique_ptr<metrics_internal::FamilyBase> family) {
  absl::MutexLock lock(&mu_);
  for (const std::string& series : series_names) {
    if (series_names_.contains(series)) {
      DieOfMisuse(absl::StrCat("metric \"", series_names.front(), "\" registered twice, or its series \"", series,
                               "\" clashes with an earlier metric's"));
    }
  }
  series_names_.insert(std::make_move_iterator(series_names.begin()), std::make_move_iterator(series_names.end()));
  families_.push_back(std::move(family));
}

std::string MetricsRegistry::Encode() const {
  // Families are never removed, so the pointers outlive the lock; encoding without it lets callbacks take their own
  // locks, or even register metrics, without deadlock.
  std::vector<const metrics_internal::FamilyBase*> families;
  {
    absl::ReaderMutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& family : families_) families.push_back(family.get());
  }
  std::string out;
  for (const auto* family : families) family->Encode(out);
  return out;
}

}  // namespace clientreg::common
