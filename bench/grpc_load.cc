// clientreg-grpc-load: a closed-loop gRPC load client for clientreg-server, without the gateway or HTTP in the way.
//   clientreg-grpc-load --server=HOST:PORT --mode=register|authenticate [--inflight=N] [--seconds=S] [--clients=N]
//                       [--channels=N]
// Keeps --inflight calls outstanding with the callback API (each completion starts the next call) over --channels
// separate connections, warms up for 1 s, measures for --seconds and prints one line:
//   mode=register calls=... ok=... errors=... calls_per_s=... p50_ms=... p99_ms=...
// Exits 1 if any call failed (the first failure's code and message go to stderr), 2 on bad flags.
// --inflight defaults to 48, the gateway's default cap: the server's sync handler threads (max_threads, default 64,
// pollers included) answer RESOURCE_EXHAUSTED to calls beyond them, and 60 in flight already hit that.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: clientreg-grpc-load --server=HOST:PORT --mode=register|authenticate [--inflight=N (48)] "
    "[--seconds=S (10)] [--clients=N (1000)] [--channels=N (2)]";
// At most this many latencies are kept (8 MB, allocated up front); beyond it, a uniform reservoir sample.
constexpr std::size_t kMaxSamples = 1'000'000;
// Every call has a deadline, so draining the in-flight calls at the end is bounded too.
constexpr auto kCallDeadline = std::chrono::seconds(30);

struct Options {
  std::string server;
  std::string mode;
  int inflight = 48;
  int seconds = 10;
  int clients = 1000;
  int channels = 2;
};

bool ParsePositive(std::string_view text, int* out) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return false;
  *out = value;
  return true;
}

// Returns an empty string on success, else what is wrong.
std::string ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos) return "unknown argument " + std::string(arg);
    const std::string_view name = arg.substr(0, eq + 1), value = arg.substr(eq + 1);
    bool ok = true;
    if (name == "--server=") {
      options->server = value;
      ok = !value.empty();
    } else if (name == "--mode=") {
      options->mode = value;
      ok = value == "register" || value == "authenticate";
    } else if (name == "--inflight=") {
      ok = ParsePositive(value, &options->inflight);
    } else if (name == "--seconds=") {
      ok = ParsePositive(value, &options->seconds);
    } else if (name == "--clients=") {
      ok = ParsePositive(value, &options->clients);
    } else if (name == "--channels=") {
      ok = ParsePositive(value, &options->channels);
    } else {
      return "unknown argument " + std::string(arg);
    }
    if (!ok) return "bad value in " + std::string(arg);
  }
  if (options->server.empty()) return "--server is required";
  if (options->mode.empty()) return "--mode is required";
  return "";
}

struct Credential {
  std::string client_id;
  std::string client_secret;
};

// Counts and latencies of the calls completed inside the measurement window, plus the first failure of the run.
class Results {
 public:
  Results() : rng_(std::random_device{}()) { samples_ms_.reserve(kMaxSamples); }

  void RecordMeasured(double latency_ms, bool ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls_;
    ok ? ++ok_ : ++errors_;
    if (samples_ms_.size() < kMaxSamples) {
      samples_ms_.push_back(latency_ms);
    } else {  // Algorithm R: the kept samples stay a uniform sample of all calls so far.
      const std::uint64_t slot = std::uniform_int_distribution<std::uint64_t>(0, calls_ - 1)(rng_);
      if (slot < kMaxSamples) samples_ms_[slot] = latency_ms;
    }
  }

  // Any failure, in or outside the window (warm-up, pre-registration, drain), fails the run.
  void RecordFailure(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failures_++ == 0) {
      first_failure_ = "code " + std::to_string(static_cast<int>(status.error_code())) + ": " + status.error_message();
    }
  }

  std::uint64_t failures() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_failure_;
  }

  // Call once the load has stopped.
  void Print(const std::string& mode, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::printf("mode=%s calls=%llu ok=%llu errors=%llu calls_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", mode.c_str(),
                static_cast<unsigned long long>(calls_), static_cast<unsigned long long>(ok_),
                static_cast<unsigned long long>(errors_), seconds > 0 ? calls_ / seconds : 0.0, Percentile(0.50),
                Percentile(0.99));
    std::fflush(stdout);
  }

 private:
  double Percentile(double q) {
    if (samples_ms_.empty()) return 0;
    const std::size_t rank = std::min(samples_ms_.size() - 1, static_cast<std::size_t>(q * samples_ms_.size()));
    std::nth_element(samples_ms_.begin(), samples_ms_.begin() + rank, samples_ms_.end());
    return samples_ms_[rank];
  }

  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::vector<double> samples_ms_;
  std::uint64_t calls_ = 0, ok_ = 0, errors_ = 0, failures_ = 0;
  std::string first_failure_;
};

enum class Phase { kWarmup, kMeasure, kStop };

// What one in-flight slot sends: a registration, or an authentication of a pre-registered client.
enum class Kind { kRegister, kAuthenticate };

class Load;

// One outstanding call at a time; its completion callback records the call and launches the next one.
class Slot {
 public:
  Slot(Load* load, int index) : load_(load), index_(index) {}
  void Start();

 private:
  void Done(const grpc::Status& status);

  Load* load_;
  int index_;
  std::unique_ptr<grpc::ClientContext> context_;
  Clock::time_point started_;
  std::size_t target_ = 0;  // pre-registration: the credential index this call fills
  clientreg::v1::RegisterRequest register_request_;
  clientreg::v1::ClientInformation register_response_;
  clientreg::v1::AuthenticateClientRequest authenticate_request_;
  clientreg::v1::AuthenticateClientResponse authenticate_response_;
};

