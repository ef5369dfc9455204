// clientreg-fill: fills clientreg-server with registrations over gRPC and measures it at full size.
//   clientreg-fill --server=HOST:PORT [--clients=N (1000000)] [--inflight=N (48)] [--channels=N (2)]
//                  [--window=N (100000)] [--sample=N (10000)] [--lookups=N (20000)] [--reaps=N (200)]
//                  [--server_pid=PID]
// Registers --clients confidential clients with the metadata bench/register.lua sends, --inflight at a time (a
// closed loop, as in clientreg-grpc-load), and prints a line for every --window registrations:
//   window=3 clients=300000 seconds=15.10 regs_per_s=6622.5 p50_ms=7.0 p99_ms=13.1 errors=0
//     [server_cpu_ms_per_1k=.. rocksdb_bg_cpu_ms_per_1k=..] others_cores=.. [hwm_mb=.. rss_mb=..]
// where server_cpu_ms_per_1k is the server's CPU time per 1,000 registrations in the window, rocksdb_bg_cpu_ms_per_1k
// the part of it spent in RocksDB's flush and compaction threads, others_cores the cores that other processes (the
// server too, without --server_pid) kept busy on average, and rss_mb and hwm_mb the server's VmRSS and VmHWM at the
// window's end; the server's figures need --server_pid and come from /proc. Then one `fill` line compares the
// windows' rates with the first's (the store is empty when it starts). It keeps a uniform sample of --sample
// registered clients (client_id, client_secret, registration access token) and, with the store full, runs
// --lookups calls of each of GetRegistration (RFC 7592 read with the token), AuthenticateClient, ResolveClient for
// authorize (which records a use) and CheckRedirectUri of a registered URI (an exact match; a refusal is a failure)
// over that sample, then --reaps ClientAdmin.Reap dry runs one at a time (each one reaper pass over the store's
// lifecycle indexes; the server's lifecycle rules must leave nothing due, else it is a failure), printing a `lookup`
// line for each.
// Exits 1 if any call failed (after 100 failures it stops early; the first failure goes to stderr), 2 on bad flags.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
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
using clientreg::bench::Failures;
using clientreg::bench::LatencySample;

constexpr char kUsage[] =
    "usage: clientreg-fill --server=HOST:PORT [--clients=N (1000000)] [--inflight=N (48)] [--channels=N (2)] "
    "[--window=N (100000)] [--sample=N (10000)] [--lookups=N (20000)] [--reaps=N (200)] [--server_pid=PID]";
// A slow sync write can take a while under a compaction; a call that takes this long has failed.
constexpr std::chrono::milliseconds kCallDeadline = std::chrono::seconds(30);
// Beyond this many failures the run is lost anyway; stopping early keeps a dead server from costing a full fill.
constexpr std::uint64_t kMaxFailures = 100;
// Latencies kept per lookup mode; beyond it, a uniform sample.
constexpr std::size_t kMaxLookupSamples = 1'000'000;
// The redirect URI that CheckRedirectUri asks about: the first one SetRegisterMetadata registers.
constexpr char kRedirectUri[] = "https://bench.example.net/oauth/callback";

struct Options {
  std::string server;
  int clients = 1'000'000;
  int inflight = 48;
  int channels = 2;
  int window = 100'000;
  int sample = 10'000;
  int lookups = 20'000;
  int reaps = 200;
  int server_pid = 0;  // 0: memory not reported
};

struct Credential {
  std::string client_id;
  std::string client_secret;
  std::string registration_access_token;
};

// The server's VmRSS and VmHWM in MiB, from /proc/PID/status; empty when there is no PID or the file is unreadable.
std::string ServerMemory(int pid) {
  if (pid <= 0) return "";
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line, out;
  while (std::getline(status, line)) {
    for (const char* field : {"VmRSS:", "VmHWM:"}) {
      if (line.rfind(field, 0) != 0) continue;
      const double mib = std::strtod(line.c_str() + std::char_traits<char>::length(field), nullptr) / 1024.0;
      char formatted[48];
      std::snprintf(formatted, sizeof(formatted), " %s=%.1f", field[2] == 'R' ? "rss_mb" : "hwm_mb", mib);
      out += formatted;
    }
  }
  return out;
}

// CPU time in clock ticks (sysconf(_SC_CLK_TCK) a second), from /proc; 0 where unreadable.
struct CpuTicks {
  std::uint64_t server = 0;   // every thread of the server: gRPC handlers, RocksDB's flushes and compactions
  std::uint64_t rocksdb = 0;  // the server's RocksDB background threads (flushes, compactions)
  std::uint64_t self = 0;     // this process
  std::uint64_t machine = 0;  // busy time of every CPU, whoever used it
};

