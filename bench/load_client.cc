#include "bench/load_client.h"

#include <charconv>
#include <system_error>

namespace clientreg::bench {
namespace {

bool ParsePositive(std::string_view text, int* out) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return false;
  *out = value;
  return true;
}

}  // namespace

std::string ParseFlags(int argc, char** argv, std::initializer_list<Flag> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const Flag* flag = nullptr;
    for (const Flag& candidate : flags) {
      if (arg.substr(0, candidate.name.size()) == candidate.name) {
        flag = &candidate;
        break;
      }
    }
    if (flag == nullptr) return "unknown argument " + std::string(arg);
    const std::string_view value = arg.substr(flag->name.size());
    bool ok = true;
    if (std::string* const* text = std::get_if<std::string*>(&flag->value)) {
      **text = value;
      ok = !value.empty();
    } else {
      ok = ParsePositive(value, std::get<int*>(flag->value));
    }
    if (!ok) return "bad value in " + std::string(arg);
  }
  return "";
}

std::vector<std::shared_ptr<grpc::Channel>> NewChannels(const std::string& server, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Without a local subchannel pool, channels to one target share one connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

std::uint64_t Failures::Record(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (count_ == 0) {
    first_ = "code " + std::to_string(static_cast<int>(status.error_code())) + ": " + status.error_message();
  }
  return ++count_;
}

std::uint64_t Failures::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

std::string Failures::first() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return first_;
}

LatencySample::LatencySample(std::size_t capacity) : capacity_(capacity), rng_(std::random_device{}()) {
  latencies_ms_.reserve(capacity);
}

void LatencySample::Add(double latency_ms) {
  ++count_;
  if (latencies_ms_.size() < capacity_) {
    latencies_ms_.push_back(latency_ms);
    return;
  }
  // Algorithm R: each of the count_ latencies so far is kept with the same probability.
  const std::uint64_t slot = std::uniform_int_distribution<std::uint64_t>(0, count_ - 1)(rng_);
  if (slot < capacity_) latencies_ms_[slot] = latency_ms;
}

double LatencySample::Percentile(double q) {
  if (latencies_ms_.empty()) return 0;
  const std::size_t rank =
      std::min(latencies_ms_.size() - 1, static_cast<std::size_t>(q * static_cast<double>(latencies_ms_.size())));
  std::nth_element(latencies_ms_.begin(), latencies_ms_.begin() + static_cast<std::ptrdiff_t>(rank),
                   latencies_ms_.end());
  return latencies_ms_[rank];
}

void LatencySample::Clear() {
  latencies_ms_.clear();
  count_ = 0;
}

}  // namespace clientreg::bench