class Load {
 public:
  Load(const Options& options, Results* results) : options_(options), results_(results) {
    name_prefix_ = "bench-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";
    for (int i = 0; i < options.channels; ++i) {
      grpc::ChannelArguments args;
      // Without a local subchannel pool, channels to one target share one connection.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
      registration_.push_back(clientreg::v1::ClientRegistration::NewStub(channel));
      authentication_.push_back(clientreg::v1::ClientAuthentication::NewStub(channel));
    }
  }

  // Registers --clients confidential clients, --inflight at a time. False if any registration failed.
  bool Preregister() {
    preregistering_ = true;
    credentials_.assign(options_.clients, Credential{});
    next_ = 0;
    RunSlots(std::min(options_.inflight, options_.clients), Kind::kRegister);
    WaitIdle();
    preregistering_ = false;
    return results_->failures() == 0;
  }

  // Warms up for 1 s, measures for --seconds, drains; returns the measured window's length in seconds.
  double Run(Kind kind) {
    phase_ = Phase::kWarmup;
    RunSlots(options_.inflight, kind);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const Clock::time_point begin = Clock::now();
    phase_ = Phase::kMeasure;
    std::this_thread::sleep_until(begin + std::chrono::seconds(options_.seconds));
    phase_ = Phase::kStop;
    const Clock::time_point end = Clock::now();
    WaitIdle();
    return std::chrono::duration<double>(end - begin).count();
  }

 private:
  friend class Slot;

  void RunSlots(int count, Kind kind) {
    kind_ = kind;
    slots_.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_ = count;
    }
    for (int i = 0; i < count; ++i) slots_.push_back(std::make_unique<Slot>(this, i));
    for (auto& slot : slots_) slot->Start();
  }

  void SlotFinished() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--active_ == 0) idle_.notify_all();
  }

  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return active_ == 0; });
  }

  const Options& options_;
  Results* results_;
  std::string name_prefix_;
  std::vector<std::unique_ptr<clientreg::v1::ClientRegistration::Stub>> registration_;
  std::vector<std::unique_ptr<clientreg::v1::ClientAuthentication::Stub>> authentication_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Credential> credentials_;
  Kind kind_ = Kind::kRegister;
  bool preregistering_ = false;
  std::atomic<Phase> phase_{Phase::kWarmup};
  std::atomic<std::uint64_t> next_{0};  // registration names; pre-registration and authentication indexes
  std::atomic<std::uint64_t> name_counter_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  int active_ = 0;
};

void Slot::Start() {
  Load& load = *load_;
  if (load.preregistering_) {
    target_ = load.next_.fetch_add(1);
    if (target_ >= load.credentials_.size()) return load.SlotFinished();
  } else if (load.phase_ == Phase::kStop) {
    return load.SlotFinished();
  }
  context_ = std::make_unique<grpc::ClientContext>();
  context_->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  const std::size_t channel = static_cast<std::size_t>(index_) % load.registration_.size();
  auto done = [this](grpc::Status status) { Done(status); };
  started_ = Clock::now();
  if (load.kind_ == Kind::kRegister) {
    clientreg::v1::ClientMetadata& metadata = *register_request_.mutable_metadata();
    metadata.Clear();
    metadata.mutable_redirect_uris()->add_values("https://bench.example.com/callback");
    metadata.set_token_endpoint_auth_method("client_secret_basic");
    metadata.set_client_name(load.name_prefix_ + std::to_string(load.name_counter_.fetch_add(1)));
    register_response_.Clear();
    load.registration_[channel]->async()->Register(context_.get(), &register_request_, &register_response_,
                                                   std::move(done));
  } else {
    const Credential& credential = load.credentials_[load.next_.fetch_add(1) % load.credentials_.size()];
    authenticate_request_.set_client_id(credential.client_id);
    authenticate_request_.set_client_secret(credential.client_secret);
    authenticate_response_.Clear();
    load.authentication_[channel]->async()->AuthenticateClient(context_.get(), &authenticate_request_,
                                                               &authenticate_response_, std::move(done));
  }
}

void Slot::Done(const grpc::Status& status) {
  const double latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
  Load& load = *load_;
  grpc::Status outcome = status;
  if (outcome.ok() && load.preregistering_) {
    if (!register_response_.has_client_secret()) {
      outcome = grpc::Status(grpc::StatusCode::INTERNAL, "registration returned no client_secret");
    } else {
      load.credentials_[target_] = {register_response_.client_id(), register_response_.client_secret()};
    }
  }
  if (!outcome.ok()) load.results_->RecordFailure(outcome);
  if (!load.preregistering_ && load.phase_ == Phase::kMeasure) load.results_->RecordMeasured(latency_ms, outcome.ok());
  // Pre-registration stops at the first failure: the run fails anyway.
  if (load.preregistering_ && !outcome.ok()) return load.SlotFinished();
  Start();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::string error = ParseOptions(argc, argv, &options); !error.empty()) {
    std::fprintf(stderr, "clientreg-grpc-load: %s\n%s\n", error.c_str(), kUsage);
    return 2;
  }
  Results results;
  Load load(options, &results);
  const Kind kind = options.mode == "register" ? Kind::kRegister : Kind::kAuthenticate;
  if (kind == Kind::kAuthenticate && !load.Preregister()) {
    std::fprintf(stderr, "clientreg-grpc-load: pre-registering %d clients failed: %s\n", options.clients,
                 results.first_failure().c_str());
    return 1;
  }
  const double seconds = load.Run(kind);
  results.Print(options.mode, seconds);
  if (const std::uint64_t failures = results.failures(); failures > 0) {
    std::fprintf(stderr, "clientreg-grpc-load: %llu call(s) failed; first: %s\n",
                 static_cast<unsigned long long>(failures), results.first_failure().c_str());
    return 1;
  }
  return 0;
}
