// clientreg-grpc-load: a closed-loop gRPC load client for clientreg-server, without the gateway or HTTP in the way.
//   clientreg-grpc-load --server=HOST:PORT --mode=register|authenticate|resolve|check-redirect|resolve-cimd
//                       [--inflight=N] [--seconds=S] [--clients=N] [--channels=N] [--cimd-url=URL]
// authenticate, resolve and check-redirect first register --clients confidential clients, then cycle through them:
// AuthenticateClient with each one's secret; ResolveClient for authorize and token in turn (each records a use, as
// on an authorization server's hot path); CheckRedirectUri of each one's registered redirect URI (an exact match,
// the common case; an answer other than allowed counts as a failure).
// resolve-cimd registers nothing: it calls ResolveClient (authorize) of --cimd-url, a Client ID Metadata Document
// client_id, over and over; once the server has the document cached, that is its hot path for such clients. An
// answer whose origin is not ORIGIN_METADATA_DOCUMENT counts as a failure.
// Keeps --inflight calls outstanding with the callback API (each completion starts the next call) over --channels
// separate connections, warms up for 1 s, measures for --seconds and prints one line:
//   mode=register calls=... ok=... errors=... calls_per_s=... p50_ms=... p99_ms=...
// Exits 1 if any call failed (the first failure's code and message go to stderr), 2 on bad flags.
// --inflight defaults to 48, the gateway's default cap: the server's sync handler threads (max_threads, default 64,
// pollers included) answer RESOURCE_EXHAUSTED to calls beyond them, and 60 in flight already hit that.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/load_client.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"
#include "common/process.h"

namespace {

using Clock = std::chrono::steady_clock;
using clientreg::bench::ClosedLoop;

constexpr char kUsage[] =
    "usage: clientreg-grpc-load --server=HOST:PORT --mode=register|authenticate|resolve|check-redirect|resolve-cimd "
    "[--inflight=N (48)] [--seconds=S (10)] [--clients=N (1000)] [--channels=N (2)] [--cimd-url=URL (resolve-cimd)]";
// At most this many latencies are kept (8 MB, allocated up front); beyond it, a uniform reservoir sample.
constexpr std::size_t kMaxSamples = 1'000'000;
// Every call has a deadline, so draining the in-flight calls at the end is bounded too.
// The redirect URI every pre-registered client has.
constexpr char kRedirectUri[] = "https://bench.example.com/callback";
constexpr std::chrono::milliseconds kCallDeadline = std::chrono::seconds(30);

struct Options {
  std::string server;
  std::string mode;
  int inflight = 48;
  int seconds = 10;
  int clients = 1000;
  int channels = 2;
  std::string cimd_url;
};

// Returns an empty string on success, else what is wrong.
std::string ParseOptions(int argc, char** argv, Options* options) {
  if (std::string error = clientreg::bench::ParseFlags(argc, argv,
                                                       {{"--server=", &options->server},
                                                        {"--mode=", &options->mode},
                                                        {"--inflight=", &options->inflight},
                                                        {"--seconds=", &options->seconds},
                                                        {"--clients=", &options->clients},
                                                        {"--channels=", &options->channels},
                                                        {"--cimd-url=", &options->cimd_url}});
      !error.empty()) {
    return error;
  }
  if (options->server.empty()) return "--server is required";
  if (options->mode.empty()) return "--mode is required";
  if (options->mode != "register" && options->mode != "authenticate" && options->mode != "resolve" &&
      options->mode != "check-redirect" && options->mode != "resolve-cimd") {
    return "bad value in --mode=" + options->mode;
  }
  if ((options->mode == "resolve-cimd") != !options->cimd_url.empty()) {
    return "--cimd-url is required with --mode=resolve-cimd, and only there";
  }
  return "";
}

struct Credential {
  std::string client_id;
  std::string client_secret;
};

// Counts and latencies of the calls completed inside the measurement window, plus the first failure of the run.
class Results {
 public:
  Results() : samples_ms_(kMaxSamples) {}

  void RecordMeasured(double latency_ms, bool ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    ok ? ++ok_ : ++errors_;
    samples_ms_.Add(latency_ms);
  }

  // Any failure, in or outside the window (warm-up, pre-registration, drain), fails the run.
  void RecordFailure(const grpc::Status& status) { failures_.Record(status); }
  std::uint64_t failures() const { return failures_.count(); }
  std::string first_failure() const { return failures_.first(); }

  // Call once the load has stopped.
  void Print(const std::string& mode, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t calls = samples_ms_.count();
    std::printf("mode=%s calls=%llu ok=%llu errors=%llu calls_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", mode.c_str(),
                static_cast<unsigned long long>(calls), static_cast<unsigned long long>(ok_),
                static_cast<unsigned long long>(errors_), seconds > 0 ? calls / seconds : 0.0,
                samples_ms_.Percentile(0.50), samples_ms_.Percentile(0.99));
    std::fflush(stdout);
  }

