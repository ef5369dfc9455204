#ifndef CLIENTREG_BENCH_LOAD_CLIENT_H_
#define CLIENTREG_BENCH_LOAD_CLIENT_H_

// What the gRPC load clients in bench/ (clientreg-grpc-load, clientreg-fill) share: flag parsing, channels, latency
// samples and a closed loop of callback-API calls.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace clientreg::bench {

// A `--name=value` flag: a string, or an int that must be positive.
struct Flag {
  std::string_view name;  // with the trailing '=', e.g. "--server="
  std::variant<std::string*, int*> value;
};

// Parses `--name=value` arguments into `flags`. Returns an empty string on success, else what is wrong (an unknown
// argument, or a bad value, named as given).
std::string ParseFlags(int argc, char** argv, std::initializer_list<Flag> flags);

// `count` channels to `server`, each on its own connection (channels to one target otherwise share one).
std::vector<std::shared_ptr<grpc::Channel>> NewChannels(const std::string& server, int count);

// How many calls failed, and the first one's code and message ("code N: message"). Thread-safe.
class Failures {
 public:
  // Returns the number of failures so far, this one included.
  std::uint64_t Record(const grpc::Status& status);
  std::uint64_t count() const;
  std::string first() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t count_ = 0;
  std::string first_;
};

// Latencies in milliseconds: every one up to `capacity` (allocated up front), then a uniform reservoir sample of
// all added so far (Algorithm R). Not thread-safe.
class LatencySample {
 public:
  explicit LatencySample(std::size_t capacity);

  void Add(double latency_ms);
  // The q-quantile (0 <= q <= 1) of the kept latencies; 0 if there are none. Reorders them.
  double Percentile(double q);
  // Latencies added since construction or the last Clear, kept or not.
  std::uint64_t count() const { return count_; }
  void Clear();

 private:
  std::size_t capacity_;
  std::mt19937_64 rng_;
  std::vector<double> latencies_ms_;
  std::uint64_t count_ = 0;
};

// Runs unary calls of one method with up to `inflight` outstanding, each slot starting its next call as soon as
// its previous one completes (a closed loop), on gRPC's callback API.
template <typename Request, typename Response>
class ClosedLoop {
 public:
  // Starts call number `index`: fills `request`, then normally
  // `stub->async()->Method(context, request, response, std::move(done))`. All three stay valid until `done` runs.
  using StartFn = std::function<void(std::uint64_t index, grpc::ClientContext* context, Request* request,
                                     Response* response, std::function<void(grpc::Status)> done)>;
  // Runs on a gRPC thread once call `index` has completed after `latency_ms`. Returns false to start no more calls.
  using FinishFn =
      std::function<bool(std::uint64_t index, const grpc::Status& status, const Response& response, double latency_ms)>;

  // Every call gets `deadline`, so that waiting for the outstanding calls is bounded too.
  ClosedLoop(StartFn start, FinishFn finish, std::chrono::milliseconds deadline)
      : start_(std::move(start)), finish_(std::move(finish)), deadline_(deadline) {}

  // Starts calls numbered 0 .. count-1 (fewer if `finish` returns false) with at most `inflight` outstanding, and
  // returns at once. Call Wait before starting again or destroying the loop.
  void Start(std::uint64_t count, int inflight) {
    count_ = count;
    next_ = 0;
    stopping_ = false;
    const int slots = static_cast<int>(std::min<std::uint64_t>(count, static_cast<std::uint64_t>(inflight)));
    slots_.clear();
    for (int i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_ = slots;
    }
    for (auto& slot : slots_) StartNext(slot.get());
  }

  // Returns once every started call has completed and no more will start.
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return active_ == 0; });
  }

  void Run(std::uint64_t count, int inflight) {
    Start(count, inflight);
    Wait();
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
    Response response;
    std::uint64_t index = 0;
    Clock::time_point started;
  };

  void StartNext(Slot* slot) {
    const std::uint64_t index = stopping_ ? count_ : next_.fetch_add(1);
    if (index >= count_) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) idle_.notify_all();
      return;
    }
    slot->context = std::make_unique<grpc::ClientContext>();
    slot->context->set_deadline(std::chrono::system_clock::now() + deadline_);
    slot->request.Clear();
    slot->response.Clear();
    slot->index = index;
    slot->started = Clock::now();
    start_(index, slot->context.get(), &slot->request, &slot->response,
           [this, slot](const grpc::Status& status) { Finished(slot, status); });
  }

  void Finished(Slot* slot, const grpc::Status& status) {
    const double latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - slot->started).count();
    if (!finish_(slot->index, status, slot->response, latency_ms)) stopping_ = true;
    StartNext(slot);
  }

  const StartFn start_;
  const FinishFn finish_;
  const std::chrono::milliseconds deadline_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::uint64_t count_ = 0;
  std::atomic<std::uint64_t> next_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  int active_ = 0;
};

}  // namespace clientreg::bench

#endif  // CLIENTREG_BENCH_LOAD_CLIENT_H_
