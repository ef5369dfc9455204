#include "tests/e2e/shipped_binaries.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "absl/time/time.h"
#include "tests/e2e/json_view.h"
#include "tests/support/raw_http.h"

namespace clientreg::testing {
namespace {

constexpr char kRegisterPath[] = "/oauth/register";
constexpr char kConfidentialBody[] = R"({"redirect_uris":["https://c.example/cb"]})";
constexpr char kPublicBody[] = R"({"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none"})";
// Enough examples to diagnose a failure without flooding the output.
constexpr std::size_t kMaxAnomalies = 10;

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::string Lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "https://issuer.example/oauth/register/x" -> "/oauth/register/x"; empty if it is not an absolute URI.
std::string PathOf(const std::string& uri) {
  const std::size_t scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return "";
  const std::size_t path_start = uri.find('/', scheme_end + 3);
  return path_start == std::string::npos ? "" : uri.substr(path_start);
}

const char* DescribeReadEnd(RawConnection::ReadEnd end) {
  switch (end) {
    case RawConnection::ReadEnd::kNone:
      return "unparseable bytes";
    case RawConnection::ReadEnd::kClosed:
      return "EOF";
    case RawConnection::ReadEnd::kReset:
      return "reset";
    case RawConnection::ReadEnd::kTimeout:
      return "timeout";
    case RawConnection::ReadEnd::kError:
      return "socket error";
  }
  return "?";
}

}  // namespace

std::unique_ptr<ChildProcess> StartServerBinary(const std::string& data_dir, uint16_t port, uint16_t ops_port,
                                                const std::string& log_path) {
  std::vector<std::string> arguments = {"--listen=" + Loopback(port), "--data_dir=" + data_dir};
  if (ops_port != 0) arguments.push_back("--ops_listen=" + Loopback(ops_port));
  return std::make_unique<ChildProcess>(CLIENTREG_SERVER_BINARY, arguments, log_path);
}

std::unique_ptr<ChildProcess> StartGatewayBinary(uint16_t port, uint16_t server_port, uint16_t ops_port,
                                                 const std::string& log_path,
                                                 const std::vector<std::string>& extra_arguments) {
  std::vector<std::string> arguments = {"--listen=" + Loopback(port), "--server=" + Loopback(server_port)};
  if (ops_port != 0) arguments.push_back("--ops_listen=" + Loopback(ops_port));
  arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
  return std::make_unique<ChildProcess>(CLIENTREG_GATEWAY_BINARY, arguments, log_path);
}

int WaitForHttpStatus(uint16_t port, std::string_view path, int status, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  int last = 0;
  while (true) {
    const std::optional<RawResponse> response = RoundTrip(port, request);
    last = response.has_value() ? response->status : 0;
    if (last == status || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int64_t LoadCounts::Sent() const {
  int64_t sent = closed_before_response + broken + timed_out;
  for (const auto& [status, count] : statuses) sent += count;
  return sent;
}

RegistrationLoad::RegistrationLoad(uint16_t gateway_port, int threads) : port_(gateway_port) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

RegistrationLoad::~RegistrationLoad() { Stop(); }

void RegistrationLoad::Stop() {
  stop_.store(true);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

bool RegistrationLoad::WaitForCreated(int64_t count, std::chrono::milliseconds timeout) const {
  const int round = round_.load();
  absl::MutexLock lock(&mutex_);
  auto enough = [this, round, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const auto it = created_by_round_.find(round);
    return it != created_by_round_.end() && it->second >= count;
  };
  return mutex_.AwaitWithTimeout(absl::Condition(&enough), absl::FromChrono(timeout));
}

std::vector<Registration> RegistrationLoad::registrations() const {
  absl::MutexLock lock(&mutex_);
  return registrations_;
}

LoadCounts RegistrationLoad::counts() const {
  absl::MutexLock lock(&mutex_);
  return counts_;
}

std::vector<std::string> RegistrationLoad::anomalies() const {
  absl::MutexLock lock(&mutex_);
  return anomalies_;
}

void RegistrationLoad::Record(std::string anomaly) {
  if (anomalies_.size() < kMaxAnomalies) anomalies_.push_back(std::move(anomaly));
}

void RegistrationLoad::Run(int thread_index) {
  std::unique_ptr<RawConnection> connection;
  for (int64_t n = thread_index; !stop_.load(); ++n) {
    if (connection == nullptr) {
      connection = std::make_unique<RawConnection>(port_, kSocketTimeoutSeconds);
      if (!connection->connected()) {
        connection.reset();
        {
          absl::MutexLock lock(&mutex_);
          ++counts_.not_sent;
        }
        // A gateway that is gone refuses at once; do not spin on it.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    }
    const uint64_t received_before = connection->bytes_received();
    if (!connection->Send(PostRequest(kRegisterPath, n % 3 == 0 ? kPublicBody : kConfidentialBody))) {
      connection.reset();
      absl::MutexLock lock(&mutex_);
      ++counts_.not_sent;
      continue;
    }
    const std::optional<RawResponse> response = connection->Read();
    absl::MutexLock lock(&mutex_);
    if (!response.has_value()) {
      const RawConnection::ReadEnd end = connection->last_read_end();
      if (connection->bytes_received() != received_before) {
        ++counts_.broken;
        Record(std::string("response cut short or unparseable (") + DescribeReadEnd(end) + ") after " +
               std::to_string(connection->bytes_received() - received_before) + " bytes");
      } else if (end == RawConnection::ReadEnd::kTimeout) {
        ++counts_.timed_out;
        Record("no response within " + std::to_string(kSocketTimeoutSeconds) + " s");
      } else {
        ++counts_.closed_before_response;
      }
      connection.reset();
      continue;
    }
    ++counts_.statuses[response->status];
    if (response->status != 201 && response->status != 503 && response->status != 504) {
      Record("unexpected " + std::to_string(response->status) + ": " + response->body);
    }
    if (response->status == 201) {
      const JsonView body(response->body);
      Registration registration;
      registration.client_id = body.String("client_id").value_or("");
      registration.client_secret = body.String("client_secret").value_or("");
      registration.registration_access_token = body.String("registration_access_token").value_or("");
      registration.configuration_path = PathOf(body.String("registration_client_uri").value_or(""));
      registration.round = round_.load();
      if (registration.client_id.empty() || registration.registration_access_token.empty() ||
          registration.configuration_path.empty()) {
        ++counts_.bad_201;
        Record("201 without client_id, token or registration_client_uri: " + response->body);
      } else {
        ++created_by_round_[registration.round];
        registrations_.push_back(std::move(registration));
      }
    }
    if (Lowercase(response->Header("connection")) == "close") {
      ++counts_.closing;
      connection.reset();
    }
  }
}

std::vector<std::string> UnreadableRegistrations(uint16_t gateway_port,
                                                 const std::vector<Registration>& registrations) {
  constexpr std::size_t kThreads = 4;
  absl::Mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<RawConnection> connection;
      for (std::size_t i = t; i < registrations.size(); i += kThreads) {
        const Registration& client = registrations[i];
        if (connection == nullptr) connection = std::make_unique<RawConnection>(gateway_port);
        std::optional<RawResponse> response;
        if (connection->Send("GET " + client.configuration_path +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                             client.registration_access_token + "\r\n\r\n")) {
          response = connection->Read();
        }
        const bool readable = response.has_value() && response->status == 200 &&
                              JsonView(response->body).String("client_id") == client.client_id;
        if (!readable) {
          absl::MutexLock lock(&mutex);
          failures.push_back(client.client_id + " (round " + std::to_string(client.round) + "): " +
                             (response.has_value() ? std::to_string(response->status) + " " + response->body
                                                   : std::string("no response")));
        }
        if (!response.has_value() || Lowercase(response->Header("connection")) == "close") connection.reset();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return failures;
}

std::string FormatStatuses(const std::map<int, int64_t>& statuses) {
  std::string text;
  for (const auto& [status, count] : statuses) {
    if (!text.empty()) text += " ";
    text += std::to_string(status) + ":" + std::to_string(count);
  }
  return text;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string path = ::testing::TempDir() + prefix + "XXXXXX";
  return ::mkdtemp(path.data()) != nullptr ? path : "";
}

void ExpectOnlyCreatedOrUnavailable(const LoadCounts& counts) {
  for (const auto& [status, count] : counts.statuses) {
    EXPECT_TRUE(status == 201 || status == 503 || status == 504) << count << " responses with status " << status;
  }
}

void ExpectDurable(uint16_t gateway_port, const std::vector<Registration>& registrations) {
  const std::vector<std::string> unreadable = UnreadableRegistrations(gateway_port, registrations);
  EXPECT_TRUE(unreadable.empty()) << unreadable.size() << " of " << registrations.size()
                                  << " acknowledged clients unreadable, first: " << unreadable.front();
  std::printf("%zu acknowledged clients read back with their tokens\n", registrations.size());
}

void ShippedBinariesTest::SetUp() {
  dir_ = MakeTempDir("clientreg-binaries-");
  ASSERT_FALSE(dir_.empty());
  data_dir_ = dir_ + "/data";
}

void ShippedBinariesTest::TearDown() {
  gateway_.reset();
  server_.reset();
  if (HasFailure()) {
    std::printf("data dir and logs kept in %s\n", dir_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ShippedBinariesTest::StartServer(uint16_t port, uint16_t ops_port) {
  server_ = StartServerBinary(data_dir_, port, ops_port, dir_ + "/server.log");
  ASSERT_TRUE(WaitForPort(port, kStartTimeout)) << "clientreg-server is not listening on " << port;
}

void ShippedBinariesTest::StartGateway(uint16_t port, uint16_t server_port, uint16_t ops_port) {
  gateway_ = StartGatewayBinary(port, server_port, ops_port, dir_ + "/gateway.log");
  ASSERT_EQ(WaitForHttpStatus(port, "/readyz", 200, kStartTimeout), 200) << "clientreg-gateway is not ready";
}

}  // namespace clientreg::testing