 private:
  mutable std::mutex mutex_;
  clientreg::bench::LatencySample samples_ms_;
  std::uint64_t ok_ = 0, errors_ = 0;
  clientreg::bench::Failures failures_;
};

enum class Phase { kWarmup, kMeasure, kStop };

class Load {
 public:
  Load(const Options& options, Results* results) : options_(options), results_(results) {
    name_prefix_ = "bench-" + std::to_string(getpid()) + "-" +
                   std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";
    for (const auto& channel : clientreg::bench::NewChannels(options.server, options.channels)) {
      registration_.push_back(clientreg::v1::ClientRegistration::NewStub(channel));
      authentication_.push_back(clientreg::v1::ClientAuthentication::NewStub(channel));
      directory_.push_back(clientreg::v1::ClientDirectory::NewStub(channel));
    }
  }

  // Registers --clients confidential clients, --inflight at a time. False if any registration failed.
  bool Preregister() {
    credentials_.assign(options_.clients, Credential{});
    ClosedLoop<clientreg::v1::RegisterRequest, clientreg::v1::ClientInformation> loop(
        [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::RegisterRequest* request,
               clientreg::v1::ClientInformation* response, std::function<void(grpc::Status)> done) {
          StartRegister(index, context, request, response, std::move(done));
        },
        [this](std::uint64_t index, const grpc::Status& status, const clientreg::v1::ClientInformation& response,
               double) {
          grpc::Status outcome = status;
          if (outcome.ok() && !response.has_client_secret()) {
            outcome = grpc::Status(grpc::StatusCode::INTERNAL, "registration returned no client_secret");
          }
          if (!outcome.ok()) {
            results_->RecordFailure(outcome);
            return false;  // the run fails anyway
          }
          credentials_[index] = {response.client_id(), response.client_secret()};
          return true;
        },
        kCallDeadline);
    loop.Run(static_cast<std::uint64_t>(options_.clients), options_.inflight);
    return results_->failures() == 0;
  }

  // Warms up for 1 s, measures for --seconds, drains; returns the measured window's length in seconds.
  double Run(const std::string& mode) {
    if (mode == "resolve" || mode == "resolve-cimd") {
      // One loop for both: a registered client_id from the pre-registered ones (authorize and token in turn), or
      // the metadata document's URL (authorize; such a client records no use whatever the purpose).
      const bool cimd = mode == "resolve-cimd";
      ClosedLoop<clientreg::v1::ResolveClientRequest, clientreg::v1::ResolvedClient> loop(
          [this, cimd](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::ResolveClientRequest* request,
                       clientreg::v1::ResolvedClient* response, std::function<void(grpc::Status)> done) {
            request->set_client_id(cimd ? options_.cimd_url : credentials_[index % credentials_.size()].client_id);
            request->set_purpose(cimd || index % 2 == 0 ? clientreg::v1::ResolveClientRequest::PURPOSE_AUTHORIZE
                                                        : clientreg::v1::ResolveClientRequest::PURPOSE_TOKEN);
            directory_[index % directory_.size()]->async()->ResolveClient(context, request, response, std::move(done));
          },
          RecordInPhase<clientreg::v1::ResolvedClient>([cimd](const clientreg::v1::ResolvedClient& response) {
            return !cimd || response.origin() == clientreg::v1::StoredClient::ORIGIN_METADATA_DOCUMENT
                       ? grpc::Status::OK
                       : grpc::Status(grpc::StatusCode::INTERNAL, "not resolved from a metadata document");
          }),
          kCallDeadline);
      return Measure(loop);
    }
    if (mode == "check-redirect") {
      ClosedLoop<clientreg::v1::CheckRedirectUriRequest, clientreg::v1::CheckRedirectUriResponse> loop(
          [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::CheckRedirectUriRequest* request,
                 clientreg::v1::CheckRedirectUriResponse* response, std::function<void(grpc::Status)> done) {
            request->set_client_id(credentials_[index % credentials_.size()].client_id);
            request->set_redirect_uri(kRedirectUri);
            directory_[index % directory_.size()]->async()->CheckRedirectUri(context, request, response,
                                                                             std::move(done));
          },
          RecordInPhase<clientreg::v1::CheckRedirectUriResponse>(
              [](const clientreg::v1::CheckRedirectUriResponse& response) {
                return response.allowed() ? grpc::Status::OK
                                          : grpc::Status(grpc::StatusCode::INTERNAL,
                                                         "redirect URI refused: " + response.explanation());
              }),
          kCallDeadline);
      return Measure(loop);
    }
    if (mode == "authenticate") {
      ClosedLoop<clientreg::v1::AuthenticateClientRequest, clientreg::v1::AuthenticateClientResponse> loop(
          [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::AuthenticateClientRequest* request,
                 clientreg::v1::AuthenticateClientResponse* response, std::function<void(grpc::Status)> done) {
            const Credential& credential = credentials_[index % credentials_.size()];
            request->set_client_id(credential.client_id);
            request->set_client_secret(credential.client_secret);
            authentication_[index % authentication_.size()]->async()->AuthenticateClient(context, request, response,
                                                                                         std::move(done));
          },
          RecordInPhase<clientreg::v1::AuthenticateClientResponse>(), kCallDeadline);
      return Measure(loop);
    }
    ClosedLoop<clientreg::v1::RegisterRequest, clientreg::v1::ClientInformation> loop(
        [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::RegisterRequest* request,
               clientreg::v1::ClientInformation* response, std::function<void(grpc::Status)> done) {
          StartRegister(index, context, request, response, std::move(done));
        },
        RecordInPhase<clientreg::v1::ClientInformation>(), kCallDeadline);
    return Measure(loop);
  }