// utime + stime from a /proc/.../stat file: a process's, or one of its threads' (task/TID/stat).
std::uint64_t StatTicks(const std::string& path) {
  std::ifstream stat(path);
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name, in parentheses, may hold spaces; the fields counted from 3 follow its closing parenthesis.
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int number = 3; fields >> field && number <= 15; ++number) {
    if (number == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (number == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

// The threads RocksDB names "rocksdb:low" (compactions) and "rocksdb:high" (flushes) in process `pid`.
std::uint64_t RocksDbThreadTicks(int pid) {
  std::uint64_t ticks = 0;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name.rfind("rocksdb:", 0) == 0) ticks += StatTicks(task.path() / "stat");
  }
  return ticks;
}

CpuTicks ReadCpuTicks(int server_pid) {
  CpuTicks ticks;
  if (server_pid > 0) {
    ticks.server = StatTicks("/proc/" + std::to_string(server_pid) + "/stat");
    ticks.rocksdb = RocksDbThreadTicks(server_pid);
  }
  ticks.self = StatTicks("/proc/self/stat");
  std::ifstream stat("/proc/stat");
  std::string cpu;
  // cpu user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  std::uint64_t value[8] = {};
  if (stat >> cpu && cpu == "cpu") {
    for (std::uint64_t& v : value) stat >> v;
    ticks.machine = value[0] + value[1] + value[2] + value[5] + value[6] + value[7];
  }
  return ticks;
}

class Fill {
 public:
  explicit Fill(const Options& options)
      : options_(options), rng_(std::random_device{}()), window_ms_(static_cast<std::size_t>(options.window)) {
    name_prefix_ = "fill " + std::to_string(getpid()) + "-";
    for (const auto& channel : clientreg::bench::NewChannels(options.server, options.channels)) {
      registration_.push_back(clientreg::v1::ClientRegistration::NewStub(channel));
      authentication_.push_back(clientreg::v1::ClientAuthentication::NewStub(channel));
      directory_.push_back(clientreg::v1::ClientDirectory::NewStub(channel));
      admin_.push_back(clientreg::v1::ClientAdmin::NewStub(channel));
    }
    sample_.reserve(static_cast<std::size_t>(options.sample));
  }

  // Registers --clients clients, printing a line per window and a summary. False if the run stopped early.
  bool Register() {
    ClosedLoop<clientreg::v1::RegisterRequest, clientreg::v1::ClientInformation> loop(
        [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::RegisterRequest* request,
               clientreg::v1::ClientInformation* response, std::function<void(grpc::Status)> done) {
          SetRegisterMetadata(index, request->mutable_metadata());
          registration_[index % registration_.size()]->async()->Register(context, request, response, std::move(done));
        },
        [this](std::uint64_t, const grpc::Status& status, const clientreg::v1::ClientInformation& response,
               double latency_ms) { return Registered(status, response, latency_ms); },
        kCallDeadline);
    window_ticks_ = ReadCpuTicks(options_.server_pid);
    started_ = window_started_ = Clock::now();
    loop.Run(static_cast<std::uint64_t>(options_.clients), options_.inflight);
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    const double first = window_rates_.empty() ? 0 : window_rates_.front();
    const double last = window_rates_.empty() ? 0 : window_rates_.back();
    std::vector<double> sorted = window_rates_;
    std::sort(sorted.begin(), sorted.end());
    const double min = sorted.empty() ? 0 : sorted.front();
    const double median = sorted.empty() ? 0 : sorted[(sorted.size() - 1) / 2];
    const auto vs_first = [first](double rate) { return first > 0 ? rate / first : 0; };
    std::printf(
        "fill clients=%llu errors=%llu seconds=%.1f regs_per_s=%.1f first_window_per_s=%.1f "
        "median_window_per_s=%.1f min_window_per_s=%.1f last_window_per_s=%.1f median_vs_first=%.3f "
        "min_vs_first=%.3f last_vs_first=%.3f%s\n",
        static_cast<unsigned long long>(registered_), static_cast<unsigned long long>(failures_.count()), seconds,
        seconds > 0 ? static_cast<double>(registered_) / seconds : 0.0, first, median, min, last, vs_first(median),
        vs_first(min), vs_first(last), ServerMemory(options_.server_pid).c_str());
    std::fflush(stdout);
    return failures_.count() < kMaxFailures;
  }

  // With the store full: --lookups calls each of GetRegistration, AuthenticateClient, ResolveClient (authorize) and
  // CheckRedirectUri, on clients drawn uniformly from the sample, then --reaps dry reaper passes.
  void Lookup() {
    if (sample_.empty()) return;
    std::vector<std::size_t> picks(static_cast<std::size_t>(options_.lookups));
    std::uniform_int_distribution<std::size_t> pick(0, sample_.size() - 1);
    for (std::size_t& p : picks) p = pick(rng_);

    ClosedLoop<clientreg::v1::GetRegistrationRequest, clientreg::v1::ClientInformation> get(
        [this, &picks](std::uint64_t index, grpc::ClientContext* context,
                       clientreg::v1::GetRegistrationRequest* request, clientreg::v1::ClientInformation* response,
                       std::function<void(grpc::Status)> done) {
          const Credential& credential = sample_[picks[index]];
          request->set_client_id(credential.client_id);
          request->set_registration_access_token(credential.registration_access_token);
          registration_[index % registration_.size()]->async()->GetRegistration(context, request, response,
                                                                                std::move(done));
        },
        [this, &picks](std::uint64_t index, const grpc::Status& status, const clientreg::v1::ClientInformation& info,
                       double latency_ms) {
          return Looked(status, info.client_id() == sample_[picks[index]].client_id, kOtherClient, latency_ms);
        },
        kCallDeadline);
    RunLookups("get_registration", get);

    ClosedLoop<clientreg::v1::AuthenticateClientRequest, clientreg::v1::AuthenticateClientResponse> authenticate(
        [this, &picks](std::uint64_t index, grpc::ClientContext* context,
                       clientreg::v1::AuthenticateClientRequest* request,
                       clientreg::v1::AuthenticateClientResponse* response, std::function<void(grpc::Status)> done) {
          const Credential& credential = sample_[picks[index]];
          request->set_client_id(credential.client_id);
          request->set_client_secret(credential.client_secret);
          authentication_[index % authentication_.size()]->async()->AuthenticateClient(context, request, response,
                                                                                       std::move(done));
        },
        [this, &picks](std::uint64_t index, const grpc::Status& status,
                       const clientreg::v1::AuthenticateClientResponse& response, double latency_ms) {
          return Looked(status, response.client().client_id() == sample_[picks[index]].client_id, kOtherClient,
                        latency_ms);
        },
        kCallDeadline);
    RunLookups("authenticate", authenticate);

    ClosedLoop<clientreg::v1::ResolveClientRequest, clientreg::v1::ResolvedClient> resolve(
        [this, &picks](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::ResolveClientRequest* request,
                       clientreg::v1::ResolvedClient* response, std::function<void(grpc::Status)> done) {
          request->set_client_id(sample_[picks[index]].client_id);
          request->set_purpose(clientreg::v1::ResolveClientRequest::PURPOSE_AUTHORIZE);
          directory_[index % directory_.size()]->async()->ResolveClient(context, request, response, std::move(done));
        },
        [this, &picks](std::uint64_t index, const grpc::Status& status, const clientreg::v1::ResolvedClient& response,
                       double latency_ms) {
          return Looked(status, response.client_id() == sample_[picks[index]].client_id, kOtherClient, latency_ms);
        },
        kCallDeadline);
    RunLookups("resolve_authorize", resolve);

    ClosedLoop<clientreg::v1::CheckRedirectUriRequest, clientreg::v1::CheckRedirectUriResponse> check_redirect(
        [this, &picks](std::uint64_t index, grpc::ClientContext* context,
                       clientreg::v1::CheckRedirectUriRequest* request,
                       clientreg::v1::CheckRedirectUriResponse* response, std::function<void(grpc::Status)> done) {
          request->set_client_id(sample_[picks[index]].client_id);
          request->set_redirect_uri(kRedirectUri);
          directory_[index % directory_.size()]->async()->CheckRedirectUri(context, request, response, std::move(done));
        },
        [this](std::uint64_t, const grpc::Status& status, const clientreg::v1::CheckRedirectUriResponse& response,
               double latency_ms) {
          return Looked(status, response.allowed(), "refused a registered redirect URI", latency_ms);
        },
        kCallDeadline);
    RunLookups("check_redirect_uri", check_redirect);

    // One pass at a time, as the server's own reaper runs them: concurrent passes would measure their contention.
    ClosedLoop<clientreg::v1::ReapRequest, clientreg::v1::ReapResponse> reap(
        [this](std::uint64_t index, grpc::ClientContext* context, clientreg::v1::ReapRequest* request,
               clientreg::v1::ReapResponse* response, std::function<void(grpc::Status)> done) {
          request->set_dry_run(true);
          admin_[index % admin_.size()]->async()->Reap(context, request, response, std::move(done));
        },
        [this](std::uint64_t, const grpc::Status& status, const clientreg::v1::ReapResponse& response,
               double latency_ms) {
          return Looked(status, response.clients().empty() && !response.more(),
                        "a dry reaper pass found clients due (the lifecycle rules must leave none)", latency_ms);
        },
        kCallDeadline);
    RunLookups("reap_dry_run", reap, options_.reaps, 1);
  }

  const Failures& failures() const { return failures_; }

 private:
  // The body bench/register.lua sends, with a name of its own.
  void SetRegisterMetadata(std::uint64_t index, clientreg::v1::ClientMetadata* metadata) {
    metadata->mutable_redirect_uris()->add_values("https://bench.example.net/oauth/callback");
    metadata->mutable_redirect_uris()->add_values("https://bench.example.net/cb/2");
    metadata->set_client_name(name_prefix_ + std::to_string(index));
    metadata->mutable_grant_types()->add_values("authorization_code");
    metadata->mutable_grant_types()->add_values("refresh_token");
    metadata->mutable_response_types()->add_values("code");
    metadata->set_token_endpoint_auth_method("client_secret_basic");
    metadata->mutable_contacts()->add_values("bench@example.net");
  }

  bool Registered(const grpc::Status& status, const clientreg::v1::ClientInformation& response, double latency_ms) {
    grpc::Status outcome = status;
    if (outcome.ok() && (!response.has_client_secret() || !response.has_registration_access_token())) {
      outcome = grpc::Status(grpc::StatusCode::INTERNAL, "registration returned no client_secret or token");
    }
    if (!outcome.ok() && failures_.Record(outcome) >= kMaxFailures) return false;

    std::lock_guard<std::mutex> lock(mutex_);
    window_ms_.Add(latency_ms);
    if (outcome.ok()) {
      ++registered_;
      // Algorithm R over the registered clients: every one ends up in the sample with the same probability.
      Credential credential{response.client_id(), response.client_secret(), response.registration_access_token()};
      if (sample_.size() < static_cast<std::size_t>(options_.sample)) {
        sample_.push_back(std::move(credential));
      } else {
        const std::uint64_t slot = std::uniform_int_distribution<std::uint64_t>(0, registered_ - 1)(rng_);
        if (slot < sample_.size()) sample_[slot] = std::move(credential);
      }
    }
    if (++completed_ % static_cast<std::uint64_t>(options_.window) == 0 ||
        completed_ == static_cast<std::uint64_t>(options_.clients)) {
      EndWindow();
    }
    return true;
  }

  void EndWindow() {
    const Clock::time_point now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - window_started_).count();
    const double rate = seconds > 0 ? static_cast<double>(window_ms_.count()) / seconds : 0;
    window_rates_.push_back(rate);
    // Where the CPU went: the server's time per registration shows whether a registration (with its share of
    // flushes and compactions) costs more as the store grows, whatever else the machine is doing; the cores that
    // other processes used show how much the rate may have been held back by them.
    const CpuTicks ticks = ReadCpuTicks(options_.server_pid);
    const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    std::string cpu;
    char formatted[96];
    if (options_.server_pid > 0 && window_ms_.count() > 0) {
      const double per_1k = tick_ms * 1000.0 / static_cast<double>(window_ms_.count());
      std::snprintf(formatted, sizeof(formatted), " server_cpu_ms_per_1k=%.1f rocksdb_bg_cpu_ms_per_1k=%.1f",
                    static_cast<double>(ticks.server - window_ticks_.server) * per_1k,
                    static_cast<double>(ticks.rocksdb - window_ticks_.rocksdb) * per_1k);
      cpu += formatted;
    }
    if (seconds > 0) {
      const double others = static_cast<double>(ticks.machine - window_ticks_.machine) -
                            static_cast<double>(ticks.server - window_ticks_.server) -
                            static_cast<double>(ticks.self - window_ticks_.self);
      std::snprintf(formatted, sizeof(formatted), " others_cores=%.2f",
                    std::max(0.0, others) * tick_ms / 1000.0 / seconds);
      cpu += formatted;
    }
    std::printf("window=%zu clients=%llu seconds=%.2f regs_per_s=%.1f p50_ms=%.3f p99_ms=%.3f errors=%llu%s%s\n",
                window_rates_.size(), static_cast<unsigned long long>(registered_), seconds, rate,
                window_ms_.Percentile(0.50), window_ms_.Percentile(0.99),
                static_cast<unsigned long long>(failures_.count()), cpu.c_str(),
                ServerMemory(options_.server_pid).c_str());
    std::fflush(stdout);
    window_ms_.Clear();
    window_started_ = now;
    window_ticks_ = ticks;
  }

  static constexpr char kOtherClient[] = "answered another client";

  // Records a lookup; a call that succeeded but whose answer is not `as_expected` fails with `unexpected`.
  bool Looked(const grpc::Status& status, bool as_expected, const char* unexpected, double latency_ms) {
    grpc::Status outcome = status;
    if (outcome.ok() && !as_expected) outcome = grpc::Status(grpc::StatusCode::INTERNAL, unexpected);
    if (!outcome.ok() && failures_.Record(outcome) >= kMaxFailures) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    lookup_ms_.Add(latency_ms);
    if (!outcome.ok()) ++lookup_errors_;
    return true;
  }

  // Runs `calls` calls of `loop` (--lookups by default), `inflight` at a time (--inflight by default).
  template <typename Loop>
  void RunLookups(const char* mode, Loop& loop, int calls = 0, int inflight = 0) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lookup_ms_.Clear();
      lookup_errors_ = 0;
    }
    const Clock::time_point begin = Clock::now();
    loop.Run(static_cast<std::uint64_t>(calls > 0 ? calls : options_.lookups),
             inflight > 0 ? inflight : options_.inflight);
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    std::lock_guard<std::mutex> lock(mutex_);
    std::printf(
        "lookup mode=%s clients=%llu sample=%zu calls=%llu errors=%llu calls_per_s=%.1f p50_ms=%.3f "
        "p99_ms=%.3f%s\n",
        mode, static_cast<unsigned long long>(registered_), sample_.size(),
        static_cast<unsigned long long>(lookup_ms_.count()), static_cast<unsigned long long>(lookup_errors_),
        seconds > 0 ? static_cast<double>(lookup_ms_.count()) / seconds : 0.0, lookup_ms_.Percentile(0.50),
        lookup_ms_.Percentile(0.99), ServerMemory(options_.server_pid).c_str());
    std::fflush(stdout);
  }

  const Options& options_;
  std::string name_prefix_;
  std::vector<std::unique_ptr<clientreg::v1::ClientRegistration::Stub>> registration_;
  std::vector<std::unique_ptr<clientreg::v1::ClientAuthentication::Stub>> authentication_;
  std::vector<std::unique_ptr<clientreg::v1::ClientDirectory::Stub>> directory_;
  std::vector<std::unique_ptr<clientreg::v1::ClientAdmin::Stub>> admin_;
  Failures failures_;

  // Guards what completions update; held only briefly, on gRPC's threads.
  std::mutex mutex_;
  std::mt19937_64 rng_;
  LatencySample window_ms_;
  LatencySample lookup_ms_{kMaxLookupSamples};
  std::uint64_t lookup_errors_ = 0;
  std::vector<double> window_rates_;
  std::uint64_t registered_ = 0, completed_ = 0;
  std::vector<Credential> sample_;
  Clock::time_point started_, window_started_;
  CpuTicks window_ticks_;
};

}  // namespace

int main(int argc, char** argv) {
  // As in the server: gRPC's locks must not pay for Abseil's deadlock detection in the load generator either.
  clientreg::common::DisableMutexDeadlockDetection();
  Options options;
  std::string error = clientreg::bench::ParseFlags(argc, argv,
                                                   {{"--server=", &options.server},
                                                    {"--clients=", &options.clients},
                                                    {"--inflight=", &options.inflight},
                                                    {"--channels=", &options.channels},
                                                    {"--window=", &options.window},
                                                    {"--sample=", &options.sample},
                                                    {"--lookups=", &options.lookups},
                                                    {"--reaps=", &options.reaps},
                                                    {"--server_pid=", &options.server_pid}});
  if (error.empty() && options.server.empty()) error = "--server is required";
  if (!error.empty()) {
    std::fprintf(stderr, "clientreg-fill: %s\n%s\n", error.c_str(), kUsage);
    return 2;
  }
  Fill fill(options);
  if (fill.Register()) fill.Lookup();
  if (const std::uint64_t failures = fill.failures().count(); failures > 0) {
    std::fprintf(stderr, "clientreg-fill: %llu call(s) failed; first: %s\n", static_cast<unsigned long long>(failures),
                 fill.failures().first().c_str());
    return 1;
  }
  return 0;
}