 private:
  // Records every failure (a failed call, or an answer `check` refuses), and the calls that complete while the phase
  // is kMeasure; stops once it is kStop.
  template <typename Response>
  std::function<bool(std::uint64_t, const grpc::Status&, const Response&, double)> RecordInPhase(
      std::function<grpc::Status(const Response&)> check = nullptr) {
    return [this, check](std::uint64_t, const grpc::Status& call, const Response& response, double latency_ms) {
      const grpc::Status status = call.ok() && check != nullptr ? check(response) : call;
      if (!status.ok()) results_->RecordFailure(status);
      const Phase phase = phase_;
      if (phase == Phase::kMeasure) results_->RecordMeasured(latency_ms, status.ok());
      return phase != Phase::kStop;
    };
  }

  template <typename Loop>
  double Measure(Loop& loop) {
    phase_ = Phase::kWarmup;
    loop.Start(std::numeric_limits<std::uint64_t>::max(), options_.inflight);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const Clock::time_point begin = Clock::now();
    phase_ = Phase::kMeasure;
    std::this_thread::sleep_until(begin + std::chrono::seconds(options_.seconds));
    phase_ = Phase::kStop;
    const Clock::time_point end = Clock::now();
    loop.Wait();
    return std::chrono::duration<double>(end - begin).count();
  }

  void StartRegister(std::uint64_t index, grpc::ClientContext* context, clientreg::v1::RegisterRequest* request,
                     clientreg::v1::ClientInformation* response, std::function<void(grpc::Status)> done) {
    clientreg::v1::ClientMetadata& metadata = *request->mutable_metadata();
    metadata.mutable_redirect_uris()->add_values(kRedirectUri);
    metadata.set_token_endpoint_auth_method("client_secret_basic");
    metadata.set_client_name(name_prefix_ + std::to_string(name_counter_.fetch_add(1)));
    registration_[index % registration_.size()]->async()->Register(context, request, response, std::move(done));
  }

  const Options& options_;
  Results* results_;
  std::string name_prefix_;
  std::vector<std::unique_ptr<clientreg::v1::ClientRegistration::Stub>> registration_;
  std::vector<std::unique_ptr<clientreg::v1::ClientAuthentication::Stub>> authentication_;
  std::vector<std::unique_ptr<clientreg::v1::ClientDirectory::Stub>> directory_;
  std::vector<Credential> credentials_;
  std::atomic<Phase> phase_{Phase::kWarmup};
  std::atomic<std::uint64_t> name_counter_{0};
};

}  // namespace

int main(int argc, char** argv) {
  // As in the server: gRPC's locks must not pay for Abseil's deadlock detection in the load generator either.
  clientreg::common::DisableMutexDeadlockDetection();
  Options options;
  if (const std::string error = ParseOptions(argc, argv, &options); !error.empty()) {
    std::fprintf(stderr, "clientreg-grpc-load: %s\n%s\n", error.c_str(), kUsage);
    return 2;
  }
  Results results;
  Load load(options, &results);
  if (options.mode != "register" && options.mode != "resolve-cimd" && !load.Preregister()) {
    std::fprintf(stderr, "clientreg-grpc-load: pre-registering %d clients failed: %s\n", options.clients,
                 results.first_failure().c_str());
    return 1;
  }
  const double seconds = load.Run(options.mode);
  results.Print(options.mode, seconds);
  if (const std::uint64_t failures = results.failures(); failures > 0) {
    std::fprintf(stderr, "clientreg-grpc-load: %llu call(s) failed; first: %s\n",
                 static_cast<unsigned long long>(failures), results.first_failure().c_str());
    return 1;
  }
  return 0;
}
